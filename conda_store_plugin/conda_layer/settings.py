"""Plugin settings in .condarc (``plugins: {store_dir: ...}``) and how to read them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: name -> (description, kind, default). kind is "str", "list", "bool" or "float".
SETTINGS: dict[str, tuple[str, str, Any]] = {
    "store_dir": ("Where `conda store` keeps environments, builds and their records "
                  "(default: ~/.conda/store). Overridden by CONDA_STORE_DIR and --store.",
                  "str", ""),
    "store_platforms": ("Platforms `conda store lock` locks for when neither --platform "
                        "nor the spec's `platforms:` names any.", "list", ()),
    "store_cuda": ("CUDA driver version `conda store lock` assumes (adds __cuda) unless "
                   "--cuda/--no-cuda is given; empty for none.", "str", ""),
    "cache_locks": ("Lock package caches so that conda create/install/update/remove/env and "
                    "clean (and `conda store`) can run at the same time: each package is "
                    "downloaded once, extracted into place atomically, and clean waits for "
                    "installs. false: conda's own behaviour.", "bool", True),
    "cache_lock_timeout": ("Seconds a command waits for another conda process using the "
                           "package cache before it gives up; -1 waits forever.",
                           "float", 600.0),
    "cache_lock_kind": ("Lock kind for a package cache used for the first time: auto "
                        "(soft on network filesystems such as NFS, else sqlite), sqlite or "
                        "soft. A cache keeps the kind it was first locked with.",
                        "str", "auto"),
    "lock_aware_create": ("`conda create --file environment.yml` installs the locked "
                          "packages of a conda-store.lock.json beside it when that "
                          "lockfile is up to date with the spec (no solve); false: always "
                          "solve.", "bool", True),
}


def settings() -> Iterator[Any]:
    """``CondaSetting`` objects for the ``conda_settings`` hook."""
    from conda.common.configuration import PrimitiveParameter, SequenceParameter
    from conda.plugins.types import CondaSetting

    for name, (description, kind, default) in SETTINGS.items():
        if kind == "list":
            parameter = SequenceParameter(PrimitiveParameter("", element_type=str),
                                          default=default)
        elif kind == "bool":
            parameter = PrimitiveParameter(default, element_type=bool)
        elif kind == "float":
            parameter = PrimitiveParameter(default, element_type=(int, float))
        else:
            parameter = PrimitiveParameter(default, element_type=str)
        yield CondaSetting(name=name, description=description, parameter=parameter)


def conda_context():
    """Conda's context, loaded from the user's .condarc files.

    Inside ``conda store`` conda has loaded it already. Imported by a plain
    script (the API, ``python -m conda_store_plugin``), conda's context is an
    empty placeholder until someone loads it, so load it once here.
    """
    from conda.base.context import context, reset_context

    if not getattr(context, "_search_path", ()):
        reset_context()
    return context
