"""numba's on-disk JIT cache, made safe for many processes (fmbench's and its libraries').

numba caches compiled functions (``cache=True``: the dx7 kernels, timbral-fast's kernels,
librosa's when timbral-models runs) as an index file (``.nbi``) that maps each signature
to a data file (``.nbc``). Two processes compiling the same function at once
(forked workers on a cold cache, two first runs started together) can each read the empty
index, give different signatures the same data file name and leave an index whose entry
points at another signature's machine code: every later process that loads it crashes with
a segmentation fault. This module owns the policy that prevents it:

1. :func:`configure` (run when :mod:`fmbench` is imported) points ``NUMBA_CACHE_DIR`` at
   ``<fmbench cache>/numba/<numba version>-py<X.Y>`` unless the user set it, so fmbench never
   writes into (or trusts) caches inside installed packages, a numba upgrade starts a fresh
   folder, and child processes (spawned workers, Dask) inherit the same folder.
2. :func:`install_guard` (applied as soon as numba's caching module is imported, whoever
   imports it) serialises every cache read and write of one function with a file lock, so
   a save is never interleaved with another process's save or load; and it checks what it
   loads: an index or data file that cannot be read (garbage, truncated, from another
   numba) or whose code was compiled for another signature is deleted and the function is
   compiled again, instead of crashing the process.
3. Components with JIT code implement ``prepare()`` (called by the runner in the parent
   process before any worker forks): they compile or load everything once, under the
   lock, so forked workers inherit compiled code and compile nothing.

With ``FMBENCH_CACHE=off`` the JIT cache lives in a per-user folder under the system's
temporary directory instead (numba needs somewhere to write).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import importlib.abc
import importlib.metadata
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ENV = "NUMBA_CACHE_DIR"
#: set by :func:`configure` when it chose the folder (so a user's own setting is never changed)
_OURS = "FMBENCH_NUMBA_CACHE_DIR"

_guard_lock = threading.Lock()
_guarded = False


class JitCacheWarning(UserWarning):
    """A numba cache entry was unreadable or wrong and has been deleted (it is rebuilt)."""


def cache_key() -> str:
    """``<numba version>-py<X.Y>``: the subfolder that keeps caches of different numba or
    Python versions apart (numba only stamps the index, not every data file)."""
    try:
        version = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:
        version = "none"
    return f"{version}-py{sys.version_info[0]}.{sys.version_info[1]}"


def default_dir() -> Path:
    """Where fmbench keeps numba's cache: ``<FMBENCH_CACHE>/numba/<cache_key()>``, or a
    per-user folder in the temporary directory when ``FMBENCH_CACHE=off``."""
    from fmbench.cache import default_cache_dir

    root = default_cache_dir()
    if root is None:
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        root = Path(tempfile.gettempdir()) / f"fmbench-{uid}"
    return root / "numba" / cache_key()


def configure() -> Path | None:
    """Point numba's cache at :func:`default_dir` (unless ``NUMBA_CACHE_DIR`` is the user's
    own) and arm :func:`install_guard`. Idempotent; cheap (numba is not imported).

    Returns the cache folder in effect, or None when numba's default (``__pycache__``
    beside each source file) is left in place because the folder cannot be created.
    """
    current = os.environ.get(ENV)
    if current and os.environ.get(_OURS) != current:
        folder: Path | None = Path(current)  # the user's choice
    else:
        folder = default_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            folder = None
        if folder is not None:
            os.environ[ENV] = os.environ[_OURS] = str(folder)
    if "numba.core.config" in sys.modules and folder is not None:
        sys.modules["numba.core.config"].CACHE_DIR = str(folder)
    _arm_guard()
    return folder


# -- the guard -------------------------------------------------------------------------
def install_guard() -> bool:
    """Make numba's cache files safe for concurrent processes and corrupt files harmless.

    Patches ``numba.core.caching`` (imports numba): ``IndexDataCacheFile.save`` and
    ``load`` run under an exclusive lock on ``<index>.lock``; a load that fails to read
    or unpickle the index or the data, or whose compiled signature differs from the one
    asked for, deletes that function's index and data files, warns with
    :class:`JitCacheWarning` and reports a miss (numba then compiles and saves again).
    Returns False when this numba lacks the internals it patches (nothing is changed).
    """
    # the import may run _CachingHook, which patches under the lock itself: import first
    from numba.core import caching

    with _guard_lock:
        if _guarded:
            return True
        return _patch(caching)


def _patch(caching: Any) -> bool:
    global _guarded
    files = getattr(caching, "IndexDataCacheFile", None)
    cache = getattr(caching, "Cache", None)
    if not (
        files is not None
        and cache is not None
        and all(hasattr(files, n) for n in ("save", "load"))
        and hasattr(cache, "load_overload")
    ):
        return False
    if getattr(files.save, "_fmbench_guard", False):
        _guarded = True
        return True
    original_save, original_load = files.save, files.load
    original_load_overload = cache.load_overload

    @functools.wraps(original_save)
    def save(self: Any, key: Any, data: Any) -> Any:
        with _file_lock(self):
            return original_save(self, key, data)

    @functools.wraps(original_load)
    def load(self: Any, key: Any) -> Any:
        with _file_lock(self):
            try:
                return original_load(self, key)
            except Exception as exc:  # noqa: BLE001 - any unreadable entry is a miss
                _discard(self, f"{type(exc).__name__}: {exc}")
                return None

    @functools.wraps(original_load_overload)
    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        try:
            result = original_load_overload(self, sig, target_context)
        except Exception as exc:  # noqa: BLE001 - data that cannot be rebuilt is a miss
            why = f"{type(exc).__name__}: {exc}"
            result = None
        else:
            if result is None or _signature_matches(result, sig):
                return result
            why = f"the entry for {sig} holds code compiled for {result.signature}"
        cache_file = getattr(self, "_cache_file", None)
        if cache_file is not None:
            with _file_lock(cache_file):
                _discard(cache_file, why)
        return None

    for fn in (save, load, load_overload):
        fn._fmbench_guard = True  # type: ignore[attr-defined]
    files.save, files.load = save, load
    cache.load_overload = load_overload
    _guarded = True
    return True


def _signature_matches(result: Any, sig: Any) -> bool:
    """Whether a loaded compile result was compiled for ``sig`` (True when unknowable)."""
    loaded = getattr(result, "signature", None)
    if loaded is None or not hasattr(loaded, "args"):
        return True
    try:
        from numba.core import sigutils

        args, _ = sigutils.normalize_signature(sig)
    except Exception:  # noqa: BLE001 - an unusual sig form: nothing to compare
        return True
    return tuple(loaded.args) == tuple(args)


@contextlib.contextmanager
def _file_lock(cache_file: Any) -> Iterator[None]:
    """An exclusive advisory lock on ``<index>.lock`` (no lock where that is impossible)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path = getattr(cache_file, "_index_path", None)
    fd = None
    if path:
        try:
            fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o666)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # read-only cache folder: numba itself will not write there either
            if fd is not None:
                os.close(fd)
            fd = None
    try:
        yield
    finally:
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _discard(cache_file: Any, why: str) -> None:
    """Delete one function's index and every data file it names (caller holds the lock)."""
    index = Path(cache_file._index_path)
    stem = index.name[: -len(".nbi")] if index.name.endswith(".nbi") else index.stem
    removed = []
    for path in [index, *index.parent.glob(f"{glob.escape(stem)}.*.nbc")]:
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path.name)
    warnings.warn(
        f"numba cache entry {index} was unusable ({why}); deleted {len(removed)} file(s),"
        " it is compiled again",
        JitCacheWarning,
        stacklevel=3,
    )


# -- arming the guard when numba's caching module is first imported ----------------------
class _CachingHook(importlib.abc.MetaPathFinder):
    """Patches ``numba.core.caching`` right after it is executed, whoever imports it."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "numba.core.caching":
            return None
        sys.meta_path.remove(self)  # find the real spec, once
        import importlib.util

        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        exec_module: Callable[[Any], None] = spec.loader.exec_module  # type: ignore[union-attr]

        def exec_and_patch(module: Any) -> None:
            exec_module(module)
            with _guard_lock:
                if not _guarded:
                    _patch(module)

        spec.loader.exec_module = exec_and_patch  # type: ignore[union-attr,method-assign]
        return spec


def _arm_guard() -> None:
    if _guarded:
        return
    if "numba.core.caching" in sys.modules:
        install_guard()
        return
    if not any(isinstance(f, _CachingHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _CachingHook())


def prepare_jit() -> None:
    """Configure the cache and install the guard now (imports numba); for ``prepare()``
    methods that are about to compile or load JIT code."""
    configure()
    install_guard()


def is_cached(dispatcher: Any) -> bool:
    """Whether a ``cache=True`` numba function has an index in the on-disk cache (it may
    still be compiled again if the entry turns out unusable). False when unknowable."""
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    index = getattr(cache_file, "_index_path", None)
    return bool(index) and os.path.exists(index)


def compile_in_parallel(groups: list[Callable[[], None]], workers: int | None = None) -> int:
    """Run each warm-up of ``groups`` (functions that call some ``cache=True`` kernels
    with the argument types of real use) in a forked child process at the same time, so
    that a cold JIT cache is filled by all cores; the caller then loads the compiled code
    (its own warm-up finds every kernel in the cache). Groups must compile disjoint
    kernels. Returns how many children ran: none where fork is unavailable or with one
    worker (the caller's warm-up then compiles everything itself); a child that fails
    only leaves its kernels to be compiled by the caller."""
    import multiprocessing

    from fmbench.executor import default_workers

    prepare_jit()
    workers = workers if workers is not None else default_workers()
    if workers < 2 or len(groups) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    ctx = multiprocessing.get_context("fork")
    ran = 0
    for start in range(0, len(groups), workers):
        children = [
            ctx.Process(target=_run_warmup, args=(g,)) for g in groups[start : start + workers]
        ]
        for child in children:
            child.start()
        for child in children:
            child.join()
        ran += len(children)
    return ran


def _run_warmup(warmup: Callable[[], None]) -> None:
    """A warm-up child's body: dies with its parent; a failure only leaves the work to
    the parent."""
    from fmbench.executor import die_with_parent

    die_with_parent()
    with contextlib.suppress(Exception):
        warmup()


def cache_is_cold() -> bool:
    """Whether numba's cache folder in effect holds no compiled function at all (a fresh
    machine, or a new numba/Python version)."""
    folder = os.environ.get(ENV)
    if not folder or not os.path.isdir(folder):
        return True
    return not any(Path(folder).rglob("*.nbi"))


class BackgroundWarmup:
    """A forked process filling the JIT cache while the caller goes on (see
    :func:`warm_up_in_background`); :meth:`wait` before relying on it."""

    def __init__(self, process: Any) -> None:
        self._process = process

    def wait(self) -> None:
        """Wait for the warm-up to end (idempotent; a failed warm-up is no error)."""
        if self._process is not None:
            self._process.join()
            self._process = None

    def cancel(self) -> None:
        """Stop the warm-up if it still runs (the caller gave up); a half-written cache
        entry is found unreadable and compiled again by a later process."""
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process = None


def warm_up_in_background(warmup: Callable[[], None]) -> BackgroundWarmup | None:
    """On a cold JIT cache (:func:`cache_is_cold`), run ``warmup`` — calls that compile
    JIT code into the cache, e.g. components' ``prepare()`` — in a forked process and
    return at once, so the compilation overlaps the caller's own work (a fresh machine's
    first run compiles its renderer in one process and its metrics in another). None
    when the cache is warm, fork is unavailable or only one core is usable."""
    import multiprocessing

    from fmbench.executor import default_workers

    configure()  # where the cache is (numba itself is imported only by the warm-up)
    if default_workers() < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    if not cache_is_cold():
        return None
    process = multiprocessing.get_context("fork").Process(target=_run_warmup, args=(warmup,))
    process.start()
    return BackgroundWarmup(process)
