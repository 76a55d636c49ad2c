"""The scoring stage: every planned metric over the run's samples, one metric at a time.

Each metric is that metric's own failure: an exception (``SystemExit`` included), a
result of the wrong length, unknown columns or non-numeric values, or a scoring worker
that dies, is recorded with its reason and the other metrics go on. Results are stored
in the run directory keyed by the content they were computed from (metric identity,
failure policy and each scored sample's inputs); a resume reuses a stored result only
when that key matches and the stored result passes the same checks as a fresh one.

Per-sample signal metrics without model weights are spread over forked workers that
inherit the samples (only index ranges and results cross processes). Set-level
intervals are computed here, while the metric is loaded, and stored with the result.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from fmbench.components import MetricKind, Need
from fmbench.contracts import MetricResult, Sample
from fmbench.errors import FmbenchError
from fmbench.run.config import PlannedMetric
from fmbench.run.rundir import RunDir


class MetricFailure(FmbenchError):
    """One metric could not produce a usable result (the reason is the message)."""


@dataclass
class ScoredMetric:
    """A metric's validated result over the samples at ``idx``, with its identity and the
    intervals of its set-level outputs (``column → (low, high)``)."""

    planned: PlannedMetric
    identity: str
    result: MetricResult
    idx: list[int]
    set_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: set-level outputs over the valid items only: column → (value, low, high, n)
    set_valid_only: dict[str, tuple[float, float, float, int]] = field(default_factory=dict)


# -- content keys --------------------------------------------------------------------


def _sample_fingerprint(s: Sample, needs: frozenset[Need]) -> list[Any]:
    fp: list[Any] = [s.id, s.valid]
    if Need.CAPTION in needs:
        fp.append(s.caption)
    if Need.RAW_OUTPUT in needs:
        fp.append(hashlib.sha256((s.raw_output or "").encode()).hexdigest())
        fp.append(s.parse_error)
    if Need.PATCH in needs:
        fp.append(s.patch.content_hash if s.patch is not None else None)
        fp.append(json.dumps(s.parsed, sort_keys=True) if s.parsed is not None else None)
    if Need.REFERENCE_PATCH in needs:
        fp.append(s.reference_patch.content_hash if s.reference_patch is not None else None)
    if Need.AUDIO in needs:
        fp.append(s.audio.content_hash if s.audio is not None else None)
    if Need.REFERENCE_AUDIO in needs:
        fp.append(s.reference_audio.content_hash if s.reference_audio is not None else None)
    return fp


def score_key(identity: str, policy: str, samples: Sequence[Sample], needs: frozenset[Need]) -> str:
    """The content key of one metric's result: everything the numbers depend on."""
    h = hashlib.sha256()
    h.update(json.dumps([identity, policy]).encode())
    for s in samples:
        h.update(json.dumps(_sample_fingerprint(s, needs), default=str).encode())
    return h.hexdigest()


# -- result validation -----------------------------------------------------------------


def check_result(result: Any, planned: PlannedMetric, n: int) -> MetricResult:
    """``result`` as a well-formed :class:`MetricResult` for ``n`` samples, or
    :class:`MetricFailure` saying what is wrong with it."""
    if not isinstance(result, MetricResult):
        raise MetricFailure(f"score() returned {type(result).__name__}, not a MetricResult")
    declared = {o.name for o in planned.info.outputs}
    unknown = sorted((set(result.per_sample) | set(result.set_values)) - declared)
    if unknown:
        raise MetricFailure(
            f"returned undeclared column(s) {', '.join(map(repr, unknown))} "
            f"(declared: {', '.join(sorted(declared))})"
        )
    per_sample: dict[str, np.ndarray] = {}
    for column, values in result.per_sample.items():
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise MetricFailure(f"column {column!r} holds non-numeric values") from None
        if arr.ndim != 1 or arr.shape[0] != n:
            raise MetricFailure(
                f"column {column!r} has {arr.size} value(s) in shape {arr.shape} for {n} samples"
            )
        per_sample[column] = arr
    set_values: dict[str, float] = {}
    for column, value in result.set_values.items():
        try:
            set_values[column] = float(value)
        except (TypeError, ValueError):
            raise MetricFailure(f"set value {column!r} is not a number: {value!r}") from None
    reasons = {}
    for key, reason in result.reasons.items():
        if not (isinstance(key, tuple) and len(key) == 2 and 0 <= int(key[1]) < n):
            raise MetricFailure(f"reason key {key!r} is not (column, sample index)")
        reasons[(str(key[0]), int(key[1]))] = str(reason)
    if not per_sample and not set_values:
        raise MetricFailure("produced no value at all")
    return MetricResult(per_sample, set_values, reasons, dict(result.details))


def _result_to_json(scored: ScoredMetric, key: str, ids: list[str]) -> dict[str, Any]:
    result = scored.result
    return {
        "key": key,
        "identity": scored.identity,
        "ids": ids,
        "per_sample": {
            k: [None if math.isnan(x) else float(x) for x in v]
            for k, v in result.per_sample.items()
        },
        "set_values": {k: float(v) for k, v in result.set_values.items()},
        "reasons": [[c, i, r] for (c, i), r in result.reasons.items()],
        "set_intervals": {k: list(v) for k, v in scored.set_intervals.items()},
        "set_valid_only": {k: list(v) for k, v in scored.set_valid_only.items()},
    }


def _result_from_json(data: dict[str, Any]) -> tuple[MetricResult, dict, dict]:
    result = MetricResult(
        per_sample={
            k: np.array([math.nan if x is None else x for x in v], dtype=np.float64)
            for k, v in data["per_sample"].items()
        },
        set_values=dict(data["set_values"]),
        reasons={(c, int(i)): r for c, i, r in data["reasons"]},
    )
    intervals = {k: (float(a), float(b)) for k, (a, b) in data["set_intervals"].items()}
    valid_only = {
        k: (float(v), float(a), float(b), int(n))
        for k, (v, a, b, n) in data["set_valid_only"].items()
    }
    return result, intervals, valid_only


# -- the stage ---------------------------------------------------------------------------


class Scorer:
    """Scores planned metrics over samples into a run directory (see the module doc)."""

    def __init__(
        self,
        registry: Any,
        run_dir: RunDir,
        executor: Any,
        *,
        policy: str,
        seed: int = 0,
        log: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.registry = registry
        self.seed = seed
        self.run_dir = run_dir
        self.executor = executor
        self.policy = policy
        self.log = log
        self.errors: dict[str, str] = {}
        self.seconds: dict[str, float] = {}
        self.reused: list[str] = []

    def score_all(
        self, planned: Sequence[PlannedMetric], samples: list[Sample]
    ) -> dict[str, ScoredMetric]:
        """Every metric, one at a time (one heavy model loaded at a time)."""
        import time

        idx = (
            [i for i, s in enumerate(samples) if s.valid]
            if self.policy == "valid-only"
            else list(range(len(samples)))
        )
        out: dict[str, ScoredMetric] = {}
        for p in planned:
            t0 = time.perf_counter()
            try:
                out[p.spec] = self._score_metric(p, samples, idx)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - SystemExit from a plugin included
                reason = (
                    str(exc) if isinstance(exc, MetricFailure) else f"{type(exc).__name__}: {exc}"
                )
                self.errors[p.spec] = reason
                self.run_dir.drop_scores(p.label)
                self.log(f"metric {p.spec} failed: {reason}")
            finally:
                self.seconds[p.spec] = round(time.perf_counter() - t0, 3)
        return out

    def _score_metric(
        self, p: PlannedMetric, samples: list[Sample], idx: list[int]
    ) -> ScoredMetric:
        from fmbench.components import ComponentKind

        subset = [samples[i] for i in idx]
        metric = self.registry.create(ComponentKind.METRIC, p.info.name, **p.options)
        try:
            identity = p.identity(str(metric.identity))
            key = score_key(identity, self.policy, subset, p.info.needs)
            stored = self._stored(p, key, len(subset))
            if stored is not None:
                self.reused.append(p.spec)
                result, intervals, valid_only = stored
                return ScoredMetric(p, identity, result, idx, intervals, valid_only)
            prepare = getattr(metric, "prepare", None)
            if callable(prepare):
                prepare()  # compile or load JIT code / models before any worker forks
            if Need.REFERENCE_AUDIO in p.info.needs:
                missing = sum(s.reference_audio is None for s in subset)
                if missing:
                    self.log(f"{p.spec}: {missing} samples have no reference audio")
            if not subset:
                raise MetricFailure(
                    "no item to score (every output failed and the policy is valid-only)"
                )
            raw = self._chunked(p, metric, subset) if self._chunkable(p) else metric.score(subset)
            scored = ScoredMetric(p, identity, check_result(raw, p, len(subset)), idx)
            self._set_intervals(scored, metric, subset)
            self.run_dir.write_scores(p.label, _result_to_json(scored, key, [s.id for s in subset]))
            return scored
        finally:
            release(metric)

    def _stored(self, p: PlannedMetric, key: str, n: int) -> tuple | None:
        data = self.run_dir.read_scores(p.label)
        if data is None or data.get("key") != key:
            return None
        try:
            result, intervals, valid_only = _result_from_json(data)
            return check_result(result, p, n), intervals, valid_only
        except (MetricFailure, KeyError, TypeError, ValueError) as exc:
            self.log(f"{p.spec}: stored result ignored ({exc}); scoring again")
            self.run_dir.drop_scores(p.label)
            return None

    # -- parallel scoring ------------------------------------------------------------
    def _chunkable(self, p: PlannedMetric) -> bool:
        """Per-sample signal metrics without model weights are spread over the workers;
        patch metrics are too cheap to ship, and a model loads once, in this process."""
        return (
            self.executor.workers > 1
            and p.info.metric_kind is not MetricKind.SET
            and not p.info.model_files
            and bool(p.info.needs & {Need.AUDIO, Need.REFERENCE_AUDIO})
        )

    def _chunked(self, p: PlannedMetric, metric: Any, subset: list[Sample]) -> MetricResult:
        from functools import partial

        from fmbench.executor import LocalExecutor

        needs = p.info.needs
        # ship only the audio the metric reads (audio dominates what crosses processes)
        light = [
            replace(
                s,
                audio=s.audio if Need.AUDIO in needs else None,
                reference_audio=s.reference_audio if Need.REFERENCE_AUDIO in needs else None,
            )
            for s in subset
        ]
        workers = self.executor.workers
        size = max(1, -(-len(light) // (4 * workers)))
        bounds = [(i, min(i + size, len(light))) for i in range(0, len(light), size)]
        if isinstance(self.executor, LocalExecutor) and _can_fork():
            parts = _ForkedScoring(metric, light).run(bounds, workers, p.spec)
        else:
            chunks = [light[a:b] for a, b in bounds]
            parts = list(self.executor.map(partial(_score_chunk, metric), chunks))
        parts = [check_result(part, p, b - a) for part, (a, b) in zip(parts, bounds, strict=True)]
        if any(part.set_values for part in parts):
            return metric.score(subset)  # set values cannot be merged: score as one set
        merged = MetricResult()
        columns: dict[str, list[np.ndarray]] = {}
        for part, (a, _b) in zip(parts, bounds, strict=True):
            for column, values in part.per_sample.items():
                columns.setdefault(column, []).append(values)
            for (column, i), reason in part.reasons.items():
                merged.reasons[(column, a + i)] = reason
        merged.per_sample = {c: np.concatenate(v) for c, v in columns.items()}
        return merged

    # -- set-level intervals ---------------------------------------------------------
    def _set_intervals(self, scored: ScoredMetric, metric: Any, subset: list[Sample]) -> None:
        """Intervals of the set-level outputs (:func:`fmbench.stats.set_ci`), over all the
        scored items and over the valid ones, computed while the metric is loaded (with
        one BLAS thread: hundreds of small subsample computations)."""
        from fmbench.executor import single_threaded_math

        with single_threaded_math():
            self._set_intervals_of(scored, metric, subset)

    def _set_intervals_of(self, scored: ScoredMetric, metric: Any, subset: list[Sample]) -> None:
        from fmbench.stats import set_ci

        valid_pool = [s for s in subset if s.valid]
        for column, value in scored.result.set_values.items():
            interval = set_ci(_subset_fn(metric, subset, column), len(subset), seed=self.seed)
            scored.set_intervals[column] = interval
            if len(valid_pool) == len(subset):
                scored.set_valid_only[column] = (value, *interval, len(subset))
            elif len(valid_pool) >= 2:
                v = float(metric.score(valid_pool).set_values.get(column, math.nan))
                fn = _subset_fn(metric, valid_pool, column)
                scored.set_valid_only[column] = (
                    v,
                    *set_ci(fn, len(valid_pool), seed=self.seed),
                    len(valid_pool),
                )
            else:
                scored.set_valid_only[column] = (math.nan, math.nan, math.nan, len(valid_pool))


@dataclass
class _ResampledValue:
    """One column of a metric's resampler as ``f(indices) -> value``, with ``many`` for a
    batch of index sets (the resampler's own batch path where it offers ``many``)."""

    on: Callable[[np.ndarray], dict[str, float]]
    column: str

    def __call__(self, ix: np.ndarray) -> float:
        return float(self.on(np.asarray(ix)).get(self.column, math.nan))

    def many(self, draws: list[np.ndarray]) -> list[float]:
        batch = getattr(self.on, "many", None)
        if callable(batch):
            return [float(r.get(self.column, math.nan)) for r in batch(draws)]
        return [self(ix) for ix in draws]


def _subset_fn(metric: Any, pool: list[Sample], column: str) -> Callable[[np.ndarray], float]:
    """``f(indices)`` → the metric's set value on those items (its resampler fast path —
    embed once, score index sets — when it has one)."""
    resampler = getattr(metric, "resampler", None)
    if callable(resampler):
        return _ResampledValue(resampler(pool), column)

    def recompute(ix: np.ndarray) -> float:
        try:
            return float(metric.score([pool[i] for i in ix]).set_values[column])
        except Exception:  # noqa: BLE001 - a degenerate subset gives NaN
            return math.nan

    return recompute


def release(component: Any) -> None:
    """Close a component that can be closed (one that holds a model) and free its memory
    (a full garbage collection: only then, it costs a fraction of a second each time)."""
    close = getattr(component, "close", None)
    if not callable(close):
        return
    close()
    from fmbench.modelstore import release_memory

    release_memory()


def _score_chunk(metric: Any, samples: list[Sample]) -> MetricResult:
    return metric.score(samples)


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


#: (metric, samples) inherited by forked scoring workers (see _ForkedScoring)
_SHARED: tuple[Any, list[Sample]] | None = None


def _score_shared_chunk(bounds: tuple[int, int]) -> MetricResult:
    assert _SHARED is not None, "scoring worker started without shared samples"
    metric, samples = _SHARED
    return metric.score(samples[bounds[0] : bounds[1]])


class _ForkedScoring:
    """Scores index ranges of ``samples`` in forked workers that inherit them.

    A worker that dies (a crash in native code) breaks the pool; the unfinished ranges
    are then scored item by item, each in a fresh forked process, to name the item that
    kills it — the metric fails with that item's id and the signal."""

    def __init__(self, metric: Any, samples: list[Sample]) -> None:
        self.metric = metric
        self.samples = samples

    def run(self, bounds: list[tuple[int, int]], workers: int, spec: str) -> list[MetricResult]:
        from concurrent.futures.process import BrokenProcessPool

        global _SHARED
        _SHARED = (self.metric, self.samples)
        try:
            pool = _fork_pool(workers)
            futures = [pool.submit(_score_shared_chunk, b) for b in bounds]
            results: list[MetricResult | None] = []
            broken = False
            for f in futures:
                try:
                    results.append(f.result())
                except BrokenProcessPool:
                    broken = True
                    results.append(None)
            pool.shutdown(cancel_futures=True)
            if broken:
                self._find_culprit(
                    [b for b, r in zip(bounds, results, strict=True) if r is None], spec
                )
            return results  # type: ignore[return-value]
        finally:
            _SHARED = None

    def _find_culprit(self, bounds: list[tuple[int, int]], spec: str) -> None:
        from concurrent.futures.process import BrokenProcessPool

        for a, b in bounds:
            for i in range(a, b):
                pool = _fork_pool(1)
                try:
                    pool.submit(_score_shared_chunk, (i, i + 1)).result()
                except BrokenProcessPool:
                    raise MetricFailure(
                        f"a scoring worker process died while metric {spec!r} scored item "
                        f"{self.samples[i].id!r} (a crash in native code); the other "
                        "metrics are unaffected"
                    ) from None
                finally:
                    pool.shutdown(cancel_futures=True)
        raise MetricFailure(
            f"a scoring worker process died while metric {spec!r} scored items "
            f"{', '.join(repr(self.samples[a].id) for a, _ in bounds[:3])}…, but no single "
            "item reproduces it"
        )


def _fork_pool(workers: int) -> Any:
    from fmbench.executor import process_pool

    return process_pool(workers, "fork")
