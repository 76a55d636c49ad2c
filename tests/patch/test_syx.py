"""DX7 SysEx reading/writing against the eight real banks and hypothesis."""

from __future__ import annotations

import dataclasses
import random
import warnings
from pathlib import Path

import pytest
from _patch_golden import BRASS_1
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmbench.errors import FmbenchError
from fmbench.patch.algorithms import algorithm
from fmbench.patch.model import Patch
from fmbench.patch.syx import (
    INIT_VOICE,
    PARAM_MAX,
    PARAM_NAMES,
    Clamp,
    SyxChecksumError,
    SyxError,
    SyxRangeError,
    SyxTopologyError,
    TopologyFallbackWarning,
    Voice,
    VoiceOperator,
    checksum,
    read_syx,
    write_syx,
    write_vced,
)
from fmbench.patch.validate import validate
from fmbench.testing.strategies import valid_patch_dicts

SYX = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "dx7" / "syx"
BANKS = [
    "rom1a",
    "rom1b",
    "rom2a",
    "rom2b",
    "Dexed_01",
    "SynprezFM_01",
    "VRC-105-A",
    "VRC-110-A",
]
IN_RANGE = ["rom1a", "rom1b", "rom2a", "rom2b", "SynprezFM_01", "VRC-105-A"]
FIXED_COUNTS = {
    "rom1a": 4,
    "rom1b": 1,
    "rom2a": 1,
    "rom2b": 2,
    "Dexed_01": 9,
    "SynprezFM_01": 13,
    "VRC-105-A": 27,
    "VRC-110-A": 15,
}
# 0-based indices of the voices the data README lists as out of range (it numbers from 1)
CLAMPED = {
    "Dexed_01": {8, 15, 18, 21},
    "VRC-110-A": {2, 10, 15, 23, 25, 27, 28, 29, 30, 31},
}

pytestmark = pytest.mark.skipif(not SYX.is_dir(), reason="../shared/data/dx7/syx not available")


def raw(bank: str) -> bytes:
    return (SYX / f"{bank}.syx").read_bytes()


_CACHE: dict[str, object] = {}


def bank(name: str):
    if name not in _CACHE:
        _CACHE[name] = read_syx(SYX / f"{name}.syx")
    return _CACHE[name]


# -- the eight banks ------------------------------------------------------------------------
@pytest.mark.parametrize("name", BANKS)
def test_every_voice_converts_to_a_valid_patch(name):
    b = bank(name)
    assert len(b) == 32 and b.formats == ("bulk",) and b.channel == 0
    assert b.checksum_errors == ()
    patches = b.to_patches()
    for p in patches:
        assert validate(p.to_dict()) == []
        assert p.algorithm is not None
    assert sum(p.has_fixed_freqs for p in patches) == FIXED_COUNTS[name]


@pytest.mark.parametrize("name", BANKS)
def test_clamped_voices_are_exactly_the_documented_ones(name):
    b = bank(name)
    assert {c.voice for c in b.clamps} == CLAMPED.get(name, set())


@pytest.mark.parametrize("name", IN_RANGE)
def test_in_range_banks_round_trip_byte_exact(name):
    data = raw(name)
    assert write_syx(bank(name).voices) == data
    assert bank(name).to_syx() == data


@pytest.mark.parametrize("name", BANKS)
def test_voice_from_its_own_patch_with_base_is_identical(name):
    for v in bank(name):
        assert Voice.from_patch(v.to_patch(), base=v) == v
        assert Voice.from_vced(v.to_vced()) == v


def test_golden_brass_1():
    v = bank("rom1a")[0]
    assert v.name == "BRASS   1 " and v.name_metadata() == "BRASS   1" and v.algorithm == 22
    assert v.to_patch().to_dict() == BRASS_1


def test_golden_e_piano_1():
    v = bank("rom1a")[10]
    assert v.name_metadata() == "E.PIANO 1" and v.algorithm == 5
    p = v.to_patch()
    assert p.to_dict() == {
        "modmatrix": [list(r) for r in algorithm(5).modmatrix],
        "outmatrix": [1, 0, 1, 0, 1, 0],
        "feedback": 6,
        "fixed_freq": [0] * 6,
        "coarse": [1, 1, 1, 1, 14, 1],
        "fine": [0] * 6,
        "detune": [7, -7, 0, 0, 0, 3],
        "transpose": 0,
        "ol": [79, 99, 89, 99, 58, 99],
        "eg_rate": [
            [95, 95, 95, 95, 95, 96],
            [29, 20, 29, 20, 50, 25],
            [20, 20, 20, 20, 35, 25],
            [50, 50, 50, 50, 78, 67],
        ],
        "eg_level": [
            [99, 99, 99, 99, 99, 99],
            [95, 95, 95, 95, 75, 75],
            [0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0],
        ],
        "sensitivity": [6, 0, 6, 2, 7, 2],
    }
    assert p.operator(2).coarse == 14  # the famous ratio-14 OP2 lives in slot 4
    # dropped parameters are kept in the Voice
    assert v.operator(1).break_point == v.operators[5].break_point
    assert len(v.to_vced()) == 155


def test_negative_detune_and_transpose_stay_negative():
    p = bank("rom1a")[10].to_patch()
    assert min(p.detune) == -7
    brass3 = bank("rom1a")[2]
    assert brass3.transpose == 12 and brass3.to_patch().transpose == -12


def test_fixed_mode_coarse_mod_4_and_detune_zero():
    for name in BANKS:
        for v in bank(name):
            p = v.to_patch()
            for s, op in enumerate(v.operators):
                if op.osc_mode:
                    assert p.coarse[s] == op.coarse % 4 and p.detune[s] == 0
                else:
                    assert p.coarse[s] == op.coarse and p.detune[s] == op.detune - 7


# -- clamping --------------------------------------------------------------------------------
def test_clamp_dexed_voice_9_op2_fine():
    b = bank("Dexed_01")
    v = b[8]
    assert v.name == "SAW EM UP "
    assert b.clamps_for(8) == [Clamp(8, "OP2 fine", 127, 99)]
    assert v.operator(2).fine == 99 and v.to_patch().operator(2).fine == 99


def test_clamp_vrc110_voice_24_op4_detune():
    b = bank("VRC-110-A")
    assert b[23].name.startswith("Clavi 1")
    assert b.clamps_for(23) == [Clamp(23, "OP4 detune", 15, 14)]
    assert b[23].to_patch().operator(4).detune == 7


def test_byte_111_is_45_gives_feedback_5():
    data = raw("Dexed_01")
    assert data[6 + 128 * 18 + 111] == 45
    b = bank("Dexed_01")
    assert b[18].name.startswith("TRW")
    assert b[18].feedback == 5 and b[18].to_patch().feedback == 5 and b[18].osc_key_sync == 1
    assert b.clamps_for(18) == [Clamp(18, "osc_key_sync", 5, 1)]


def test_other_documented_clamps():
    b = bank("VRC-110-A")
    assert b[15].lfo_wave == 5 and Clamp(15, "lfo_wave", 7, 5) in b.clamps
    assert b[27].name == "Bello 3~ \\"  # 0x7F clamped to 126
    assert Clamp(31, "OP3 left_depth", 127, 99) in b.clamps
    assert Clamp(21, "OP3 kvs", 31, 7) in bank("Dexed_01").clamps


def test_reject_names_voice_and_parameter():
    with pytest.raises(SyxRangeError) as info:
        read_syx(SYX / "Dexed_01.syx", out_of_range="reject")
    msg = str(info.value)
    assert "voice 9" in msg and "SAW EM UP" in msg and "OP2 fine = 127" in msg
    assert len(info.value.clamps) == 4
    assert isinstance(info.value, FmbenchError)
    assert len(read_syx(SYX / "rom1a.syx", out_of_range="reject")) == 32


def test_unused_curve_bits_are_reported():
    data = bytearray(raw("rom1a"))
    data[6 + 11] |= 0x40  # OP6 curves byte of voice 1
    data[-2] = checksum(data[6:-2])
    b = read_syx(bytes(data))
    (c,) = b.clamps
    assert c.voice == 0 and c.parameter == "OP6 curves byte (unused bits)"
    assert b[0] == bank("rom1a")[0]


def test_every_out_of_range_byte_is_clamped_and_reported():
    data = bytearray(raw("rom1a"))
    voice = bytearray(b"\x7f" * 128)
    data[6 : 6 + 128] = voice
    data[-2] = checksum(data[6:-2])
    b = read_syx(bytes(data))
    v = b[0]
    assert v.to_vced() == PARAM_MAX
    assert validate(v.to_patch().to_dict()) == []
    assert all(c.voice == 0 for c in b.clamps)
    names = {c.parameter for c in b.clamps}
    assert "OP1 fine" in names and "lfo_wave" in names and "algorithm" in names


# -- other formats and file shapes -----------------------------------------------------------
def test_headerless_cart():
    b = read_syx(raw("rom1a")[6:-2])
    assert b.voices == bank("rom1a").voices and b.formats == ("cart",) and b.channel is None


def test_single_voice_vced_dump_round_trip():
    v = bank("rom2b")[7]
    msg = write_vced(v, channel=3)
    assert len(msg) == 163 and msg[:6] == bytes([0xF0, 0x43, 0x03, 0x00, 0x01, 0x1B])
    assert (sum(msg[6:161]) + msg[161]) % 128 == 0
    b = read_syx(msg)
    assert b.voices == (v,) and b.formats == ("vced",) and b.channel == 3


def test_vced_out_of_range_is_clamped():
    v = bytearray(INIT_VOICE.to_vced())
    v[PARAM_NAMES.index("OP1 coarse")] = 40
    msg = bytes([0xF0, 0x43, 0, 0, 1, 0x1B]) + bytes(v) + bytes([checksum(v), 0xF7])
    b = read_syx(msg)
    assert b.clamps == (Clamp(0, "OP1 coarse", 40, 31),) and b[0].operator(1).coarse == 31
    with pytest.raises(SyxRangeError, match="OP1 coarse"):
        read_syx(msg, out_of_range="reject")


def test_concatenated_messages_and_skipped_non_voice_messages():
    other = bytes([0xF0, 0x7E, 0x00, 0x06, 0x01, 0xF7])  # universal identity request
    data = raw("rom1a") + other + write_vced(bank("rom1b")[0]) + raw("rom2a")
    b = read_syx(data)
    assert len(b) == 65 and b.formats == ("bulk", "vced", "bulk")
    assert b.voices[:32] == bank("rom1a").voices and b[32] == bank("rom1b")[0]
    assert b.voices[33:] == bank("rom2a").voices
    assert len(b.notes) == 1 and "F0 7E" in b.notes[0]
    # clamp indices count across messages
    b2 = read_syx(raw("rom1a") + raw("Dexed_01"))
    assert {c.voice for c in b2.clamps} == {32 + i for i in CLAMPED["Dexed_01"]}


def test_checksum_policies():
    data = bytearray(raw("rom1a"))
    data[-2] ^= 0x01
    b = read_syx(bytes(data))
    (mm,) = b.checksum_errors
    assert mm.voices == tuple(range(32)) and mm.found == data[-2] and "checksum" in str(mm)
    assert b.voices == bank("rom1a").voices
    assert read_syx(bytes(data), checksum="ignore").checksum_errors == ()
    with pytest.raises(SyxChecksumError, match="checksum mismatch"):
        read_syx(bytes(data), checksum="reject")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: b"", "empty"),
        (lambda d: d[:100], "no end byte"),
        (lambda d: d[:-1], "no end byte"),
        (lambda d: d[:4000] + b"\xf7", "4001 bytes"),
        (lambda d: d[:-1] + b"\x00\xf7", "4105 bytes"),
        (lambda d: d[:200] + b"\x80" + d[201:], "below 0x80"),
        (lambda d: d[:4] + b"\x10" + d[5:], "declares 2048"),
        (lambda d: d + b"\n", "expected a SysEx message"),
        (lambda d: d[1:], "not a SysEx file"),
        (lambda d: b"\x00" * 6 + d[6:-2], "not a SysEx file"),
        (lambda d: b"\x80" + d[7:-2], "headerless cart has byte 0x80"),
        (lambda d: bytes([0xF0, 0x41, 0x10, 0x16, 0x12, 0xF7]), "no DX7 voice dump"),
        (lambda d: bytes([0xF0, 0xF7]), "no DX7 voice dump"),
    ],
)
def test_corrupted_files_raise_clear_errors(mutate, message):
    with pytest.raises(SyxError, match=message):
        read_syx(mutate(raw("rom1a")))


def test_bad_arguments():
    with pytest.raises(SyxError, match="cannot read"):
        read_syx(SYX / "missing.syx")
    with pytest.raises(SyxError, match="out_of_range"):
        read_syx(raw("rom1a"), out_of_range="mask")  # type: ignore[arg-type]
    with pytest.raises(SyxError, match="checksum"):
        read_syx(raw("rom1a"), checksum="nope")  # type: ignore[arg-type]
    with pytest.raises(SyxError, match="bytes or a path"):
        read_syx(123)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=5000))
def test_random_bytes_raise_only_syx_error(data):
    try:
        b = read_syx(data)
    except SyxError:
        return
    for v in b:
        assert validate(v.to_patch().to_dict()) == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4103), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutated_bank_raises_only_syx_error(edits):
    data = bytearray(raw("VRC-110-A"))
    for pos, value in edits:
        data[pos] = value
    try:
        b = read_syx(bytes(data))
    except SyxError:
        return
    assert len(b) == 32
    for v in b:
        assert validate(v.to_patch().to_dict()) == []


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**64))
def test_any_seven_bit_data_reads_and_clamping_is_a_fixed_point(seed):
    rng = random.Random(seed)
    body = bytes(b & 0x7F for b in rng.randbytes(4096))
    vced = bytes(b & 0x7F for b in rng.randbytes(155))
    bulk = bytes([0xF0, 0x43, 0, 9, 0x20, 0]) + body + bytes([checksum(body), 0xF7])
    single = bytes([0xF0, 0x43, 0, 0, 1, 0x1B]) + vced + bytes([checksum(vced), 0xF7])
    b = read_syx(bulk + single)
    assert len(b) == 33 and b.checksum_errors == ()
    for v in b:
        assert validate(v.to_patch().to_dict()) == []
    again = read_syx(write_syx(b.voices[:32]) + write_vced(b[32]))
    assert again.voices == b.voices and again.clamps == ()
    assert read_syx(body).voices == b.voices[:32]  # the same data as a headerless cart


def test_skipped_message_notes_are_capped():
    data = bytes([0xF0, 0x7E, 0xF7]) * 1000 + raw("rom1a")
    b = read_syx(data)
    assert len(b) == 32 and len(b.notes) == 21 and "980 more" in b.notes[-1]


# -- writing ---------------------------------------------------------------------------------
def test_write_pads_with_init_voices_and_checks_count():
    voices = bank("rom1a").voices[:3]
    data = write_syx(voices, channel=15)
    assert len(data) == 4104 and data[:6] == bytes([0xF0, 0x43, 0x0F, 0x09, 0x20, 0x00])
    assert data[-1] == 0xF7 and (sum(data[6:4102]) + data[4102]) % 128 == 0
    b = read_syx(data)
    assert b.voices[:3] == voices and all(v == INIT_VOICE for v in b.voices[3:])
    assert b.channel == 15
    with pytest.raises(SyxError, match="at most 32"):
        write_syx(bank("rom1a").voices + voices)
    with pytest.raises(SyxError, match="channel"):
        write_syx(voices, channel=16)
    with pytest.raises(SyxError, match="not a Voice"):
        write_syx([voices[0].to_patch()])  # type: ignore[list-item]


def test_init_voice_matches_spec_1_7():
    v = INIT_VOICE
    assert v.algorithm == 32 and v.name == "INITVOICE " and v.feedback == 0
    assert v.osc_key_sync == 1 and v.lfo_speed == 35 and v.lfo_key_sync == 1
    assert v.pitch_eg_rate == (99,) * 4 and v.pitch_eg_level == (50,) * 4
    assert v.transpose == 24
    for n in range(1, 7):
        op = v.operator(n)
        assert op.eg_rate == (95,) * 4 and op.eg_level == (99, 99, 99, 0)
        assert op.output_level == (99 if n == 1 else 0) and op.kvs == (2 if n == 1 else 0)
        assert (op.coarse, op.fine, op.detune, op.break_point) == (1, 0, 7, 39)


def test_voice_validates_its_fields():
    with pytest.raises(SyxError, match="detune"):
        VoiceOperator(detune=15)
    with pytest.raises(SyxError, match="eg_rate"):
        VoiceOperator(eg_rate=(1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(SyxError, match="algorithm"):
        INIT_VOICE.replace(algorithm=0)
    with pytest.raises(SyxError, match="10 characters"):
        INIT_VOICE.replace(name="short")
    with pytest.raises(SyxError, match="lfo_wave"):
        INIT_VOICE.replace(lfo_wave=6)
    with pytest.raises(SyxError, match="name"):
        INIT_VOICE.replace(name="ABCDEFGHI\x7f")


# -- patch → voice ---------------------------------------------------------------------------
def test_from_patch_fills_dropped_fields_from_init_voice():
    p = bank("rom1a")[0].to_patch()
    v = Voice.from_patch(p, name="Brassy")
    assert v.name == "Brassy    " and v.algorithm == 22 and v.to_patch() == p
    assert v.lfo_speed == 35 and v.pitch_eg_level == (50,) * 4
    assert all(op.break_point == 39 and op.ams == 0 for op in v.operators)
    assert Voice.from_patch(p).name == "INITVOICE "
    assert Voice.from_patch(p, name="A very long name").name == "A very lon"
    with pytest.raises(SyxError, match="cannot store"):
        Voice.from_patch(p, name="Brüssel")


def _non_dx7_patch() -> Patch:
    d = bank("rom1a")[0].to_patch().to_dict()
    d["outmatrix"] = [0, 0, 0, 0, 0, 0]
    return Patch.from_dict(d)


def test_unknown_topology_is_an_error_or_a_reported_fallback():
    p = _non_dx7_patch()
    with pytest.raises(SyxTopologyError, match="none of the 32 DX7 algorithms"):
        Voice.from_patch(p)
    report: list[str] = []
    v = Voice.from_patch(p, fallback_algorithm=32, report=report)
    assert v.algorithm == 32 and len(report) == 1 and "algorithm 32" in report[0]
    with pytest.warns(TopologyFallbackWarning):
        Voice.from_patch(p, fallback_algorithm=1)
    with pytest.raises(ValueError):
        Voice.from_patch(p, fallback_algorithm=33)


def test_algorithms_4_and_6_round_trip():
    for number in (4, 6):
        p = INIT_VOICE.replace(algorithm=number).to_patch()
        fb_op = 4 if number == 4 else 5
        assert p.modmatrix[fb_op - 1][fb_op - 1] == 1
        assert sum(p.modmatrix[i][i] for i in range(6)) == 1
        assert Voice.from_patch(p).algorithm == number


def _roundtrip(patch: Patch) -> Patch:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        voice = Voice.from_patch(patch, name="hypothesis")
    (back,) = read_syx(write_syx([voice])).voices[:1]
    vced = read_syx(write_vced(voice))[0]
    assert vced == back == voice
    return back.to_patch()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_patch_dicts(syx_exact=True))
def test_patch_syx_patch_round_trip(d):
    patch = Patch.from_dict(d)
    assert _roundtrip(patch) == patch


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_patch_dicts(algorithms_only=True, fixed=True))
def test_fixed_mode_losses_are_exactly_the_documented_ones(d):
    patch = Patch.from_dict(d)
    expected = patch.to_dict()
    for s in range(6):
        if expected["fixed_freq"][s]:
            expected["coarse"][s] %= 4
            expected["detune"][s] = 0
    assert _roundtrip(patch).to_dict() == expected


def test_voice_is_hashable_and_replace_works():
    v = bank("rom1a")[0]
    assert hash(v) == hash(dataclasses.replace(v))
    assert v.replace(transpose=0).transpose_semitones == -24
