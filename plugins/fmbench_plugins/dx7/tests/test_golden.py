"""Golden render values of the original renderer (docs/renderer.md#golden-values): int16
exact."""

from __future__ import annotations

import numpy as np
import pytest
from _dx7_specs import SYX_DIR, spec_a, spec_b, spec_c
from fmbench_plugins.dx7 import engine

from fmbench.render import RenderSettings

SETTINGS = RenderSettings()


def _stats(x: np.ndarray) -> tuple[int, float]:
    return int(np.abs(x.astype(np.int64)).max()), float(np.sqrt(np.mean(x.astype(float) ** 2)))


def test_spec_a(renderer):
    x = renderer.render_int16(spec_a(), SETTINGS)
    assert x.dtype == np.int16 and len(x) == 460_800
    peak, _ = _stats(x)
    assert peak == 2731
    assert x[:10].tolist() == [93, 186, 280, 372, 465, 557, 648, 738, 828, 917]
    assert (x[48000], x[300000], x[400000]) == (-2002, 2352, 0)


def test_spec_a_op1_gains():
    voice = engine.prepare(spec_a())
    _, gains = engine.frame_gains(voice, 100, 4800, 2400)
    g = gains[0]  # OP1
    assert g[4800] == pytest.approx(2.0, rel=1e-12)
    assert g[4801] == pytest.approx(0.1767767, rel=1e-6)
    assert g[4802] == pytest.approx(0.015625, rel=1e-12)
    assert g[7199] == pytest.approx(6.3737e-5, rel=1e-4)


def test_spec_b(renderer):
    x = renderer.render_int16(spec_b(), SETTINGS)
    peak, rms = _stats(x)
    assert peak == 11907
    assert rms == pytest.approx(1125.03, abs=0.005)
    assert x[:10].tolist() == [6726, 9765, 11437, 5143, 3321, 5080, -3147, -746, -9154, -4436]
    _, gains = engine.frame_gains(engine.prepare(spec_b()), 100, 4800, 2400)
    expected = {0: 2.0, 1: 1.978456, 2: 1.9571441, 100: 0.9582517, 4800: 0.42044821}
    for frame, value in expected.items():
        assert gains[0, frame] == pytest.approx(value, rel=1e-7), frame
    assert gains[0, 4801] == pytest.approx(0.40700686, rel=1e-7)


def test_spec_c(renderer):
    p = spec_c()
    fr = engine.frequencies(p)
    assert fr[:5] == pytest.approx([0.5, 0.251013, 1.0, 0.626084, 1.493947], abs=2e-6)
    assert fr[5] == pytest.approx(543.05, abs=1e-9)  # OP6 fixed, Hz
    x = renderer.render_int16(p, SETTINGS)
    peak, rms = _stats(x)
    assert peak == 10289
    assert rms == pytest.approx(906.52, abs=0.005)
    assert x[:10].tolist() == [434, 868, 1298, 1722, 2137, 2542, 2935, 3314, 3679, 4029]


FACTORY = [
    ("rom1a", "BRASS   1", 15622, 4122.7),
    ("rom1a", "E.PIANO 1", 13696, 3049.2),
    ("rom2a", "FLEXATONE", 16237, 596.8),
]


@pytest.mark.parametrize("bank,name,peak,rms", FACTORY)
def test_factory_voices(renderer, bank, name, peak, rms):
    syx = pytest.importorskip("fmbench.patch.syx")
    path = SYX_DIR / f"{bank}.syx"
    if not path.exists():
        pytest.skip(f"{path} not available")
    voices = syx.read_syx(path)
    (index,) = [i for i, v in enumerate(voices) if v.name_metadata().rstrip() == name.rstrip()]
    x = renderer.render_int16(voices.to_patches()[index], SETTINGS)
    got_peak, got_rms = _stats(x)
    assert got_peak == peak
    assert got_rms == pytest.approx(rms, abs=0.05)
