"""Patch-level metrics: parse rate, validity rate, exact match, ``dx7_dist`` and group errors.

All of them compare what a generator said (``Sample.parsed`` / ``Sample.patch``) with the
benchmark's reference patch; none needs audio. Per-sample values are floats; where a
value cannot be computed it is NaN and ``MetricResult.reasons`` says why (the runner's
failure policy then decides whether it counts as a failure or is left out).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from fmbench.contracts import MetricResult, Sample
from fmbench.errors import FmbenchError
from fmbench.patch.distance import group_errors, key_weights, patch_similarity
from fmbench.patch.model import Patch
from fmbench_plugins.patchmetrics import GROUP_OUTPUTS, VERSION


def _identity(name: str, settings: Mapping[str, Any] | None = None) -> str:
    ident = f"{name}@{VERSION}"
    if settings:
        ident += json.dumps(dict(settings), sort_keys=True, separators=(",", ":"))
    return ident


def _unparsable(sample: Sample) -> str:
    """The NaN reason of an output that did not parse."""
    return "unparsable output" + (f": {sample.parse_error}" if sample.parse_error else "")


def _canonical(sample: Sample) -> tuple[Patch | None, str | None]:
    """The generated patch as a :class:`Patch`, or None and the reason it has none."""
    if sample.parsed is None:
        return None, _unparsable(sample)
    if sample.problems:
        return None, f"invalid patch ({len(sample.problems)} problems, e.g. {sample.problems[0]})"
    if sample.patch is not None and not sample.repaired:
        return sample.patch, None
    try:
        return Patch.from_dict(sample.parsed), None
    except (FmbenchError, ValueError) as exc:
        return None, f"invalid patch: {exc}"


def _comparable(sample: Sample) -> Patch | str:
    """The generated patch to compare with the reference, or the reason there is none."""
    if sample.reference_patch is None:
        return "no reference patch"
    patch, why = _canonical(sample)
    return patch if patch is not None else why or "no patch"


def _per_sample(
    samples: Sequence[Sample],
    columns: Sequence[str],
    fn: Callable[[Sample], dict[str, float] | str],
) -> MetricResult:
    """Apply ``fn`` to each sample: it returns values per column, or a NaN reason."""
    result = MetricResult(
        per_sample={c: np.full(len(samples), math.nan, dtype=np.float64) for c in columns}
    )
    for i, sample in enumerate(samples):
        out = fn(sample)
        if isinstance(out, str):
            for c in columns:
                result.reasons[(c, i)] = out
            continue
        for c in columns:
            value = out[c]
            result.per_sample[c][i] = value
            if math.isnan(value):
                result.reasons[(c, i)] = out.get(f"{c}:reason", "undefined")  # type: ignore[arg-type]
    result.details["n"] = len(samples)
    result.details["n_nan"] = {c: int(np.isnan(result.per_sample[c]).sum()) for c in columns}
    return result


class ParseRate:
    """1 per sample whose output parsed into an object, else 0; the mean is the rate."""

    identity = _identity("parse_rate")

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """Score each sample 0/1; never NaN."""
        return _per_sample(
            samples, ["parse_rate"], lambda s: {"parse_rate": float(s.parsed is not None)}
        )


class ValidityRate:
    """1 per sample whose parsed output satisfies the patch contract, else 0."""

    identity = _identity("validity_rate")

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """Score each sample 0/1 (unparsable outputs count as invalid); never NaN."""
        return _per_sample(samples, ["validity_rate"], lambda s: {"validity_rate": float(s.valid)})


class ExactMatch:
    """1 if the generated patch equals the reference in canonical form (all 12 keys)."""

    identity = _identity("exact_match")

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """NaN with a reason for unparsable/invalid outputs or a missing reference."""

        def one(s: Sample) -> dict[str, float] | str:
            patch = _comparable(s)
            if isinstance(patch, str):
                return patch
            return {"exact_match": float(patch == s.reference_patch)}

        return _per_sample(samples, ["exact_match"], one)


class Dx7Dist:
    """The ``dx7_dist`` similarity D (1 = identical, 0 = nothing matches).

    Definition: docs/metrics.md#dx7_dist.

    Computed on the parsed object, so a parsed-but-invalid or partial patch gets the
    same partial credit the GRPO reward gives it; unparsable outputs are NaN.
    ``weights`` overrides the default key weights.
    """

    def __init__(self, weights: Mapping[str, float] | str | None = None) -> None:
        if isinstance(weights, str):
            try:
                weights = json.loads(weights)
            except json.JSONDecodeError as exc:
                raise FmbenchError(f"dx7_dist: weights must be a JSON object: {exc}") from exc
        if weights is not None and not isinstance(weights, Mapping):
            raise FmbenchError("dx7_dist: weights must be a mapping of key → weight")
        try:
            self.weights = key_weights(weights)
        except (TypeError, ValueError) as exc:
            raise FmbenchError(f"dx7_dist: {exc}") from exc
        custom = {k: v for k, v in self.weights.items() if v != key_weights()[k]}
        self.identity = _identity("dx7_dist", {"weights": custom} if custom else None)

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """One D per sample."""

        def one(s: Sample) -> dict[str, float] | str:
            if s.reference_patch is None:
                return "no reference patch"
            if s.parsed is None:
                return _unparsable(s)
            if not isinstance(s.parsed, Mapping):
                return f"parsed output is a {type(s.parsed).__name__}, not an object"
            return {"dx7_dist": patch_similarity(s.parsed, s.reference_patch, self.weights)}

        return _per_sample(samples, ["dx7_dist"], one)


class PatchErrors:
    """Per-group differences to the reference (topology, envelopes, frequencies, levels).

    See :func:`fmbench.patch.distance.group_errors` for the exact definitions. Needs a
    valid generated patch: unparsable/invalid outputs are NaN with the reason.
    """

    identity = _identity("patch_errors")
    columns = tuple(name for name, *_ in GROUP_OUTPUTS)

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """One row of group errors per sample."""

        def one(s: Sample) -> dict[str, float] | str:
            patch = _comparable(s)
            if isinstance(patch, str):
                return patch
            out: dict[str, Any] = group_errors(patch, s.reference_patch)
            out["algorithm_match:reason"] = "reference topology is not one of the 32 algorithms"
            return out

        return _per_sample(samples, self.columns, one)
