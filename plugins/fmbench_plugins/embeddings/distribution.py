"""Distribution metrics over any registered embedder: FAD, KAD, KL (docs/metrics.md).

Each metric takes an ``embedder`` option (a registry name such as ``"mfcc"``, or an
embedder object); its identity includes the embedder's identity. Embeddings are cached
by audio content hash + embedder identity (:mod:`fmbench.cache`) and memoised in the
metric instance, so the reference side is embedded once per benchmark.

Failures are counted, never dropped silently: a sample whose audio is missing, empty,
non-finite, or whose embedding fails or contains NaN is left out of the statistics, its
index and reason are listed in ``MetricResult.reasons`` / ``details["failed"]``, and the
counts used are in ``details``. A set with too few rows gives NaN with the reason in
``details["reason"]``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from fmbench.audio import Audio, audio_problem
from fmbench.cache import Cache, make_key
from fmbench.contracts import MetricResult, Sample
from fmbench.errors import FmbenchError

VERSION = "0.1.0"
#: rows per block of a pairwise computation (a 1024 × 1024 block is 8 MB in float64)
_BLOCK = 1024
#: the most distances one block holds, so memory stays flat however many rows a set has
_BLOCK_ELEMENTS = 1 << 20
#: up to this many pairwise distances the median is selected in memory; above it, by
#: counting passes over the blocks (exact, bounded memory)
_MEDIAN_IN_MEMORY = 1 << 20


def _rows_per_block(n_cols: int) -> int:
    """Rows of a block against ``n_cols`` columns: at most :data:`_BLOCK`, and at most
    :data:`_BLOCK_ELEMENTS` distances in all."""
    return max(1, min(_BLOCK, _BLOCK_ELEMENTS // max(1, n_cols)))


# -- pure functions ------------------------------------------------------------------


def _sqrtm_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """``‖μ1−μ2‖² + tr Σ1 + tr Σ2 − 2 tr sqrt(Σ1 Σ2)`` from means and covariances (the
    d×d form), real and ≥ 0 by construction.

    ``tr sqrt(Σ1Σ2)`` is computed as the sum of square roots of the (clipped, ≥ 0)
    eigenvalues of a symmetric PSD matrix similar to ``Σ1Σ2``: ``Lᵀ Σ2 L`` with ``L``
    the Cholesky factor of ``Σ1`` (eigenvalues only: about half the time of an
    eigendecomposition), or ``sqrt(Σ1) Σ2 sqrt(Σ1)`` when ``Σ1`` is singular; no complex
    arithmetic, no failure on singular covariances.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(np.asarray(s1, np.float64)), np.atleast_2d(np.asarray(s2, np.float64))
    try:
        low = np.linalg.cholesky((s1 + s1.T) / 2.0)
        m = low.T @ s2 @ low
    except np.linalg.LinAlgError:  # singular Σ1
        r = _sqrtm_psd(s1)
        m = r @ s2 @ r
    eig = np.linalg.eigvalsh((m + m.T) / 2.0)
    tr_covmean = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)
    return max(0.0, value)


def frechet_distance_rows(x: np.ndarray, y: np.ndarray) -> float:
    """FAD between the Gaussians fitted to the rows of ``x`` and of ``y`` (each ≥ 2 rows,
    unbiased covariances): the same value as
    ``frechet_distance(*gaussian_stats(x), *gaussian_stats(y))``.

    With fewer rows than dimensions on either side the covariances are low-rank, and
    the trace term is solved in the small space: with ``A = (x − μ1)/√(n1−1)`` and
    ``B = (y − μ2)/√(n2−1)`` (so ``Σ1 = AᵀA``, ``Σ2 = BᵀB``), the nonzero eigenvalues of
    ``Σ1Σ2`` are those of ``(ABᵀ)(ABᵀ)ᵀ``, hence ``tr sqrt(Σ1Σ2)`` is the sum of the
    singular values of the n1×n2 matrix ``ABᵀ`` (≥ 0 by construction: no eigenvalue
    clipping, no complex parts). Otherwise the d×d form (:func:`frechet_distance`).
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected two row sets of equal width, got {x.shape} and {y.shape}")
    if len(x) < 2 or len(y) < 2:
        raise ValueError("the Fréchet distance needs at least 2 rows on each side")
    if min(len(x), len(y)) >= x.shape[1]:
        return frechet_distance(*gaussian_stats(x), *gaussian_stats(y))
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    a = (x - mu1) / math.sqrt(len(x) - 1)
    b = (y - mu2) / math.sqrt(len(y) - 1)
    m = a @ b.T if len(a) <= len(b) else b @ a.T  # singular values are the same either way
    tr_covmean = float(np.linalg.svd(m, compute_uv=False).sum())
    diff = mu1 - mu2
    value = float(diff @ diff + np.einsum("ij,ij->", a, a) + np.einsum("ij,ij->", b, b))
    return max(0.0, value - 2.0 * tr_covmean)


def gaussian_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (divisor n − 1) of the rows of ``x`` (≥ 2 rows)."""
    x = np.asarray(x, np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1])


def _sq_dists(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Squared distances between the rows of ``a`` and ``b`` (``a`` and itself when ``b``
    is None: one symmetric product, and a diagonal of exact zeros), clipped at 0."""
    if b is None:
        d = a @ a.T  # numpy hands a @ a.T to BLAS syrk: half the work of a general product
        sq = d.diagonal().copy()
        d *= -2.0
        d += sq[:, None]
        d += sq[None, :]
    else:
        d = a @ b.T
        d *= -2.0
        d += (a * a).sum(1)[:, None]
        d += (b * b).sum(1)[None, :]
    return np.maximum(d, 0.0, out=d)


def _median_of_sq(d: np.ndarray) -> float:
    """The lower-middle pairwise distance from a full symmetric squared-distance matrix."""
    n = len(d)
    return _lower_median(d[np.arange(n)[None, :] > np.arange(n)[:, None]])


def _lower_median(sq: np.ndarray) -> float:
    k = (len(sq) - 1) // 2
    return math.sqrt(float(np.partition(sq, k)[k]))  # sqrt is monotone: same element


def _pair_blocks(x: np.ndarray) -> Iterator[np.ndarray]:
    """The squared distances of every unordered pair of rows of ``x``, block by block."""
    n = len(x)
    for i in range(0, n, _BLOCK):
        rows = x[i : i + _BLOCK]
        for j in range(i, n, _rows_per_block(len(rows))):
            cols = x[j : j + _rows_per_block(len(rows))]
            d = _sq_dists(rows, cols)
            # keep pairs (i + r, j + c) with j + c > i + r
            yield d[(j + np.arange(len(cols)))[None, :] > (i + np.arange(len(rows)))[:, None]]


def _select_pair_sq(x: np.ndarray, k: int) -> float:
    """The ``k``-th smallest (0-based) pairwise squared distance of the rows of ``x``,
    exactly, holding at most :data:`_MEDIAN_IN_MEMORY` values: passes that count the
    distances in 65,536 bins narrow the range down to one bin, whose values are then
    selected in memory."""
    lo, hi = math.inf, -math.inf
    for v in _pair_blocks(x):
        if v.size:
            lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    below = 0  # distances known to be smaller than lo
    bins = 1 << 16
    while lo < hi:
        scale = bins / (hi - lo)

        def bin_of(v: np.ndarray, lo: float = lo, scale: float = scale) -> np.ndarray:
            # monotone in v: a bin holds exactly the values between its min and its max
            return np.minimum(((v - lo) * scale).astype(np.int64), bins - 1)

        counts = np.zeros(bins, np.int64)
        for v in _pair_blocks(x):
            v = v[(v >= lo) & (v <= hi)]
            counts += np.bincount(bin_of(v), minlength=bins)
        cum = np.cumsum(counts)
        b = int(np.searchsorted(cum, k - below, side="right"))
        before = below + (int(cum[b - 1]) if b else 0)
        inside = [v[bin_of(v) == b] for v in _pair_blocks(x) if v.size]
        if counts[b] <= _MEDIAN_IN_MEMORY:
            values = np.concatenate([v[(v >= lo) & (v <= hi)] for v in inside])
            return float(np.partition(values, k - before)[k - before])
        # too many values in one bin: narrow the range to that bin and count again
        in_range = [v[(v >= lo) & (v <= hi)] for v in inside]
        lo = min(float(v.min()) for v in in_range if v.size)
        hi = max(float(v.max()) for v in in_range if v.size)
        below = before
    return lo


def median_pairwise_distance(x: np.ndarray) -> float:
    """Median of the n(n−1)/2 Euclidean distances between rows of ``x``; the *lower*
    middle value when the count is even (as ``torch.median``). Memory stays bounded for
    any n (large sets are counted in passes, see :func:`_select_pair_sq`)."""
    x = np.asarray(x, np.float64)
    x = x - x.mean(axis=0)  # distances are translation-invariant; centring limits cancellation
    if len(x) <= _BLOCK:
        return _median_of_sq(_sq_dists(x))
    pairs = len(x) * (len(x) - 1) // 2
    if pairs <= _MEDIAN_IN_MEMORY:
        return _lower_median(np.concatenate(list(_pair_blocks(x))))
    return math.sqrt(_select_pair_sq(x, (pairs - 1) // 2))  # sqrt is monotone


def _exp_sum(d: np.ndarray, gamma: float) -> float:
    d *= -gamma
    return float(np.exp(d, out=d).sum())


def _kernel_sum(a: np.ndarray, b: np.ndarray, gamma: float) -> float:
    """``Σ_ij exp(−γ‖a_i − b_j‖²)``, in blocks of bounded size."""
    total = 0.0
    step = _rows_per_block(len(b))
    for i in range(0, len(a), step):
        for j in range(0, len(b), _rows_per_block(step)):
            total += _exp_sum(_sq_dists(a[i : i + step], b[j : j + _rows_per_block(step)]), gamma)
    return total


def _self_kernel_sum(a: np.ndarray, gamma: float) -> float:
    """``Σ_ij exp(−γ‖a_i − a_j‖²)`` over all ordered pairs, diagonal included, computing
    each unordered block once."""
    total = 0.0
    for i in range(0, len(a), _BLOCK):
        total += _exp_sum(_sq_dists(a[i : i + _BLOCK]), gamma)
        if i + _BLOCK < len(a):
            total += 2.0 * _kernel_sum(a[i : i + _BLOCK], a[i + _BLOCK :], gamma)
    return total


def _gamma(bandwidth: float) -> float:
    return 1.0 / (2.0 * bandwidth**2 + 1e-8)


def _mmd(sxx: float, syy: float, sxy: float, m: int, n: int) -> float:
    kxx = (sxx - m) / (m * (m - 1))  # the diagonal is exp(0) = 1
    kyy = (syy - n) / (n * (n - 1))
    kxy = sxy / (m * n)
    return 100.0 * (kxx + kyy - 2.0 * kxy)


def _centred(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    c = (x.sum(axis=0) + y.sum(axis=0)) / (len(x) + len(y))
    return x - c, y - c


def kernel_audio_distance(x: np.ndarray, y: np.ndarray, bandwidth: float) -> float:
    """``100 ·`` unbiased MMD² with a Gaussian kernel ``exp(−γ‖a−b‖²)``,
    ``γ = 1 / (2h² + 1e−8)``; ``x`` reference rows (m ≥ 2), ``y`` evaluated rows (n ≥ 2)."""
    x, y = _centred(x, y)
    gamma = _gamma(bandwidth)
    sxx, syy = _self_kernel_sum(x, gamma), _self_kernel_sum(y, gamma)
    return _mmd(sxx, syy, _kernel_sum(x, y, gamma), len(x), len(y))


def kernel_audio_distance_bandwidth(
    x: np.ndarray, y: np.ndarray, bandwidth: str | float
) -> tuple[float, float]:
    """``(kad, h)``: :func:`kernel_audio_distance` with the bandwidth ``h`` taken as the
    median pairwise distance of the ``"reference"`` rows ``x`` or the ``"evaluated"`` rows
    ``y``, or given as a number. The distances behind the median are reused for the
    kernel sum of that side (one product of the rows with themselves, not two)."""
    x, y = _centred(x, y)
    if isinstance(bandwidth, str) and bandwidth not in ("reference", "evaluated"):
        raise ValueError(f"bandwidth must be 'reference', 'evaluated' or a number: {bandwidth!r}")
    if not isinstance(bandwidth, str):
        h = float(bandwidth)
        return kernel_audio_distance(x, y, h), h
    side = x if bandwidth == "reference" else y
    if len(side) > _BLOCK:
        h = median_pairwise_distance(side)
        return kernel_audio_distance(x, y, h), h
    d = _sq_dists(side)
    h = _median_of_sq(d)
    gamma = _gamma(h)
    s_side = _exp_sum(d, gamma)
    del d
    if bandwidth == "reference":
        sxx, syy = s_side, _self_kernel_sum(y, gamma)
    else:
        sxx, syy = _self_kernel_sum(x, gamma), s_side
    return _mmd(sxx, syy, _kernel_sum(x, y, gamma), len(x), len(y)), h


def kl_per_pair(
    ref_means: np.ndarray, gen_means: np.ndarray, variant: str = "softmax"
) -> np.ndarray:
    """``Σ_d p_d (log p_d − log(q_d + 1e−6))`` per row; p from the reference mean
    embedding, q from the generated one; softmax over all dims, or element-wise sigmoid
    (not a true divergence; may be negative)."""
    r, g = np.asarray(ref_means, np.float64), np.asarray(gen_means, np.float64)
    if variant == "softmax":
        log_p = r - r.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        gq = g - g.max(axis=1, keepdims=True)
        q = np.exp(gq) / np.exp(gq).sum(axis=1, keepdims=True)
    elif variant == "sigmoid":
        log_p = -np.logaddexp(0.0, -r)
        q = 1.0 / (1.0 + np.exp(-g))
    else:
        raise ValueError(f"unknown KL variant {variant!r}: use 'softmax' or 'sigmoid'")
    p = np.exp(log_p)
    return (p * (log_p - np.log(q + 1e-6))).sum(axis=1)


# -- metrics -------------------------------------------------------------------------


def _resolve_embedder(embedder: Any) -> Any:
    if isinstance(embedder, str):
        from fmbench.plugins import get_registry

        return get_registry().create("embedder", embedder)
    if not hasattr(embedder, "embed") or not hasattr(embedder, "identity"):
        raise FmbenchError(f"embedder must be a registered name or an embedder, got {embedder!r}")
    return embedder


class _EmbeddingMetric:
    """Shared machinery: embedder resolution, cached embedding, failure accounting."""

    name = "embedding"
    column = "embedding"

    def __init__(self, embedder: Any = "mfcc", cache: Any = True, **settings: Any) -> None:
        self.embedder = _resolve_embedder(embedder)
        self.cache = cache if isinstance(cache, Cache) else Cache(cache)
        self.settings = settings
        opts = ",".join(f"{k}={v}" for k, v in sorted(settings.items()))
        self.identity = f"{self.name}@{VERSION}[{self.embedder.identity}]({opts})"
        self._memo: dict[str, np.ndarray] = {}

    def embed(self, audio: Audio | None) -> tuple[np.ndarray | None, str | None]:
        """``(rows, None)`` or ``(None, reason)`` for one clip (cached by content)."""
        if audio is None:
            return None, audio_problem(audio)
        key = make_key(audio.content_hash, self.embedder.identity)
        if key not in self._memo:
            why = audio_problem(audio)
            if why:
                return None, why
            try:
                e = self.cache.get_or_compute(
                    "embeddings", key, lambda: np.asarray(self.embedder.embed(audio))
                )
            except Exception as exc:  # noqa: BLE001 - one clip's failure is recorded, not fatal
                return None, f"embedder failed: {type(exc).__name__}: {exc}"
            self._memo[key] = e
        e = self._memo[key]
        if e.ndim != 2 or e.shape[0] == 0:
            return None, f"embedding has shape {e.shape}, expected (frames ≥ 1, dim)"
        if not np.isfinite(e).all():
            return None, "embedding contains NaN or infinite values"
        return e, None

    def session(self) -> contextlib.AbstractContextManager[Any]:
        """The embedder's ``session()`` when it has one (checkpoint-based embedders keep
        their network loaded for the block, through :func:`fmbench.modelstore.loaded_model`,
        instead of loading it per clip), else a no-op."""
        session = getattr(self.embedder, "session", None)
        return session() if callable(session) else contextlib.nullcontext()

    def embed_side(
        self, samples: Sequence[Sample], attr: str, result: MetricResult, label: str
    ) -> list[np.ndarray | None]:
        """Embed ``sample.<attr>`` for every sample; failures go into ``result``."""
        out: list[np.ndarray | None] = []
        failed: dict[int, str] = {}
        with self.session():
            for i, s in enumerate(samples):
                e, why = self.embed(getattr(s, attr))
                out.append(e)
                if why:
                    failed[i] = why
                    result.reasons.setdefault((self.column, i), f"{label}: {why}")
        result.details.setdefault("failed", {})[label] = {
            samples[i].id: why for i, why in failed.items()
        }
        result.details[f"n_{label}"] = len(samples) - len(failed)
        result.details[f"n_{label}_failed"] = len(failed)
        return out

    def embed_sides(
        self, samples: Sequence[Sample], result: MetricResult
    ) -> tuple[list[np.ndarray | None], list[np.ndarray | None]]:
        """Per-sample embeddings of the reference side, then of the generated side."""
        ref = self.embed_side(samples, "reference_audio", result, "reference")
        gen = self.embed_side(samples, "audio", result, "generated")
        return ref, gen

    def embed_sets(
        self, samples: Sequence[Sample], result: MetricResult
    ) -> tuple[np.ndarray, np.ndarray]:
        """All embedding rows of each side stacked, ``(reference, generated)``; the row
        counts go into ``result.details``."""
        ref, gen = self.embed_sides(samples, result)
        x, y = _rows(ref), _rows(gen)
        result.details.update(rows_reference=len(x), rows_generated=len(y))
        return x, y


def _rows(side: Sequence[np.ndarray | None]) -> np.ndarray:
    """The rows of every present embedding stacked, or an empty ``(0, 0)`` array."""
    present = [e for e in side if e is not None]
    return np.concatenate(present) if present else np.zeros((0, 0))


def _nan(result: MetricResult, column: str, reason: str) -> MetricResult:
    result.set_values[column] = math.nan
    result.details["reason"] = reason
    return result


class FrechetAudioDistance(_EmbeddingMetric):
    """FAD between the reference set and the generated set; lower is better
    (docs/metrics.md#fad)."""

    name = column = "fad"

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """One set-level value over all embedding rows of each side."""
        result = MetricResult()
        x, y = self.embed_sets(samples, result)
        if len(x) < 2 or len(y) < 2:
            return _nan(result, self.column, "FAD needs at least 2 embedding rows on each side")
        result.set_values[self.column] = frechet_distance_rows(x, y)
        return result

    def resampler(self, samples: Sequence[Sample]) -> Callable[[np.ndarray], dict[str, float]]:
        """Embed once; return ``f(indices) -> {"fad": value}`` for bootstrap resamples of
        items (with repetition), equal to ``score`` on ``[samples[i] for i in indices]``."""
        scratch = MetricResult()
        ref, gen = self.embed_sides(samples, scratch)

        def on(indices: np.ndarray) -> dict[str, float]:
            x = _rows([ref[i] for i in indices])
            y = _rows([gen[i] for i in indices])
            if len(x) < 2 or len(y) < 2:
                return {self.column: math.nan}
            return {self.column: frechet_distance_rows(x, y)}

        return on


class KernelAudioDistance(_EmbeddingMetric):
    """KAD (docs/metrics.md#kad): 100 · unbiased Gaussian-kernel MMD², lower is better.

    ``bandwidth="reference"`` (default) takes the kernel bandwidth from the reference
    rows, so every system is scored with the same kernel; ``"evaluated"`` takes it from
    the generated rows, as the original work did (reference-compatible); a number fixes it.
    """

    name = column = "kad"

    def __init__(self, embedder: Any = "mfcc", cache: Any = True, bandwidth: Any = "reference"):
        if isinstance(bandwidth, str) and bandwidth not in ("reference", "evaluated"):
            try:
                bandwidth = float(bandwidth)
            except ValueError as exc:
                raise FmbenchError(
                    f"kad: bandwidth must be 'reference', 'evaluated' or a number, got {bandwidth!r}"
                ) from exc
        if not isinstance(bandwidth, str) and not (
            math.isfinite(float(bandwidth)) and float(bandwidth) > 0
        ):
            raise FmbenchError(f"kad: a numeric bandwidth must be > 0, got {bandwidth!r}")
        super().__init__(embedder, cache, bandwidth=bandwidth)
        self.bandwidth = bandwidth
        self._last_median: tuple[str, float] = ("", math.nan)

    def _median(self, rows: np.ndarray) -> float:
        """:func:`median_pairwise_distance` of ``rows``, remembered for the last set (the
        score and its interval ask for the same set's median; on a large set each costs
        several passes over all pairs)."""
        import hashlib

        rows = np.ascontiguousarray(rows, dtype=np.float64)
        key = hashlib.sha256(repr(rows.shape).encode() + rows.data).hexdigest()
        if self._last_median[0] != key:
            self._last_median = (key, median_pairwise_distance(rows))
        return self._last_median[1]

    def kernel_bandwidth(self, x: np.ndarray, y: np.ndarray) -> float:
        """The kernel bandwidth for reference rows ``x`` and generated rows ``y``."""
        if self.bandwidth == "reference":
            return self._median(x)
        if self.bandwidth == "evaluated":
            return self._median(y)
        return float(self.bandwidth)

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """One set-level value; the bandwidth used is in ``details["bandwidth"]``."""
        result = MetricResult()
        x, y = self.embed_sets(samples, result)
        if len(x) < 2 or len(y) < 2:
            return _nan(result, self.column, "KAD needs at least 2 embedding rows on each side")
        side = x if self.bandwidth == "reference" else y
        if isinstance(self.bandwidth, str) and len(side) > _BLOCK:
            h = self.kernel_bandwidth(x, y)  # large: remembered for the interval's resampler
            value = kernel_audio_distance(x, y, h)
        else:
            value, h = kernel_audio_distance_bandwidth(x, y, self.bandwidth)
        result.details["bandwidth"] = h
        if h == 0.0:
            result.details["note"] = "bandwidth is 0: the rows it was taken from are identical"
        result.set_values[self.column] = value
        return result

    def resampler(self, samples: Sequence[Sample]) -> Callable[[np.ndarray], dict[str, float]]:
        """Embed once and hold the bandwidth; return ``f(indices) -> {"kad": value}`` for
        resamples of items (with repetition), with ``f.many`` for a batch of them.

        The kernel bandwidth is held at its value on the full sets (a resample changes
        the data, not the kernel), and the unbiased sums exclude only the diagonal of
        row *positions*, so a resampled duplicate row pairs with its copy as in ``score``
        on the resampled list. Up to :data:`ITEM_MATRIX_MAX` items, item-by-item kernel
        sums are built once (``O(items²)`` memory) and each resample costs ``O(items²)``;
        above it, ``many`` computes every resample's sums in one pass over row blocks, in
        memory that grows only with ``items × resamples``.
        """
        scratch = MetricResult()
        ref, gen = self.embed_sides(samples, scratch)
        return _KadResampler(ref, gen, len(samples), self.kernel_bandwidth, self.column)


#: above this many items the KAD resampler streams instead of holding items × items sums
ITEM_MATRIX_MAX = 1024


def _stack(side: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """The rows of one side's embeddings, and the item each row belongs to (ascending)."""
    rows = [e for e in side if e is not None]
    owner = np.concatenate(
        [np.full(len(e), i) for i, e in enumerate(side) if e is not None] or [[]]
    ).astype(np.int64)
    return (np.concatenate(rows) if rows else np.zeros((0, 1))), owner


def _runs(owner: np.ndarray) -> np.ndarray:
    """Where each item's rows start in a block of rows stacked in item order."""
    return np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])


class _KadResampler:
    """KAD over item resamples (see :meth:`KernelAudioDistance.resampler`)."""

    def __init__(
        self,
        ref: list[np.ndarray | None],
        gen: list[np.ndarray | None],
        n_items: int,
        bandwidth: Callable[[np.ndarray, np.ndarray], float],
        column: str,
    ) -> None:
        self.n_items, self.column = n_items, column
        self.x, self.ox = _stack(ref)
        self.y, self.oy = _stack(gen)
        self.rx = np.bincount(self.ox, minlength=n_items).astype(np.float64)
        self.ry = np.bincount(self.oy, minlength=n_items).astype(np.float64)
        self.usable = len(self.x) >= 2 and len(self.y) >= 2
        self.blocks: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if not self.usable:
            return
        h = bandwidth(self.x, self.y)
        self.gamma = 1.0 / (2.0 * h**2 + 1e-8)
        if n_items <= ITEM_MATRIX_MAX:
            self.blocks = (
                self._item_sums(self.x, self.ox, self.x, self.ox),
                self._item_sums(self.y, self.oy, self.y, self.oy),
                self._item_sums(self.x, self.ox, self.y, self.oy),
            )

    def _kernel_blocks(
        self, a: np.ndarray, oa: np.ndarray, b: np.ndarray, ob: np.ndarray, symmetric: bool
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
        """``(items of a, items of b, item-summed kernel block, weight)`` over blocks of at
        most ``_BLOCK`` × ``_BLOCK`` rows; with ``symmetric`` (a is b) only blocks on or
        above the diagonal, those above weighted 2."""
        for i in range(0, len(a), _BLOCK):
            oi = oa[i : i + _BLOCK]
            ri = _runs(oi)
            for j in range(i if symmetric else 0, len(b), _BLOCK):
                oj = ob[j : j + _BLOCK]
                rj = _runs(oj)
                k = np.exp(-self.gamma * _sq_dists(a[i : i + _BLOCK], b[j : j + _BLOCK]))
                k = np.add.reduceat(np.add.reduceat(k, rj, axis=1), ri, axis=0)
                yield oi[ri], oj[rj], k, (2.0 if symmetric and j != i else 1.0)

    def _item_sums(self, a: np.ndarray, oa: np.ndarray, b: np.ndarray, ob: np.ndarray):
        out = np.zeros((self.n_items, self.n_items))
        for ii, jj, k, _ in self._kernel_blocks(a, oa, b, ob, symmetric=False):
            out[np.ix_(ii, jj)] += k
        return out

    def _weighted_sums(
        self, a: np.ndarray, oa: np.ndarray, b: np.ndarray, ob: np.ndarray, c: np.ndarray
    ) -> np.ndarray:
        """``c_r · K · c_r`` for every row ``c_r`` of ``c`` (resamples × items), where K
        holds the item-by-item kernel sums, without ever holding K."""
        total = np.zeros(len(c))
        symmetric = a is b
        for ii, jj, k, weight in self._kernel_blocks(a, oa, b, ob, symmetric):
            total += weight * np.einsum("ri,ij,rj->r", c[:, ii], k, c[:, jj], optimize=True)
        return total

    def _values(self, c: np.ndarray, sxx: np.ndarray, syy: np.ndarray, sxy: np.ndarray):
        out = []
        for r in range(len(c)):
            m, n = float(c[r] @ self.rx), float(c[r] @ self.ry)
            if m < 2 or n < 2:
                out.append({self.column: math.nan})
                continue
            kxx = (sxx[r] - m) / (m * (m - 1))
            kyy = (syy[r] - n) / (n * (n - 1))
            kxy = sxy[r] / (m * n)
            out.append({self.column: float(100.0 * (kxx + kyy - 2.0 * kxy))})
        return out

    def many(self, draws: Sequence[np.ndarray]) -> list[dict[str, float]]:
        """KAD on each index set of ``draws``."""
        if not self.usable:
            return [{self.column: math.nan} for _ in draws]
        c = np.zeros((len(draws), self.n_items))
        for r, ix in enumerate(draws):
            c[r] = np.bincount(np.asarray(ix, dtype=np.int64), minlength=self.n_items)
        if self.blocks is not None:
            sums = [np.einsum("ri,ij,rj->r", c, b, c, optimize=True) for b in self.blocks]
        else:
            sums = [
                self._weighted_sums(self.x, self.ox, self.x, self.ox, c),
                self._weighted_sums(self.y, self.oy, self.y, self.oy, c),
                self._weighted_sums(self.x, self.ox, self.y, self.oy, c),
            ]
        return self._values(c, *sums)

    def __call__(self, indices: np.ndarray) -> dict[str, float]:
        return self.many([indices])[0]


class KlDivergence(_EmbeddingMetric):
    """KL(reference ‖ generated) of softmaxed mean embeddings, per id-paired sample
    (docs/metrics.md#kl); the run value is the mean over pairs, lower is better."""

    name = column = "kl"

    def __init__(self, embedder: Any = "mfcc", cache: Any = True, variant: str = "softmax"):
        if variant not in ("softmax", "sigmoid"):
            raise FmbenchError(f"kl: variant must be 'softmax' or 'sigmoid', got {variant!r}")
        super().__init__(embedder, cache, variant=variant)
        self.variant = variant

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """Per-sample KL; NaN (with the reason) where either side failed."""
        values = np.full(len(samples), math.nan)
        result = MetricResult(per_sample={self.column: values})
        ref, gen = self.embed_sides(samples, result)
        ok = [i for i in range(len(samples)) if ref[i] is not None and gen[i] is not None]
        if ok:
            r = np.stack([ref[i].mean(axis=0) for i in ok])
            g = np.stack([gen[i].mean(axis=0) for i in ok])
            values[ok] = kl_per_pair(r, g, self.variant)
        result.details["n_pairs"] = len(ok)
        return result
