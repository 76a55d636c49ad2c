"""Patch-to-patch similarity and per-group parameter errors (docs/metrics.md#dx7_dist).

:func:`patch_similarity` is the ``D`` term of the ``dx7_dist`` GRPO reward: a
weighted mean over the 12 canonical keys of a per-key similarity in [0, 1]. It is a pure
function of two JSON-like patches, so both the ``dx7_dist`` metric and GRPO reward code
import it from here. The prediction may be *partial or malformed* (a parsed model reply
that failed validation); the reference must be a well-formed patch.

Per key (``s_k``):

- categorical keys (``modmatrix``, ``outmatrix``, ``fixed_freq``): the fraction of
  reference elements the prediction matches exactly (numbers equal within 1e-6);
- every other key: the mean over reference elements of
  ``clip(1 - |p - t| / (hi - lo), 0, 1)`` with the key's range from
  :data:`~fmbench.patch.model.RANGES`;
- an element the prediction lacks (short list, short row, non-list row, non-numeric
  value) scores 0; a key the prediction lacks, or holds in the wrong container type
  (a number where a list belongs), scores 0 but keeps its weight; extra elements are
  ignored. Numeric strings (``"3"``) and booleans count as numbers, as in the
  original reward.

``D = Σ_k w_k s_k / Σ_k w_k`` with :data:`DEFAULT_KEY_WEIGHTS` (sum 24.5).

One deliberate difference from the original reward: a NaN in the prediction scores 0 for
that element (the original arithmetic let it turn the whole reward into NaN). ±Infinity scores
0 in both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from fmbench.patch.model import BINARY_KEYS, KEY_ORDER, RANGES, SHAPES, Patch

#: the default ``dx7_dist`` key weights (docs/prompts-and-training.md#grpo-rewards); sum 24.5
DEFAULT_KEY_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "modmatrix": 4.0,
        "outmatrix": 4.0,
        "feedback": 3.0,
        "fixed_freq": 3.0,
        "ol": 2.0,
        "eg_rate": 2.0,
        "eg_level": 2.0,
        "coarse": 1.5,
        "fine": 1.0,
        "detune": 1.0,
        "transpose": 0.5,
        "sensitivity": 0.5,
    }
)

#: keys scored by exact match rather than by range-normalised distance
CATEGORICAL_KEYS: frozenset[str] = BINARY_KEYS

_MATCH_TOL = 1e-6


def key_weights(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The default weights with ``overrides`` merged over them.

    Names outside the 12 canonical keys are ignored (as the original ``--key_weights_json``
    does); a negative or non-finite weight raises :class:`ValueError`.
    """
    weights = dict(DEFAULT_KEY_WEIGHTS)
    for key, value in (overrides or {}).items():
        if key not in weights:
            continue
        w = float(value)
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"key weight for {key!r} must be a finite number >= 0, got {value!r}")
        weights[key] = w
    return weights


def _number(x: Any) -> float | None:
    """``x`` as a finite float, or None (non-numeric, NaN or infinite)."""
    if isinstance(x, (bool, int, float, np.integer, np.floating)):
        v = float(x)
    elif isinstance(x, str) and x.strip():
        try:
            v = float(x.strip())
        except ValueError:
            return None
    else:
        return None
    return v if math.isfinite(v) else None


def _element_score(key: str, pred: Any, ref: Any) -> float:
    p, t = _number(pred), _number(ref)
    if p is None or t is None:
        return 0.0
    if key in CATEGORICAL_KEYS:
        return 1.0 if abs(p - t) <= _MATCH_TOL else 0.0
    lo, hi = RANGES[key]
    return min(1.0, max(0.0, 1.0 - abs(p - t) / float(hi - lo)))


def _as_dict(patch: Patch | Mapping[str, Any]) -> Mapping[str, Any]:
    return patch.to_dict() if isinstance(patch, Patch) else patch


def key_similarity(key: str, pred: Any, ref: Any) -> float:
    """``s_k`` in [0, 1] for one canonical key: ``pred`` (any JSON value) vs ``ref``
    (a well-formed value of that key). See the module docstring for the rules."""
    if key not in SHAPES:
        raise KeyError(f"unknown patch key {key!r}; expected one of {', '.join(KEY_ORDER)}")
    shape = SHAPES[key]
    if len(shape) == 0:
        return _element_score(key, pred, ref)
    if not isinstance(pred, list):
        return 0.0
    if len(shape) == 1:
        n = shape[0]
        return (
            sum(_element_score(key, pred[i] if i < len(pred) else None, ref[i]) for i in range(n))
            / n
        )
    rows, cols = shape
    total = 0.0
    for i in range(rows):
        row = pred[i] if i < len(pred) and isinstance(pred[i], list) else []
        for j in range(cols):
            total += _element_score(key, row[j] if j < len(row) else None, ref[i][j])
    return total / (rows * cols)


def key_similarities(
    pred: Patch | Mapping[str, Any], ref: Patch | Mapping[str, Any]
) -> dict[str, float]:
    """``s_k`` for each of the 12 keys (0 for keys absent from ``pred``)."""
    p, r = _as_dict(pred), _as_dict(ref)
    return {k: (key_similarity(k, p[k], r[k]) if k in p else 0.0) for k in KEY_ORDER}


def patch_similarity(
    pred: Patch | Mapping[str, Any],
    ref: Patch | Mapping[str, Any],
    weights: Mapping[str, float] | None = None,
) -> float:
    """The ``dx7_dist`` similarity ``D`` in [0, 1] (1 = identical); see
    docs/metrics.md#dx7_dist.

    ``weights`` overrides :data:`DEFAULT_KEY_WEIGHTS` per key (see :func:`key_weights`).
    If all weights are 0 the result is 0.
    """
    w = key_weights(weights)
    sims = key_similarities(pred, ref)
    total = sum(w.values())
    if total <= 0.0:
        return 0.0
    return sum(w[k] * sims[k] for k in KEY_ORDER) / total


# -- per-group errors (between two valid patches) ------------------------------------

#: MIDI note of the benchmark renders; operator frequencies are compared at this note
REFERENCE_NOTE = 60


def operator_frequencies(patch: Patch, note: int = REFERENCE_NOTE) -> np.ndarray:
    """Each operator's frequency in Hz at MIDI ``note``, OP1..OP6 order
    (docs/renderer.md#operator-frequencies).

    Ratio mode: ``f0 · c' · (1 + fine/100) · 2^(detune/1200) · 2^(transpose/12)``
    (``c' = 0.5`` for coarse 0); fixed mode: ``10^(coarse mod 4) · (1 + 0.08861·fine)``.
    """
    f0 = 440.0 * 2.0 ** ((note - 69) / 12.0)
    out = np.empty(6, dtype=np.float64)
    for k, op in enumerate(patch.operators()):
        if op.fixed_freq:
            out[k] = 10.0 ** (op.coarse % 4) * (1.0 + 0.08861 * op.fine)
        else:
            c = 0.5 if op.coarse == 0 else float(op.coarse)
            out[k] = (
                f0
                * c
                * (1.0 + op.fine / 100.0)
                * 2.0 ** (op.detune / 1200.0)
                * 2.0 ** (patch.transpose / 12.0)
            )
    return out


def group_errors(pred: Patch, ref: Patch) -> dict[str, float]:
    """Per-group differences between two valid patches, so a user sees *what* differs.

    - ``topology_match``: 1 if ``modmatrix`` and ``outmatrix`` are equal, else 0;
    - ``algorithm_match``: 1 if both topologies are the same DX7 algorithm (1..32), else
      0; NaN if the reference topology is not one of the 32 algorithms;
    - ``feedback_error``: ``|Δfeedback| / 7``;
    - ``envelope_error``: mean ``|Δ|/99`` over the 48 elements of ``eg_rate`` and
      ``eg_level``;
    - ``freq_cents_error``: mean over operators (matched by number) of the absolute
      difference, in cents, of the operator frequencies at MIDI note 60
      (:func:`operator_frequencies`; covers coarse, fine, detune, transpose and mode);
    - ``freq_mode_mismatch``: fraction of operators whose ``fixed_freq`` flag differs;
    - ``level_error``: mean ``|Δol| / 99`` over the 6 operators.
    """
    ref_alg = ref.algorithm
    pred_alg = pred.algorithm
    f_pred, f_ref = operator_frequencies(pred), operator_frequencies(ref)
    eg_p = np.array([pred.eg_rate, pred.eg_level], dtype=np.float64)
    eg_r = np.array([ref.eg_rate, ref.eg_level], dtype=np.float64)
    return {
        "topology_match": float(
            pred.modmatrix == ref.modmatrix and pred.outmatrix == ref.outmatrix
        ),
        "algorithm_match": math.nan if ref_alg is None else float(pred_alg == ref_alg),
        "feedback_error": abs(pred.feedback - ref.feedback) / 7.0,
        "envelope_error": float(np.mean(np.abs(eg_p - eg_r)) / 99.0),
        "freq_cents_error": float(np.mean(np.abs(1200.0 * np.log2(f_pred / f_ref)))),
        "freq_mode_mismatch": float(np.mean(np.array(pred.fixed_freq) != np.array(ref.fixed_freq))),
        "level_error": float(np.mean(np.abs(np.subtract(pred.ol, ref.ol))) / 99.0),
    }
