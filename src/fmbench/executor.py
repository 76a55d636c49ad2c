"""Where the runner's heavy work (rendering, scoring) executes.

An :class:`Executor` maps a picklable function over items and yields the results **in
input order**, keeping only a bounded number of chunks in flight so memory stays flat
however many items stream through. Implementations:

- ``local`` (default): the calling process when ``workers <= 1``, else a pool of
  ``workers`` processes;
- ``dask``: a Dask distributed cluster — ``dask`` starts a local cluster with
  ``workers`` processes, ``dask:tcp://host:8786`` connects to a running scheduler
  (``pip install 'fmbench[dask]'``).

Because results come back in order and each item's result depends only on the item,
the output is identical for every executor and worker count.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar, runtime_checkable

from fmbench.errors import FmbenchError

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "dask")


class ExecutorError(FmbenchError):
    """An executor that cannot be created (unknown name, missing package, bad address)."""


@runtime_checkable
class Executor(Protocol):
    """Ordered, bounded parallel map."""

    name: str
    workers: int

    def map(self, fn: Callable[[T], R], items: Iterable[T], *, chunksize: int = 1) -> Iterator[R]:
        """``fn`` over ``items`` in chunks, results in input order, bounded in flight."""
        ...

    def close(self) -> None:
        """Release workers (idempotent)."""
        ...


def single_threaded_math() -> Any:
    """A context in which numpy's BLAS/OpenMP pools use one thread: for many small
    linear-algebra calls (threads cost more than they give there, and under load far
    more) and inside worker processes (N workers × M threads would oversubscribe)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _init_worker() -> None:
    """Worker initialiser: one BLAS thread per worker (the workers are the parallelism),
    and on Linux the kernel kills this worker when the process that started it dies
    (``kill -9`` included), so no orphaned worker outlives a run and keeps its files or
    locks open."""
    single_threaded_math()
    die_with_parent()


def die_with_parent() -> None:
    """In a child process: on Linux, have the kernel kill this process when the process
    that started it dies (``kill -9`` included), so that no orphan outlives a run and
    keeps its files or locks open. Elsewhere nothing."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def process_pool(workers: int, start_method: str | None = None) -> Any:
    """The one way fmbench starts worker processes: a ``ProcessPoolExecutor`` of
    ``workers`` processes whose workers die with the process that started them.
    ``start_method`` defaults to ``"fork"`` where available (workers inherit what the
    parent has loaded and prepared; they run pure functions of their arguments), else
    ``"spawn"``."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    method = start_method or ("fork" if "fork" in methods else "spawn")
    if method not in methods:
        raise ExecutorError(f"start method {method!r} is not available here: {methods}")
    return ProcessPoolExecutor(
        max(1, int(workers)),
        mp_context=multiprocessing.get_context(method),
        initializer=_init_worker,
    )


def _run_chunk(fn: Callable[[Any], Any], chunk: list[Any]) -> list[Any]:
    return [fn(item) for item in chunk]


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _WindowedExecutor:
    """Shared windowing: submit chunks, keep ``max_in_flight`` (default ``2 × workers``)
    in flight, yield results in order."""

    name = "base"
    workers = 1
    max_in_flight: int | None = None

    def _submit(self, fn: Callable[[Any], Any], chunk: list[Any]) -> Any:
        raise NotImplementedError

    @staticmethod
    def _result(future: Any) -> list[Any]:
        return future.result()

    def map(self, fn: Callable[[T], R], items: Iterable[T], *, chunksize: int = 1) -> Iterator[R]:
        pending: deque[Any] = deque()
        window = self.max_in_flight or max(2, 2 * self.workers)
        for chunk in _chunks(items, max(1, chunksize)):
            pending.append(self._submit(fn, chunk))
            if len(pending) >= window:
                yield from self._result(pending.popleft())
        while pending:
            yield from self._result(pending.popleft())


class LocalExecutor(_WindowedExecutor):
    """The calling process (``workers <= 1``) or a process pool of ``workers``."""

    name = "local"

    def __init__(self, workers: int = 1, *, max_in_flight: int | None = None) -> None:
        self.workers = max(1, int(workers))
        self.max_in_flight = max_in_flight
        self._pool: Any = None

    def _submit(self, fn: Callable[[Any], Any], chunk: list[Any]) -> Any:
        if self._pool is None:
            self._pool = process_pool(self.workers)
        return self._pool.submit(_run_chunk, fn, chunk)

    def map(self, fn: Callable[[T], R], items: Iterable[T], *, chunksize: int = 1) -> Iterator[R]:
        if self.workers <= 1:
            return (fn(item) for item in items)
        return super().map(fn, items, chunksize=chunksize)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class DaskExecutor(_WindowedExecutor):
    """A Dask distributed cluster: a local one (``address=None``) or a running scheduler."""

    name = "dask"

    def __init__(self, workers: int = 1, address: str | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError(
                "the dask executor needs the 'distributed' package: pip install 'fmbench[dask]'"
            ) from None
        self._cluster = None
        if address is None:
            self._cluster = LocalCluster(
                n_workers=max(1, int(workers)),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            )
            address = self._cluster.scheduler_address
        try:
            self._client = Client(address, timeout=30)
        except OSError as exc:
            self.close()
            raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})) or int(workers))

    def _submit(self, fn: Callable[[Any], Any], chunk: list[Any]) -> Any:
        return self._client.submit(_run_chunk, fn, chunk, pure=False)

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()


def get_executor(spec: str | None = "local", workers: int = 1) -> Executor:
    """Build an executor from ``local``, ``dask`` or ``dask:ADDRESS``."""
    name, _, arg = (spec or "local").partition(":")
    if name == "local":
        return LocalExecutor(workers)
    if name == "dask":
        return DaskExecutor(workers, address=arg or None)
    raise ExecutorError(f"unknown executor {spec!r}; choose from {', '.join(EXECUTORS)}")


def default_workers() -> int:
    """The usable CPU count (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
