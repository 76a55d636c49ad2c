"""Shared DX7 patch fixtures for tests: a neutral valid patch and the golden specs
(docs/renderer.md#golden-values).

Usage::

    from fmbench.testing.patches import patch_dict, spec_b

    d = patch_dict(1, feedback=7)          # algorithm 1, everything else neutral
    p = Patch.from_dict(spec_b())          # golden spec B (= the pretty-form example voice)

Every function returns a *fresh* dict (nested lists included), so tests may mutate it.
The init voice of the SysEx writer lives in
:func:`fmbench.patch.repair.init_voice`, not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fmbench.patch.algorithms import algorithm
from fmbench.patch.model import KEY_ORDER, Patch

__all__ = ["patch_dict", "spec_a", "spec_b", "spec_c", "unchecked_patch"]


def patch_dict(alg: int = 32, **overrides: Any) -> dict[str, Any]:
    """A neutral, valid patch dict on algorithm ``alg``, with ``overrides`` replacing keys.

    Neutral: the algorithm's matrices, feedback 0, no fixed frequencies, ratio 1 (coarse 1,
    fine 0), no detune or transpose, every operator at output level 99, instant envelopes
    (all rates 99, levels ``[99, 99, 99, 0]``) and no velocity sensitivity. An override for
    a key outside the contract is a :class:`KeyError` (a typo, not a test of extra keys).
    """
    unknown = set(overrides) - set(KEY_ORDER)
    if unknown:
        raise KeyError(f"not patch keys: {sorted(unknown)}")
    a = algorithm(alg)
    d: dict[str, Any] = {
        "modmatrix": [list(r) for r in a.modmatrix],
        "outmatrix": list(a.outmatrix),
        "feedback": 0,
        "fixed_freq": [0] * 6,
        "coarse": [1] * 6,
        "fine": [0] * 6,
        "detune": [0] * 6,
        "transpose": 0,
        "ol": [99] * 6,
        "eg_rate": [[99] * 6 for _ in range(4)],
        "eg_level": [[99] * 6, [99] * 6, [99] * 6, [0] * 6],
        "sensitivity": [0] * 6,
    }
    d.update(overrides)
    return d


def spec_a() -> dict[str, Any]:
    """Golden spec A: algorithm 32, only OP1 (slot 5) at ol 99, instant envelopes."""
    return patch_dict(32, ol=[0, 0, 0, 0, 0, 99])


def spec_b() -> dict[str, Any]:
    """Golden spec B, which is also the pretty-form example voice: algorithm 1,
    feedback 7, slow envelopes."""
    return patch_dict(
        1,
        feedback=7,
        ol=[99, 80, 70, 90, 99, 99],
        eg_rate=[[99] * 6, [50] * 6, [30] * 6, [60] * 6],
        eg_level=[[99] * 6, [90] * 6, [80] * 6, [0] * 6],
    )


def spec_c() -> dict[str, Any]:
    """Golden spec C: algorithm 5, a fixed OP6, detune, transpose, sensitivities."""
    return patch_dict(
        5,
        feedback=3,
        fixed_freq=[1, 0, 0, 0, 0, 0],
        coarse=[2, 3, 1, 2, 0, 1],
        fine=[50, 0, 25, 0, 0, 0],
        detune=[0, -7, 3, 0, 7, 0],
        transpose=-12,
        ol=[70, 85, 90, 99, 75, 99],
        eg_rate=[
            [80, 90, 70, 99, 60, 95],
            [40, 50, 60, 70, 30, 45],
            [20, 30, 40, 50, 25, 35],
            [50, 60, 70, 80, 40, 55],
        ],
        eg_level=[
            [99, 95, 90, 99, 85, 99],
            [70, 80, 75, 90, 60, 88],
            [0, 50, 40, 80, 30, 70],
            [0, 0, 0, 0, 0, 0],
        ],
        sensitivity=[0, 1, 2, 3, 7, 0],
    )


def unchecked_patch(d: Mapping[str, Any]) -> Patch:
    """A :class:`Patch` built straight from a known-good dict, without the validator.

    For tests of code that must not depend on :func:`fmbench.patch.validate.validate`.
    """
    vals = {}
    for k in KEY_ORDER:
        v = d[k]
        if isinstance(v, list):
            v = tuple(tuple(r) if isinstance(r, list) else r for r in v)
        vals[k] = v
    return Patch(**vals)
