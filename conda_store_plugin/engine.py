"""Run py-rattler work so that a process never dies at interpreter shutdown.

What was observed
-----------------
A fresh interpreter that creates a ``rattler.Gateway``, awaits ``rattler.solve`` for three
platforms and exits normally died with SIGSEGV (-11) or SIGABRT (-6) *after* printing its
result in 2-13 % of runs (py-rattler 0.26.0, CPython 3.11, Linux, 2 cores): file://
channel 5.7 % (51/900, 6 at once) and 5 % (10/200, one at a time); http://127.0.0.1 6.3 %
(57/900) and 10.5 % (21/200). Deleting the Gateway and ``gc.collect()`` (20/300) or keeping
it in a module global (26/400) did not help. stderr shows, when anything::

    Fatal Python error: PyGILState_Release: thread state 0x... must be current when releasing
    Python runtime state: finalizing

Cause
-----
py-rattler hands each result to asyncio through ``pyo3-async-runtimes``: a tokio thread
takes the GIL and calls ``loop.call_soon_threadsafe(...)``, which writes to the loop's
self-pipe and so *releases the GIL* around ``send()``. The main thread takes the GIL, sees
the result, finishes and reaches ``Py_FinalizeEx`` before the tokio thread has the GIL back.
From then on CPython < 3.14 ends any thread that takes the GIL with ``pthread_exit()``; the
forced unwind runs Rust destructors (a ``Py_DECREF``, then pyo3's ``PyGILState_Release``)
while the main thread tears the interpreter down: fatal error (abort) or heap/GC corruption
(segfault). Core dumps show the dying thread in ``pyo3_async_runtimes::generic::set_result``
-> ``call_soon_threadsafe`` -> ``method_dealloc`` and the main thread in ``Py_FinalizeEx``.
Confirmed by counting, right after ``asyncio.run``, threads that have Python frames but are
not ``threading`` threads: 0 in 285/285 runs, all of which exited 0; 1 in 15 runs, 12 of
which crashed. Same mechanism in public reports: PyO3/pyo3-async-runtimes#40,
temporalio/sdk-python#300, PyO3/pyo3#4874, rust-lang/rust#135929, CPython gh-87135 (3.14
parks such threads instead).

The fix (0 crashes in 6,000 processes, every variant measured)
---------------------------------------------------------------
* Library use (``api.lock`` inside someone's interpreter): :func:`run` runs rattler's
  coroutine, then :func:`settle` waits, with the GIL released, until no foreign thread is
  inside Python code. That wait is exact for awaited work: a tokio thread can only let go of
  the GIL while it is inside Python (its frames are visible), and its remaining Rust tail
  keeps the GIL until it is done. :func:`install_exit_guard` does the same in ``atexit``
  (which runs before finalization starts). Limit: work still *starting* at exit (a daemon
  thread of the caller, or a rattler task cancelled and never awaited) is not covered.
* CLI processes: :func:`run_engine_then_exit` also skips finalization altogether: after the
  command it joins non-daemon threads, runs ``atexit`` handlers, flushes stdio and calls
  ``os._exit``. That covers the limit above as well.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from typing import Any, NoReturn, TypeVar

__all__ = ["install_exit_guard", "run", "run_engine_then_exit", "settle"]

T = TypeVar("T")

_DummyThread: type = getattr(threading, "_DummyThread", type(None))
_guard_lock = threading.Lock()
_guard_installed = False
# Foreign threads already inside Python when our work started (e.g. pytest-xdist's execnet
# thread): not ours, possibly never leaving Python, so never waited for.
_not_ours: set[int] = set()


def _foreign_threads_in_python() -> set[int]:
    """Idents of threads that run Python code but were not started by ``threading``."""
    known = {t.ident for t in threading.enumerate() if not isinstance(t, _DummyThread)}
    known.add(threading.get_ident())  # the caller may itself be a foreign thread
    return {tid for tid in sys._current_frames() if tid not in known}


def settle(timeout: float = 1.0, ignore: AbstractSet[int] = frozenset()) -> bool:
    """Let native (Rust) threads that are inside Python finish, releasing the GIL to them.

    Args:
        timeout: Give up after this many seconds.
        ignore: Thread idents not to wait for (foreign threads busy before our work began).

    Returns:
        True once no other foreign thread is in Python, False on timeout.
    """
    deadline = time.monotonic() + timeout
    while _foreign_threads_in_python() - ignore:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.001)
    return True


def _settle_at_exit() -> None:
    settle(ignore=_not_ours)


def install_exit_guard() -> None:
    """Register :func:`settle` with ``atexit`` once; it runs before finalization starts."""
    global _guard_installed
    with _guard_lock:
        if not _guard_installed:
            atexit.register(_settle_at_exit)
            _guard_installed = True


def run(work: Callable[[], Awaitable[T]] | Awaitable[T]) -> T:
    """Run rattler async work to completion on a fresh event loop, then :func:`settle`.

    Args:
        work: A coroutine (e.g. ``rattler.solve(...)``) or a callable returning one.
            Called from a thread that already runs an event loop, the work runs on a
            helper thread (blocking the caller until it is done).

    Returns:
        The result of the awaitable.
    """
    import asyncio

    install_exit_guard()
    busy = _foreign_threads_in_python()
    _not_ours.update(busy)
    awaitable = work() if callable(work) else work

    async def main() -> T:
        return await awaitable

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(main())
        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                outcome["result"] = asyncio.run(main())
            except BaseException as exc:  # noqa: B036 - re-raised in the calling thread
                outcome["error"] = exc

        thread = threading.Thread(target=target, name="conda-store-engine")
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]
    finally:
        settle(ignore=busy)


def _exit_code(value: object) -> int:
    """Exit status for ``sys.exit(value)``, as CPython computes it."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def run_engine_then_exit(main: Callable[..., Any], *args: Any, **kwargs: Any) -> NoReturn:
    """Run a CLI ``main(*args, **kwargs)``, then end the process with ``os._exit``.

    The exit status is what ``sys.exit(main(...))`` would give (None -> 0, int -> itself,
    other -> printed, 1); ``SystemExit`` likewise; 130 on KeyboardInterrupt; 1 with the
    traceback on stderr for any other exception; 120 when flushing stdout/stderr fails, as
    CPython does. Non-daemon threads are joined and ``atexit`` handlers run, as in a normal
    exit; only interpreter finalization is skipped. For entry points only: never call it
    from library code or tests (it ends the calling process).
    """
    install_exit_guard()
    try:
        code = _exit_code(main(*args, **kwargs))
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # noqa: B036 - a CLI reports anything and exits
        traceback.print_exc()
        code = 1
    try:
        current = threading.current_thread()
        for thread in threading.enumerate():
            if thread is not current and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
    except BaseException:  # noqa: B036
        traceback.print_exc()
        code = code or 1
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:  # noqa: B036 - e.g. BrokenPipeError under `| head`
            code = code or 120
    os._exit(code)
