"""The playability metric: a notes x velocities grid rendered by the metric itself."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fmbench_plugins.playability.grid import Playability, band_levels

from fmbench.contracts import Sample
from fmbench.errors import FmbenchError
from fmbench.patch.model import Patch
from fmbench.testing.patches import patch_dict


def _p(**kw) -> Patch:
    d = patch_dict(alg=1, **kw)
    return Patch.from_dict(d)


SHORT = dict(hold_s=0.3, release_s=0.1, sample_rate=16000)


def test_identical_patches_score_perfectly():
    m = Playability(**SHORT)
    ref = _p(sensitivity=[3] * 6)
    r = m.score([Sample(id="a", caption="", patch=ref, reference_patch=ref)])
    assert r.per_sample["play_spectral_error"][0] == 0.0
    assert r.per_sample["play_envelope_cos"][0] == pytest.approx(1.0)
    assert r.per_sample["play_velocity_error"][0] == 0.0
    assert r.per_sample["play_audible_agreement"][0] == 1.0
    assert {f"play_spectral_error_n{n}" for n in (36, 60, 84)} <= set(r.per_sample)


def test_velocity_response_and_per_note_breakdown():
    m = Playability(**SHORT)
    ref = _p(sensitivity=[7] * 6)  # loudness follows velocity
    flat = _p(sensitivity=[0] * 6)  # ignores velocity
    octave = _p(sensitivity=[7] * 6, transpose=12)
    r = m.score(
        [
            Sample(id="flat", caption="", patch=flat, reference_patch=ref),
            Sample(id="oct", caption="", patch=octave, reference_patch=ref),
            Sample(id="bad", caption="", reference_patch=ref, parse_error="x"),
        ]
    )
    assert r.per_sample["play_velocity_error"][0] > 3.0  # dB
    assert r.per_sample["play_velocity_error"][1] < 1.0
    assert r.per_sample["play_spectral_error"][1] > 1.0
    per_note = [r.per_sample[f"play_spectral_error_n{n}"][1] for n in (36, 60, 84)]
    assert np.mean(per_note) == pytest.approx(r.per_sample["play_spectral_error"][1])
    assert math.isnan(r.per_sample["play_spectral_error"][2])
    assert r.reasons[("play_envelope_cos", 2)].startswith("no valid patch")


def test_band_levels_find_a_tone():
    sr = 16000
    t = np.arange(sr) / sr
    levels = band_levels(np.sin(2 * np.pi * 1000 * t), sr)
    assert int(np.argmax(levels)) == 12  # the 1 kHz third-octave band (62.5 Hz is band 0)


def test_options_are_checked_and_named_in_the_identity():
    m = Playability(notes="24,48", velocities="100", **SHORT)
    assert "notes=24,48" in m.identity and "velocities=100" in m.identity
    with pytest.raises(FmbenchError, match="notes"):
        Playability(notes="a,b")
    with pytest.raises(FmbenchError, match="notes must be MIDI"):
        Playability(notes="200")
    ref = _p()
    r = m.score([Sample(id="a", caption="", patch=ref, reference_patch=ref)])
    assert math.isnan(r.per_sample["play_velocity_error"][0])  # one velocity: nothing to compare
    assert (
        "play_spectral_error_n24" in r.per_sample and "play_spectral_error_n36" not in r.per_sample
    )


def test_registered_with_worst_values():
    from fmbench.components import ComponentKind
    from fmbench.plugins import get_registry

    info = get_registry().get(ComponentKind.METRIC, "playability")
    assert all(o.worst is not None for o in info.outputs)
    assert "play_spectral_error_n60" in {o.name for o in info.outputs}
