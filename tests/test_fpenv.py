"""fmbench.fpenv: subnormals flushed to zero inside the context, restored after it."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from fmbench import fpenv

TINY = np.float64(1e-308)  # normal; a tenth of it is subnormal
needs_support = pytest.mark.skipif(not fpenv.supported(), reason="no fenv_t layout here")


def _flushes() -> bool:
    return bool(TINY / np.float64(10.0) == 0.0)


@needs_support
def test_flushes_double_and_single_precision_inside_only() -> None:
    assert not _flushes()
    with fpenv.flush_subnormals():
        assert _flushes()
        assert np.float32(1e-38) / np.float32(10.0) == 0.0
        # subnormal inputs read as zero too (DAZ / FZ)
        sub = np.frombuffer(np.array([1], dtype=np.uint64).tobytes(), dtype=np.float64)
        assert sub[0] * 1e300 == 0.0
    assert not _flushes()
    assert TINY / np.float64(10.0) == pytest.approx(1e-309, rel=1e-3)


@needs_support
def test_nests_and_restores_after_an_exception() -> None:
    with fpenv.flush_subnormals():
        with fpenv.flush_subnormals():
            assert _flushes()
        assert _flushes()  # the inner exit restores the outer (flushing) state
    assert not _flushes()
    with pytest.raises(RuntimeError), fpenv.flush_subnormals():
        raise RuntimeError("boom")
    assert not _flushes()


@needs_support
def test_is_per_thread() -> None:
    # a thread that is already running keeps its own environment (threads started inside
    # the block inherit it, as POSIX threads inherit their creator's)
    go, seen = threading.Event(), []
    t = threading.Thread(target=lambda: (go.wait(), seen.append(_flushes())))
    t.start()
    with fpenv.flush_subnormals():
        go.set()
        t.join()
        assert _flushes()
    assert seen == [False]


def test_does_nothing_where_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fpenv, "_control", lambda: None)
    assert not fpenv.supported()
    with fpenv.flush_subnormals():
        assert not _flushes()


@needs_support
def test_normal_numbers_round_as_before() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(1000), rng.standard_normal(1000)
    plain = (a * b + a / b, np.sqrt(np.abs(a)))
    with fpenv.flush_subnormals():
        flushed = (a * b + a / b, np.sqrt(np.abs(a)))
    for p, f in zip(plain, flushed, strict=True):
        assert np.array_equal(p, f)
