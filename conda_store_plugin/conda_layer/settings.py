"""Plugin settings in .condarc (``plugins: {store_dir: ...}``) and how to read them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: name -> (description, kind, default). kind is "str" or "list".
SETTINGS: dict[str, tuple[str, str, Any]] = {
    "store_dir": ("Where `conda store` keeps environments, builds and their records "
                  "(default: ~/.conda/store). Overridden by CONDA_STORE_DIR and --store.",
                  "str", ""),
    "store_platforms": ("Platforms `conda store lock` locks for when neither --platform "
                        "nor the spec's `platforms:` names any.", "list", ()),
    "store_cuda": ("CUDA driver version `conda store lock` assumes (adds __cuda) unless "
                   "--cuda/--no-cuda is given; empty for none.", "str", ""),
}


def settings() -> Iterator[Any]:
    """``CondaSetting`` objects for the ``conda_settings`` hook."""
    from conda.common.configuration import PrimitiveParameter, SequenceParameter
    from conda.plugins.types import CondaSetting

    for name, (description, kind, default) in SETTINGS.items():
        if kind == "list":
            parameter = SequenceParameter(PrimitiveParameter("", element_type=str),
                                          default=default)
        else:
            parameter = PrimitiveParameter(default, element_type=str)
        yield CondaSetting(name=name, description=description, parameter=parameter)


def setting(name: str) -> Any:
    """The value of one of our settings, or ``None`` where conda is absent or it is unset."""
    import importlib.util

    if importlib.util.find_spec("conda") is None:
        return None
    context = conda_context()
    try:
        value = getattr(context.plugins, name)
    except AttributeError:  # conda without our plugin registered
        return None
    if isinstance(value, tuple):
        return value or None
    return value or None


def conda_context():
    """conda's context, loaded from the user's .condarc files.

    Inside ``conda store`` conda has loaded it already. Imported by a plain
    script (the API, ``python -m conda_store_plugin``), conda's context is an
    empty placeholder until someone loads it, so load it once here.
    """
    from conda.base.context import context, reset_context

    if not getattr(context, "_search_path", ()):
        reset_context()
    return context
