"""fmbench patch → Dexed voice: parameters land on the right operators, the rest neutral."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmbench.patch.algorithms import algorithm
from fmbench.patch.model import Patch
from fmbench.patch.syx import Voice, read_syx

dexed = pytest.importorskip("dexed")
# fmbench-dexed is a separate distribution: pip install -e plugins/fmbench-dexed
pytest.importorskip("fmbench_dexed")
from fmbench_dexed.convert import (  # noqa: E402
    NEUTRAL_BASE,
    UnsupportedTopologyError,
    patch_to_dexed_voice,
    patch_to_vced,
    patch_to_voice,
)

SYX = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "dx7" / "syx"


def distinct_patch(alg: int = 5, feedback: int = 6, transpose: int = -5) -> Patch:
    """A patch whose per-operator values all differ, so a misplaced value shows."""
    a = algorithm(alg)
    # slot s belongs to OP(6 - s)
    return Patch.from_dict(
        {
            "modmatrix": [list(r) for r in a.modmatrix],
            "outmatrix": list(a.outmatrix),
            "feedback": feedback,
            "fixed_freq": [1, 0, 0, 0, 0, 0],  # OP6 fixed
            "coarse": [2, 7, 3, 4, 5, 0],  # OP1 = 0 (ratio 0.5)
            "fine": [10, 20, 30, 40, 50, 60],
            "detune": [0, -3, -1, 1, 3, 7],
            "transpose": transpose,
            "ol": [61, 62, 63, 64, 65, 66],
            "eg_rate": [[10 + s for s in range(6)], [20 + s for s in range(6)],
                        [30 + s for s in range(6)], [40 + s for s in range(6)]],
            "eg_level": [[50 + s for s in range(6)], [60 + s for s in range(6)],
                         [70 + s for s in range(6)], [80 + s for s in range(6)]],
            "sensitivity": [1, 2, 3, 4, 5, 6],
        }
    )  # fmt: skip


def test_values_are_placed_by_operator_number():
    patch = distinct_patch()
    voice = patch_to_dexed_voice(patch)  # decoded by dexed-py itself: op[0] is OP1
    for number in range(1, 7):
        ours = patch.operator(number)
        theirs = voice.op[number - 1]
        assert theirs.output_level == ours.ol
        assert theirs.frequency_coarse == ours.coarse
        assert theirs.frequency_fine == ours.fine
        assert theirs.frequency_mode == ours.fixed_freq
        assert theirs.detune == ours.detune + 7
        assert theirs.velocity_sensitivity == ours.sensitivity
        assert theirs.envelope.rates == list(ours.eg_rate)
        assert theirs.envelope.levels == list(ours.eg_level)
    assert voice.op[0].output_level == 66 and voice.op[5].output_level == 61  # OP1, OP6
    assert voice.op[5].frequency_mode == 1 and voice.op[0].frequency_coarse == 0


def test_globals_algorithm_feedback_transpose():
    for alg, fb, tr in [(1, 0, 0), (5, 6, -5), (22, 7, 24), (32, 3, -24)]:
        voice = patch_to_dexed_voice(distinct_patch(alg, fb, tr))
        assert voice.algorithm == alg - 1  # dexed counts 0..31
        assert voice.feedback == fb
        assert voice.transpose == tr + 24


def test_dropped_fields_are_neutral():
    voice = patch_to_dexed_voice(distinct_patch())
    assert (voice.lfo.speed, voice.lfo.delay) == (0, 0)
    assert (voice.lfo.pitch_mod_depth, voice.lfo.amp_mod_depth) == (0, 0)
    assert voice.pitch_mod_sensitivity == 0
    assert voice.pitch_envelope.rates == [99, 99, 99, 99]
    assert voice.pitch_envelope.levels == [50, 50, 50, 50]
    assert voice.osc_key_sync is True
    for op in voice.op:
        assert (op.left_depth, op.right_depth, op.rate_scaling, op.amp_mod_sensitivity) == (
            0,
            0,
            0,
            0,
        )
        assert op.breakpoint == 39
    vced = patch_to_vced(distinct_patch())
    assert len(vced) == 156 and vced[155] == 0x3F  # all operators on


def test_bank_voices_round_trip_through_dexed():
    """Every kept value survives patch → VCED → dexed-py → VCED → patch, on real banks."""
    for name in ("rom1a.syx", "VRC-105-A.syx"):  # the latter has 27 fixed operators
        path = SYX / name
        if not path.exists():
            pytest.skip(f"{path} not available")
        for patch in read_syx(path).to_patches():
            again = dexed.Patch.from_sysex(patch_to_vced(patch)).to_sysex()
            assert Voice.from_vced(list(again[:155])).to_patch() == patch


def test_golden_brass1_voice():
    path = SYX / "rom1a.syx"
    if not path.exists():
        pytest.skip(f"{path} not available")
    voice = patch_to_voice(read_syx(path).to_patches()[0])
    assert voice.algorithm == 22 and voice.feedback == 7
    assert voice.operator(1).output_level == 98 and voice.operator(6).output_level == 82
    assert voice.lfo_speed == 0 and voice.pitch_eg_level == NEUTRAL_BASE.pitch_eg_level


def test_non_dx7_topology_is_a_clear_error():
    data = distinct_patch(1).to_dict()
    data["modmatrix"][0][5] = 1  # add OP6 -> OP1: no DX7 algorithm has it with these edges
    patch = Patch.from_dict(data)
    assert patch.algorithm is None
    with pytest.raises(UnsupportedTopologyError, match="32 DX7 algorithms") as err:
        patch_to_vced(patch)
    assert "6->1" in str(err.value) and "'dx7' renderer" in str(err.value)
