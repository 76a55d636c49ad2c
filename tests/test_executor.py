"""Executors: ordered, bounded, the same results for every executor and worker count."""

from __future__ import annotations

import pytest

from fmbench.executor import ExecutorError, LocalExecutor, get_executor


def square(x: int) -> int:
    return x * x


def consumed_lazily(n: int):
    """Yields items and records how many were pulled, to check bounded submission."""
    consumed_lazily.pulled = 0
    for i in range(n):
        consumed_lazily.pulled += 1
        yield i


@pytest.mark.parametrize("workers", [1, 2])
def test_local_executor_preserves_order(workers):
    ex = LocalExecutor(workers)
    try:
        assert list(ex.map(square, range(50), chunksize=3)) == [i * i for i in range(50)]
    finally:
        ex.close()


def test_local_pool_keeps_a_bounded_window():
    ex = LocalExecutor(2)
    try:
        it = ex.map(square, consumed_lazily(1000), chunksize=5)
        assert next(it) == 0
        # window = 2 × workers chunks of 5 items (+1 chunk being filled)
        assert consumed_lazily.pulled <= 5 * 5
    finally:
        ex.close()


def test_get_executor_errors():
    with pytest.raises(ExecutorError, match="unknown executor 'ray'"):
        get_executor("ray")


def test_dask_local_cluster_gives_identical_results():
    pytest.importorskip("distributed")
    ex = get_executor("dask", workers=2)
    try:
        assert ex.workers == 2
        assert list(ex.map(square, range(40), chunksize=4)) == [i * i for i in range(40)]
    finally:
        ex.close()


def test_dask_bad_address_is_a_clear_error():
    pytest.importorskip("distributed")
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler"):
        get_executor("dask:tcp://127.0.0.1:9", workers=1)


def _blas_threads(_: object) -> list[int]:
    from threadpoolctl import threadpool_info

    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def _parent_pid(_: object) -> int:
    import os

    return os.getppid()


def test_workers_use_one_blas_thread_and_know_their_parent():
    import os

    from fmbench.executor import process_pool

    pool = process_pool(2)
    try:
        assert all(n == 1 for n in pool.submit(_blas_threads, None).result())
        assert pool.submit(_parent_pid, None).result() == os.getpid()
    finally:
        pool.shutdown()


def test_single_threaded_math_restores_the_limits():
    from threadpoolctl import threadpool_info

    from fmbench.executor import single_threaded_math

    before = [p["num_threads"] for p in threadpool_info()]
    with single_threaded_math():
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    assert [p["num_threads"] for p in threadpool_info()] == before
