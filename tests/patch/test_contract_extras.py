"""Serialisation, JSON Schema, names and repair policies (docs/patch-format.md)."""

from __future__ import annotations

import copy
import json
import math

import jsonschema
import pytest
from _patch_golden import BRASS_1, PRETTY_EXAMPLE
from hypothesis import given, settings

from fmbench.patch import (
    KEY_ORDER,
    InvalidPatchError,
    Patch,
    RepairPolicy,
    clean_name,
    init_voice,
    is_invalid_name,
    patch_json_schema,
    repair,
    seed_repair,
    validate,
)
from fmbench.testing.strategies import patches, valid_patch_dicts


# -- serialisation ----------------------------------------------------------------------
def test_pretty_form_is_byte_exact_with_spec_example():
    patch = Patch.from_dict(json.loads(PRETTY_EXAMPLE))
    assert patch.to_pretty_json() == PRETTY_EXAMPLE
    assert not patch.to_pretty_json().endswith("\n")


def test_compact_form_has_canonical_keys_only():
    d = dict(reversed(list(BRASS_1.items())))
    d.update(name="BRASS   1", has_fixed_freqs=False)
    text = Patch.from_dict(d).to_json()
    assert list(json.loads(text)) == list(KEY_ORDER)
    assert " " not in text and "name" not in text


# -- JSON Schema ------------------------------------------------------------------------
SCHEMA = patch_json_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["required"] == list(KEY_ORDER) and SCHEMA["additionalProperties"] is False


def test_schema_states_both_operator_orders():
    props = SCHEMA["properties"]
    assert "OP1 FIRST" in props["modmatrix"]["description"]
    assert "OP1 FIRST" in props["outmatrix"]["description"]
    for key in ("fixed_freq", "coarse", "fine", "detune", "ol", "sensitivity"):
        assert "index 0 = OP6" in props[key]["description"], key
        assert "OP1" not in props[key]["description"].split("OP6 FIRST")[0]
    for key in ("eg_rate", "eg_level"):
        assert "column 0 = OP6" in props[key]["description"]


@settings(max_examples=100, deadline=None)
@given(valid_patch_dicts())
def test_every_valid_patch_matches_the_schema(d):
    VALIDATOR.validate(d)
    VALIDATOR.validate(json.loads(Patch.from_dict(d).to_json()))


@pytest.mark.parametrize(
    "change",
    [
        {"coarse": [32, 1, 1, 1, 0, 0]},
        {"feedback": 3.5},
        {"feedback": True},
        {"transpose": "0"},
        {"ol": [1, 2, 3]},
        {"eg_rate": [[0] * 6] * 5},
        {"algorithm": 22},
    ],
)
def test_invalid_patches_fail_the_schema(change):
    d = copy.deepcopy(BRASS_1)
    d.update(change)
    assert validate(d)
    assert not VALIDATOR.is_valid(d)


def test_metadata_only_in_the_metadata_schema():
    d = {**BRASS_1, "name": "x", "has_fixed_freqs": False}
    assert not VALIDATOR.is_valid(d)
    assert jsonschema.Draft202012Validator(patch_json_schema(metadata=True)).is_valid(d)


def test_schema_documents_but_does_not_encode_the_diagonal_rule():
    d = copy.deepcopy(BRASS_1)
    d["modmatrix"][0][0] = 1
    assert VALIDATOR.is_valid(d) and validate(d)
    assert "at most ONE diagonal" in SCHEMA["properties"]["modmatrix"]["description"]


# -- names ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("AB", "AB________"),
        ("\0\0\0", "_NULLNAME_"),
        ("A/B\\C", "ABC_______"),
        ("x\x7fy", "xy________"),
        ("abcdefghijklmn", "abcdefghij"),
        ("", "_NULLNAME_"),
        ("NULL", "_NULLNAME_"),
        ("N/A", "_NULLNAME_"),
        ("NaN", "_NULLNAME_"),
        (None, "_NULLNAME_"),
        (3, "_NULLNAME_"),
        ("Flöte", "Flöte_____"),
    ],
)
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


@pytest.mark.parametrize(("x", "bad"), [(3, True), ("a\0", True), ("a/b", True), ("ok", False)])
def test_is_invalid_name(x, bad):
    assert is_invalid_name(x) is bad


# -- repair -----------------------------------------------------------------------------
def test_init_voice_is_the_reference_default():
    v = init_voice()
    assert v.algorithm == 32 and v.ol == (99, 0, 0, 0, 0, 0) and v.operator(6).ol == 99
    assert v.eg_level[3] == (0,) * 6 and v.sensitivity == (2, 0, 0, 0, 0, 0)


def test_seed_repair_reshapes_without_clamping():
    d = copy.deepcopy(BRASS_1)
    d.update(
        coarse=[45, 1, 1],
        outmatrix=[0.7, 3, -2, 1, 1, 1, 1],
        feedback="5",
        transpose="x",
        eg_rate=[[50] * 7, 3],
    )
    del d["ol"]
    out, notes = seed_repair(d)
    assert list(out) == list(KEY_ORDER)
    assert out["coarse"] == [45, 1, 1, 1, 1, 1]  # padded from the default, not clamped
    assert out["outmatrix"] == [0, 1, 0, 1, 1, 1]
    assert out["feedback"] == 5 and out["transpose"] == 0
    assert out["ol"] == [99, 0, 0, 0, 0, 0]
    assert out["eg_rate"] == [[50] * 6, [95] * 6, [95] * 6, [95] * 6]
    assert any("ol: missing" in n for n in notes)
    with pytest.raises(InvalidPatchError, match="coarse"):
        repair(d, "seed")  # still out of range: rejected, never silently clamped


def test_seed_policy_accepts_reshaped_valid_result():
    d = copy.deepcopy(BRASS_1)
    d["fine"] = [0, 0, 0]
    patch, notes = repair(d, RepairPolicy.SEED)
    assert patch.fine == (0,) * 6 and notes


def test_clamp_repair_always_gives_a_valid_patch():
    d = copy.deepcopy(BRASS_1)
    d.update(
        coarse=[1.6, "x", math.nan, math.inf, -3, "7"],
        feedback=99,
        detune=[-8, 8, 2.5, -2.5, True, None],
    )
    d["modmatrix"][0][0] = 1
    patch, notes = repair(d, "clamp")
    assert patch.coarse == (2, 1, 1, 31, 0, 7)
    assert patch.detune == (-7, 7, 3, -3, 1, 0)
    assert patch.feedback == 7
    assert sum(patch.modmatrix[i][i] for i in range(6)) == 1
    assert patch.modmatrix[0][0] == 1 and patch.modmatrix[5][5] == 0
    assert any("diagonal" in n for n in notes) and any("coarse[3]" in n for n in notes)


@settings(max_examples=100, deadline=None)
@given(patches())
def test_repair_leaves_valid_patches_alone(patch):
    for policy in RepairPolicy:
        assert repair(patch.to_dict(), policy) == (patch, [])


def test_repair_rejects_non_objects():
    with pytest.raises(InvalidPatchError):
        repair([1, 2, 3], "clamp")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        repair(BRASS_1, "lenient")
