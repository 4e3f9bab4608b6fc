"""Which PyPI projects the conda packages of a lock already provide.

The rule
--------
A conda package *provides a PyPI project* when it is a Python package: it is
``noarch: python`` or it depends on ``python`` (a ``depends`` entry whose package
name is exactly ``python``). ``python`` itself, ``pypy`` and ``python_abi`` provide
nothing. A conda package that is not a Python package never provides a PyPI project
even when the names agree (conda-forge's ``graphviz`` is the C library; the PyPI
``graphviz`` is conda's ``python-graphviz``).

Its PyPI name is the conda name looked up in :data:`CONDA_TO_PYPI` (the known
cases where the two differ), else the conda name itself; either way normalised
as PEP 503 says (lower case, runs of ``-_.`` made one ``-``), so ``PyYAML``,
``pyyaml`` and ``ruamel.yaml``/``ruamel_yaml``/``ruamel-yaml`` compare equal.

What the lock does with them: a provided project is never resolved, downloaded
or installed from an index. The resolver sees it as installed at the conda
package's version, so a PyPI package that needs another version of it makes
the lock fail with the conflict explained, instead of pip replacing conda's
files at install time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .lockfile import LockedPackage

#: conda package name -> PyPI project name, where they differ (conda-forge names).
#: Every other conda Python package is taken to be the PyPI project of its own name.
CONDA_TO_PYPI: Mapping[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "matplotlib-base": "matplotlib",
    "pytables": "tables",
    "py-opencv": "opencv-python",
    "py-xgboost": "xgboost",
    "py-lief": "lief",
    "msgpack-python": "msgpack",
    "tensorflow-base": "tensorflow",
    "pyqt": "pyqt5",
    "python-flatbuffers": "flatbuffers",
    "python-graphviz": "graphviz",
    "python-lmdb": "lmdb",
    "python-xxhash": "xxhash",
    "python-duckdb": "duckdb",
    "python-tzdata": "tzdata",
    "python-fastjsonschema": "fastjsonschema",
    "python-build": "build",
    "python-installer": "installer",
    "python-kaleido": "kaleido",
}

#: Python-dependent conda packages that are the interpreter or its ABI, not projects.
NOT_PROJECTS = frozenset({"python", "pypy", "pypy3", "python_abi", "cpython"})

_SEPARATORS = re.compile(r"[-_.]+")

#: A PEP 440 version in normalised form, optionally with a local label. Conda
#: versions outside this shape are not checked against PyPI requirements.
_PEP440 = re.compile(
    r"^(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?"
    r"(?:\.dev[0-9]+)?(?:\+[a-z0-9]+(?:\.[a-z0-9]+)*)?$")


def normalise(name: str) -> str:
    """PEP 503 normalised project name."""
    return _SEPARATORS.sub("-", name).lower()


def is_python_package(package: LockedPackage) -> bool:
    """Whether ``package`` is a Python package (noarch: python, or depends on python)."""
    if package.name in NOT_PROJECTS:
        return False
    if package.noarch == "python":
        return True
    return any(dep.split(None, 1)[0].split("[", 1)[0] == "python" for dep in package.depends)


def pypi_name(conda_name: str) -> str:
    """The normalised PyPI project name of a conda Python package."""
    return normalise(CONDA_TO_PYPI.get(conda_name, conda_name))


def provided_by_conda(packages: Iterable[LockedPackage]) -> dict[str, str]:
    """PyPI projects the conda ``packages`` provide: normalised name -> conda version.

    When two conda packages map to one project (``matplotlib`` and
    ``matplotlib-base``), the first by conda name wins; conda keeps their
    versions equal.
    """
    provided: dict[str, str] = {}
    for package in sorted(packages, key=lambda p: p.name):
        if is_python_package(package):
            provided.setdefault(pypi_name(package.name), package.version)
    return provided


def pep440_version(version: str) -> str | None:
    """``version`` when it is a normalised PEP 440 version, else ``None``."""
    text = version.strip().lower()
    return text if _PEP440.match(text) else None
