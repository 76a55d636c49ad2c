"""The golden specs A, B, C (docs/renderer.md#golden-values) and the shared DX7 banks' path."""

from __future__ import annotations

from pathlib import Path

from fmbench.patch.model import Patch
from fmbench.testing import patches as golden

SYX_DIR = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "dx7" / "syx"


def spec_a() -> Patch:
    """Spec A: algorithm 32, only OP1 (slot 5) at ol 99, instant envelopes."""
    return Patch.from_dict(golden.spec_a())


def spec_b() -> Patch:
    """Spec B: algorithm 1, feedback 7, slow envelopes."""
    return Patch.from_dict(golden.spec_b())


def spec_c() -> Patch:
    """Spec C: algorithm 5, a fixed OP6, detune, transpose, velocity sensitivities."""
    return Patch.from_dict(golden.spec_c())
