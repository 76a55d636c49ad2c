"""The golden specs A, B, C of spec §2.11 and the path of the shared DX7 banks."""

from __future__ import annotations

from pathlib import Path

from fmbench.patch.algorithms import algorithm
from fmbench.patch.model import Patch

SYX_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "dx7" / "syx"


def _base(alg: int) -> dict:
    a = algorithm(alg)
    return {
        "modmatrix": [list(r) for r in a.modmatrix],
        "outmatrix": list(a.outmatrix),
        "feedback": 0,
        "fixed_freq": [0] * 6,
        "coarse": [1] * 6,
        "fine": [0] * 6,
        "detune": [0] * 6,
        "transpose": 0,
        "ol": [0] * 6,
        "eg_rate": [[99] * 6 for _ in range(4)],
        "eg_level": [[99] * 6, [99] * 6, [99] * 6, [0] * 6],
        "sensitivity": [0] * 6,
    }


def spec_a() -> Patch:
    """Spec A: algorithm 32, only OP1 (slot 5) at ol 99, instant envelopes."""
    d = _base(32)
    d["ol"] = [0, 0, 0, 0, 0, 99]
    return Patch.from_dict(d)


def spec_b() -> Patch:
    """Spec B: algorithm 1, feedback 7, slow envelopes."""
    d = _base(1)
    d.update(
        feedback=7,
        ol=[99, 80, 70, 90, 99, 99],
        eg_rate=[[99] * 6, [50] * 6, [30] * 6, [60] * 6],
        eg_level=[[99] * 6, [90] * 6, [80] * 6, [0] * 6],
    )
    return Patch.from_dict(d)


def spec_c() -> Patch:
    """Spec C: algorithm 5, a fixed OP6, detune, transpose, velocity sensitivities."""
    d = _base(5)
    d.update(
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
    return Patch.from_dict(d)
