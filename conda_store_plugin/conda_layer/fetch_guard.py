"""Guard conda's one fetch-and-extract step with per-entry locks.

Every conda transaction fetches and extracts its packages through
``ProgressiveFetchExtract.execute`` (``conda/core/package_cache_data.py``): the solver
path (``UnlinkLinkTransaction.download_and_extract``), explicit files and local archives
(``conda.misc.get_package_records_from_explicit``), lockfile specifiers, clones. Left
alone, it plans once (the plan can go stale while other processes work), downloads into
``<fn>.partial`` files that it truncates before locking, moves archives aside and
extracts into folders it deletes first, all in the live cache.

:func:`install` wraps that method (once per process, only when a command we lock for
runs). The wrapper, before conda's own code:

1. makes every package a complete cache entry with :class:`prefetch.Filler` (entry
   locks, staging, atomic renames, one download per package per machine);
2. shows conda's "Downloading and Extracting Packages" progress for the packages it
   fetched;
3. tells conda's in-memory view of the cache about the new entries and re-plans.

Then conda's plan is empty and the original method has nothing to do. Whatever the
re-plan still finds (a package without URL, ``--offline`` misses) goes to conda's own
code as before. ``--dry-run`` and ``cache_locks: false`` go straight to conda.

This is the only place where the plugin replaces a conda method rather than using a
hook: no hook runs after the confirmation prompt and before the download for every
kind of install (see ``cache_locks``).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

_MARK = "_conda_store_fetch_guard"
log = logging.getLogger(__name__)


def install() -> None:
    """Wrap ``ProgressiveFetchExtract.execute`` (idempotent)."""
    from conda.core.package_cache_data import ProgressiveFetchExtract

    original = ProgressiveFetchExtract.execute
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def execute(self: Any) -> Any:
        return guarded_execute(self, original)

    setattr(execute, _MARK, True)
    ProgressiveFetchExtract.execute = execute


def guarded_execute(pfe: Any, original: Any) -> Any:
    """The wrapper's body; ``original`` is conda's ``execute``."""
    from conda.base.context import context

    from .cache_locks import lock_settings, report_wait

    if pfe._executed or context.dry_run:
        return original(pfe)
    settings = lock_settings()
    if not settings.enabled:
        return original(pfe)
    from .prefetch import done_anywhere, jobs_for

    every = jobs_for(pfe.link_precs)
    jobs = [job for job in every if not done_anywhere(job)]
    if jobs:
        _fill(jobs, timeout=settings.timeout, on_wait=report_wait)
    # Entries made by this process *or by others* since conda last read the caches.
    refresh_views(every)
    pfe.paired_actions.clear()
    pfe._prepared = False
    pfe.prepare()
    if pfe.cache_actions or pfe.extract_actions:
        log.debug("conda still plans %s / %s after the guarded fetch",
                  pfe.cache_actions, pfe.extract_actions)
        return original(pfe)
    pfe._executed = True
    return None


def _fill(jobs: list, *, timeout: float, on_wait: Any) -> None:
    from conda.base.context import context
    from conda.common.terminal import is_tty, term_dumb
    from conda.core.package_cache_data import PackageCacheData, ProgressiveFetchExtract
    from conda.reporters import get_progress_bar_context_manager

    from .prefetch import Filler

    pkgs_dir = PackageCacheData.first_writable().pkgs_dir
    show = not context.verbose and not context.quiet and not context.json
    tty = is_tty() and not term_dumb()
    with get_progress_bar_context_manager() as bars:
        if show:
            print("\nDownloading and Extracting Packages:", end="\n" if tty else " ...working...",
                  flush=True)

        def progress(record: Any) -> Any:
            return ProgressiveFetchExtract._progress_bar(record, context_manager=bars,
                                                         leave=False)

        filler = Filler(pkgs_dir, timeout=timeout, on_wait=on_wait, progress=progress,
                        workers=max(int(context.fetch_threads or 5), 2))
        try:
            filler.run(jobs)
        finally:
            if show:
                print("\r" if tty else " done", flush=True)


def refresh_views(jobs: list) -> None:
    """Make conda's in-memory indexes of the caches include every job's entry.

    conda reads a cache once per process (``PackageCacheData.load``) and plans from
    that; entries that appeared since (ours, or another process's) would be planned
    again. An index never loaded reads the disk when first used; a loaded one gets the
    records added (``PackageCacheData.insert`` would also rewrite their files).
    """
    from conda.core.package_cache_data import PackageCacheData

    from .prefetch import done_anywhere

    for job in jobs:
        if job.found is None and not done_anywhere(job):
            continue  # conda will report it
        pkgs_dir, record = job.found
        loaded = _loaded_records(PackageCacheData._cache_.get(str(pkgs_dir)))
        if loaded is not None:
            loaded[record] = record  # replaces a stale value of the same package


def _loaded_records(cache: Any) -> dict | None:
    if cache is None:
        return None
    attribute = "_PackageCacheData__package_cache_records"
    if not hasattr(cache, attribute):  # conda changed its internals: re-read the disk
        cache.reload()
        return None
    return getattr(cache, attribute)
