"""The built wheel carries every module, and the recipe agrees with pyproject."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_every_package_module(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("conda_store_plugin-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "conda_store_plugin").rglob("*.py")}
    assert sources - names == set()
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[conda]" in entry_points and "conda_store_plugin.plugin" in entry_points


def test_recipe_run_requirements_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    recipe = (ROOT / "recipe" / "meta.yaml").read_text()
    run = recipe.split("  run:")[1].split("\ntest:")[0]
    for requirement in project["dependencies"]:
        requirement = requirement.split(";")[0].strip()  # markers: noarch recipes take all
        name = re.split(r"[ <>=]", requirement, maxsplit=1)[0]
        spec = requirement[len(name):].strip()
        assert f"- {name} {spec}" in run, f"recipe run deps lack {name} {spec}"
    assert re.search(r"version = \"(.+?)\"", recipe).group(1) == __import__(
        "conda_store_plugin").__version__
