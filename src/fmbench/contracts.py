"""Every contract a plugin sees: the value types it receives and the protocols it implements.

A plugin author needs only this module (and :mod:`fmbench.hookspecs` to register):

- value types: :class:`Audio` (float32 mono samples + rate), :class:`RenderSettings`,
  :class:`Patch` and :class:`Problem` (the DX7 patch contract), :class:`BenchmarkItem`,
  :class:`GeneratorOutput`, :class:`Sample` (one item as it moves through a run) and
  :class:`MetricResult`;
- protocols: :class:`Generator`, :class:`Renderer`, :class:`Metric`, :class:`Embedder`,
  each with its optional methods spelled out in :class:`SupportsPrepare`,
  :class:`SupportsClose`, :class:`SupportsSetup` and :class:`SupportsResampler`.

A run is a list of :class:`Sample` objects filled stage by stage. Metrics read the
fields their ``needs`` declare and return a :class:`MetricResult`: per-sample columns
(NaN with a stated reason where a value cannot be computed) and/or set-level values.
``docs/plugins.md`` documents all of this; a test checks it against these signatures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from fmbench.audio import Audio
from fmbench.benchmark import Benchmark, BenchmarkItem
from fmbench.patch.errors import Problem
from fmbench.patch.model import Patch
from fmbench.render import RenderSettings

__all__ = [
    "Audio",
    "Benchmark",
    "BenchmarkItem",
    "Embedder",
    "Generator",
    "GeneratorOutput",
    "Metric",
    "MetricResult",
    "Patch",
    "Problem",
    "RenderSettings",
    "Renderer",
    "Sample",
    "SupportsClose",
    "SupportsPrepare",
    "SupportsResampler",
    "SupportsSetup",
]


@dataclass
class GeneratorOutput:
    """What a generator produced for one caption: raw text, a patch dict, or audio.

    ``audio_path`` is for systems that produce sound directly (text-to-audio baselines,
    or renders made elsewhere): the runner reads the file and scores it as is; metrics
    that need a patch have none to read for such a sample.
    """

    raw_output: str | None = None  # verbatim model reply (parsed by the runner)
    patch: dict[str, Any] | None = None  # an already-structured patch (skips parsing)
    info: dict[str, Any] = field(default_factory=dict)  # e.g. retries, token counts
    audio_path: str | None = None  # generated audio file (no patch involved)


@dataclass
class Sample:
    """One benchmark item as it moves through a run."""

    id: str
    caption: str
    reference_patch: Patch | None = None
    raw_output: str | None = None
    parsed: dict[str, Any] | None = None  # the object parsed from raw_output (may be invalid)
    parse_error: str | None = None
    problems: list[Problem] = field(default_factory=list)  # from validate; empty = valid
    patch: Patch | None = None  # valid (or explicitly repaired) patch that was rendered
    repaired: bool = False
    audio: Audio | None = None
    reference_audio: Audio | None = None
    scores: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # column → reason for NaN / failure
    direct_audio: bool = False  # the generator produced audio itself (no patch)

    @property
    def parsed_ok(self) -> bool:
        return self.parsed is not None

    @property
    def valid(self) -> bool:
        """A usable output: a valid patch, or audio the generator produced directly."""
        return (self.parsed is not None and not self.problems) or self.direct_audio


@dataclass
class MetricResult:
    """A metric's output.

    ``per_sample`` maps an output column to one value per scored sample (aligned with
    the ``samples`` passed to ``score``); ``set_values`` holds set-level values (FAD,
    KAD, …); ``reasons`` maps ``(column, sample_index)`` to why a value is NaN.
    """

    per_sample: dict[str, np.ndarray] = field(default_factory=dict)
    set_values: dict[str, float] = field(default_factory=dict)
    reasons: dict[tuple[str, int], str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)  # e.g. raw attributes, bandwidth

    def value(self, column: str) -> float:
        """The run-level value: the set value, or the NaN-skipping mean of a column."""
        if column in self.set_values:
            return float(self.set_values[column])
        arr = np.asarray(self.per_sample[column], dtype=np.float64)
        finite = arr[~np.isnan(arr)]
        return float(finite.mean()) if finite.size else math.nan


@runtime_checkable
class Metric(Protocol):
    """What a metric factory returns.

    Optional methods: ``prepare()`` (:class:`SupportsPrepare`), ``close()``
    (:class:`SupportsClose`) and, for set-level metrics, ``resampler(samples)``
    (:class:`SupportsResampler`).
    """

    identity: str  # name + version + settings (+ model hash): part of cache keys

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """Score ``samples``: per-sample columns aligned with them and/or set values."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """What an embedder factory returns (used by FAD / KAD / KL)."""

    identity: str
    dim: int
    sample_rate: int

    def embed(self, audio: Audio) -> np.ndarray:
        """One clip's embedding rows, ``(frames, dim)`` float32."""
        ...


@runtime_checkable
class Generator(Protocol):
    """What a generator factory returns.

    Optional methods: ``setup(benchmark)`` (:class:`SupportsSetup`) and ``close()``.
    Generators other than ``oracle`` must read only ``item.id`` and ``item.caption``.
    """

    identity: str

    def generate(self, items: Sequence[BenchmarkItem], *, seed: int) -> list[GeneratorOutput]:
        """One output per item, in order; deterministic for a given ``seed``."""
        ...


@runtime_checkable
class Renderer(Protocol):
    """What a renderer factory returns. Optional: ``prepare()`` (:class:`SupportsPrepare`)."""

    identity: str  # engine version + fidelity mode: part of every render cache key

    def render(self, patch: Patch, settings: RenderSettings) -> Audio:
        """Play ``patch`` as ``settings`` say; deterministic, never NaN/Inf."""
        ...


@runtime_checkable
class SupportsPrepare(Protocol):
    """Optional on metrics and renderers: called once in the main process before any
    worker process is started (compile or load JIT code, load a model), so workers
    inherit the result instead of each doing it, or racing to write a shared cache."""

    def prepare(self) -> None:
        """Get ready to work; idempotent."""
        ...


@runtime_checkable
class SupportsClose(Protocol):
    """Optional on metrics, embedders and generators: release a model (memory, GPU)
    when the run is done with the component; the runner loads one heavy model at a time."""

    def close(self) -> None:
        """Free what the component holds."""
        ...


@runtime_checkable
class SupportsSetup(Protocol):
    """Optional on generators: called with the benchmark before the first ``generate``
    (e.g. to fit on ``benchmark.train``); the identity may depend on it."""

    def setup(self, benchmark: Benchmark) -> None:
        """Prepare for ``benchmark``."""
        ...


@runtime_checkable
class SupportsResampler(Protocol):
    """Optional on set-level metrics: do the expensive work once (e.g. embedding) and
    return ``f(indices) -> {column: value}``, equal to scoring ``[samples[i] for i in
    indices]``; the runner's interval estimate calls it many times. ``f`` may also carry
    ``f.many(list of index arrays) -> list of {column: value}``, which the interval
    estimate then calls once with every subsample."""

    def resampler(self, samples: Sequence[Sample]) -> Callable[[np.ndarray], dict[str, float]]:
        """The fast re-scoring function over subsets of ``samples``."""
        ...
