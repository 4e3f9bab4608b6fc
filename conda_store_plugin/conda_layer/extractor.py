"""Our package extractor for ``.conda`` / ``.tar.bz2``: conda's, made safe to share.

conda extracts in place: ``ExtractPackageAction`` deletes ``<pkgs>/<dist>`` and
extracts into it, and a cache scan (``PackageCacheData._make_single_record``) that
finds an archive without its folder extracts it on the spot. Another process scanning
or linking at that moment sees a half-made folder. Through this extractor both extract
under the entry's lock into a staging folder that is renamed into place, and do nothing
when another process completed the entry meanwhile.

Registered under a name that sorts after conda's ``conda-package``, so conda's
extension map (built in name order, later wins) picks it for both extensions; the real
work is delegated to the extractor conda would otherwise use. Side effect: conda no
longer uses its process pool for extraction, but with the fetch guard conda's own
extraction only runs in these corner cases.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

NAME = "conda-store-locked-extract"
EXTENSIONS = (".conda", ".tar.bz2")


def underlying(source: Any) -> Callable[[Any, Any], None]:
    """The extractor conda would use for ``source`` if ours were not registered."""
    from conda.base.context import context
    from conda.exceptions import PluginError

    extractors = {}
    for hook in context.plugin_manager.get_hook_results("package_extractors"):
        if hook.name == NAME:
            continue
        for extension in hook.extensions:
            extractors[extension.lower()] = hook
    path = os.fspath(source).lower()
    for extension, hook in extractors.items():
        if path.endswith(extension):
            return hook.extract
    raise PluginError(
        f"No registered 'package_extractors' plugin found for package: {source}")


def is_pkgs_dir(folder: Path) -> bool:
    """Whether ``folder`` is one of conda's package caches."""
    from conda.base.context import context

    real = os.path.realpath(folder)
    return (Path(folder) / "urls.txt").is_file() or any(
        os.path.realpath(p) == real for p in context.pkgs_dirs)


def extract(source: Any, destination: Any) -> None:
    """The ``CondaPackageExtractor.extract`` callable."""
    from ..cache_entries import is_complete, new_staging, replace_dir
    from ..cache_lock import entry_held
    from ..exceptions import CondaStoreError
    from .cache_locks import lock_settings, report_wait
    from .errors import to_conda_error

    base = underlying(source)
    dest = Path(os.fspath(destination))
    settings = lock_settings()
    if not settings.enabled or not is_pkgs_dir(dest.parent):
        base(source, destination)
        return
    try:
        with entry_held(dest.parent, dest.name, timeout=settings.timeout,
                        on_wait=report_wait):
            if is_complete(dest):
                return  # another process extracted it while we waited
            staging = new_staging(dest.parent, dest.name)
            try:
                base(source, staging / "pkg")
                replace_dir(staging / "pkg", dest)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except CondaStoreError as exc:
        raise to_conda_error(exc) from exc
