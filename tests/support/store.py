"""Helpers for the store tests: a store, an envs dir and a package cache in tmp_path."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conda_store_plugin import api
from conda_store_plugin.cli import main


@dataclass
class StoreSandbox:
    """Everything a store test writes lives under ``root``."""

    root: Path
    channel_url: str

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def envs(self) -> Path:
        return self.root / "envs"

    @property
    def pkgs(self) -> Path:
        return self.root / "pkgs"

    @property
    def repodata_cache(self) -> Path:
        return self.root / "repodata-cache"

    def spec(self, deps: list[str], *, name: str = "demo", folder: str = "project",
             channel_url: str | None = None) -> Path:
        path = self.root / folder / "environment.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"name: {name}", "channels:", f"  - {channel_url or self.channel_url}",
                 "dependencies:", *[f"  - {d}" for d in deps]]
        path.write_text("\n".join(lines) + "\n")
        return path

    def build(self, deps: list[str], **kwargs: Any) -> Any:
        spec_kwargs = {k: kwargs.pop(k) for k in ("name", "folder", "channel_url")
                       if k in kwargs}
        return api.build(spec_path=self.spec(deps, **spec_kwargs), store=self.store,
                         envs_dir=self.envs, pkgs_dir=self.pkgs,
                         cache_dir=self.repodata_cache, **kwargs)

    def cli(self, *argv: str, capsys: Any = None) -> tuple[int, Any]:
        """Run a verb with ``--store`` and ``--json``; return (exit code, parsed stdout)."""
        if capsys is not None:
            capsys.readouterr()
        code = main([*argv, "--store", str(self.store), "--json"])
        if capsys is None:
            return code, None
        out = capsys.readouterr().out
        return code, json.loads(out) if out.strip() else None

    def build_record(self, number: int, env: str = "demo") -> dict:
        ns = own_namespace()
        return json.loads((self.store / ns / env / "builds" / str(number) / "build.json")
                          .read_text())

    def build_dir(self, number: int, env: str = "demo") -> Path:
        return self.store / own_namespace() / env / "builds" / str(number)


def own_namespace() -> str:
    from conda_store_plugin.store.location import default_namespace

    return default_namespace()


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` with its type, size, mtime and link target."""
    out: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            st = path.lstat()
            target = os.readlink(path) if path.is_symlink() else None
            out[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns,
                                                target)
    return out
