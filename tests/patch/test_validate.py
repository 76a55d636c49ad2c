"""validate() in its three modes: every validation behaviour of the original validator plus
bad input."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from _patch_golden import BRASS_1
from hypothesis import given, settings
from hypothesis import strategies as st

from fmbench.patch import InvalidPatchError, Patch, Problem, discrete_problems, validate
from fmbench.patch.validate import MAX_PROBLEMS
from fmbench.testing.strategies import valid_patch_dicts

MODES = ("strict", "seed", "discrete")


def voice(**changes):
    d = copy.deepcopy(BRASS_1)
    d.update(changes)
    return d


def paths(problems: list[Problem]) -> set[str]:
    return {p.path for p in problems}


# -- validation behaviours ------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_factory_voice_passes(mode):
    assert validate(BRASS_1, mode=mode) == []


@pytest.mark.parametrize("mode", MODES)
def test_all_zero_outmatrix_and_zero_diagonals_pass(mode):
    d = voice(outmatrix=[0] * 6)
    d["modmatrix"] = [[0] * 6 for _ in range(6)]
    assert validate(d, mode=mode) == []


@pytest.mark.parametrize("mode", MODES)
def test_two_diagonals_fail(mode):
    d = voice()
    d["modmatrix"][0][0] = 1  # BRASS 1 already has feedback on OP6
    problems = validate(d, mode=mode)
    assert problems and all(p.path == "modmatrix" for p in problems)


BOUNDARIES = [
    ("coarse", 31, 32),
    ("detune", -7, -8),
    ("detune", 7, 8),
    ("fine", 99, 100),
    ("ol", 0, -1),
    ("sensitivity", 7, 8),
    ("fixed_freq", 1, 2),
    ("outmatrix", 0, -1),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("key", "ok", "bad"), BOUNDARIES)
def test_per_operator_range_boundaries(mode, key, ok, bad):
    row = list(BRASS_1[key])
    row[3] = ok
    assert validate(voice(**{key: row}), mode=mode) == []
    row[3] = bad
    problems = validate(voice(**{key: row}), mode=mode)
    assert f"{key}[3]" in paths(problems)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("key", "ok", "bad"), [("transpose", 24, 25), ("transpose", -24, -25), ("feedback", 0, -1)]
)
def test_scalar_range_boundaries(mode, key, ok, bad):
    assert validate(voice(**{key: ok}), mode=mode) == []
    assert paths(validate(voice(**{key: bad}), mode=mode)) == {key}


@pytest.mark.parametrize("mode", MODES)
def test_matrix_value_two_fails_with_indexed_path(mode):
    d = voice()
    d["modmatrix"][2][4] = 2
    assert "modmatrix[2][4]" in paths(validate(d, mode=mode))
    d = voice()
    d["eg_rate"][2][5] = 100
    (problem,) = validate(d, mode=mode)
    assert problem.path == "eg_rate[2][5]" and problem.value == 100
    assert problem.allowed == "0..99"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [5, 7])
def test_wrong_lengths_fail(mode, n):
    assert "coarse" in paths(validate(voice(coarse=[1] * n), mode=mode))


@pytest.mark.parametrize("mode", MODES)
def test_five_eg_rows_fail(mode):
    d = voice()
    d["eg_level"] = d["eg_level"] + [[0] * 6]
    assert "eg_level" in paths(validate(d, mode=mode))


def test_three_eg_rows_and_five_modmatrix_rows_are_reference_indexerrors():
    d = voice()
    d["eg_rate"] = d["eg_rate"][:3]
    problems = validate(d, mode="seed")
    assert any(p.path == "eg_rate" and "IndexError" in p.message for p in problems)
    d = voice()
    d["modmatrix"] = d["modmatrix"][:5]
    problems = validate(d, mode="seed")
    assert any(p.path == "modmatrix" and "IndexError" in p.message for p in problems)
    assert validate(d) and validate(d, mode="discrete")


def test_fractional_floats_pass_seed_but_fail_discrete_and_strict():
    for d in (voice(ol=[82, 98, 0.5, 99, 86, 98]), voice(fine=[50.5] * 6)):
        assert validate(d, mode="seed") == []
        assert discrete_problems(d)
        assert validate(d, mode="discrete")
        assert validate(d)


def test_integer_valued_floats_pass_everywhere():
    d = voice(coarse=[3.0, 1, 1, 1, 0, 0], transpose=0.0)
    assert all(validate(d, mode=m) == [] for m in MODES)
    assert Patch.from_dict(d).coarse[0] == 3 and type(Patch.from_dict(d).coarse[0]) is int


def test_float_3_5_message():
    (p,) = validate(voice(coarse=[3.5, 1, 1, 1, 0, 0]))
    assert p.path == "coarse[0]" and "integer" in p.message and p.value == 3.5


def test_true_passes_seed_and_discrete_as_one_but_not_strict():
    d = voice(outmatrix=[True, 0, 1, 1, 1, 0])
    assert validate(d, mode="seed") == []
    assert validate(d, mode="discrete") == []
    (p,) = validate(d)
    assert p.path == "outmatrix[0]" and "boolean" in p.message
    assert validate(voice(feedback=True))  # strict: booleans never count as numbers


def test_numeric_strings_raise_in_seed_but_pass_the_discrete_check():
    d = voice(ol=["82", 98, 99, 99, 86, 98], outmatrix=["1", 0, 1, 1, 1, 0])
    seed = validate(d, mode="seed")
    assert {p.path for p in seed} == {"ol[0]", "outmatrix[0]"}
    assert all("TypeError" in p.message for p in seed)
    assert discrete_problems(d) == []
    # GRPO validity needs both, so the reward check fails as in the reference
    assert paths(validate(d, mode="discrete")) == {"ol[0]", "outmatrix[0]"}
    assert {p.path for p in validate(d)} == {"ol[0]", "outmatrix[0]"}


@pytest.mark.parametrize(
    ("value", "seed_ok"),
    [(None, True), (True, True), (False, True), (1, False), (np.bool_(True), False)],
)
def test_has_fixed_freqs(value, seed_ok):
    d = voice()
    if value is not None:
        d["has_fixed_freqs"] = value
    assert (validate(d, mode="seed") == []) is seed_ok
    assert (validate(d) == []) is seed_ok


def test_missing_key_is_a_reference_keyerror_and_extra_keys_are_ignored_by_seed():
    d = voice()
    del d["fine"]
    (p,) = validate(d, mode="seed")
    assert p.path == "fine" and "KeyError" in p.message
    extra = voice(algorithm=22, comment="hi")
    assert validate(extra, mode="seed") == []
    assert validate(extra, mode="discrete") == []
    assert paths(validate(extra)) == {"algorithm", "comment"}


def test_metadata_keys_in_strict_mode():
    assert validate(voice(name="BRASS   1", has_fixed_freqs=False)) == []
    assert paths(validate(voice(name=3))) == {"name"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_fail(mode, bad):
    assert "fine[0]" in paths(validate(voice(fine=[bad, 0, 0, 0, 0, 0]), mode=mode))
    assert "feedback" in paths(validate(voice(feedback=bad), mode=mode))


@pytest.mark.parametrize("mode", MODES)
def test_strings_and_lists_where_ints_belong(mode):
    d = voice(transpose="zero", coarse=[[1], 1, 1, 1, 0, 0], eg_rate=[1, 2, 3, 4])
    got = paths(validate(d, mode=mode))
    assert {"transpose", "coarse[0]"} <= got and any(p.startswith("eg_rate") for p in got)


# -- never raises, never prints ---------------------------------------------------------
class Hostile:
    def __eq__(self, other):
        raise RuntimeError("boom")

    def __le__(self, other):
        raise RuntimeError("boom")

    __ge__ = __lt__ = __gt__ = __le__
    __hash__ = object.__hash__

    def __float__(self):
        raise RuntimeError("boom")


class HostileMapping(dict):
    def __contains__(self, key):
        raise RuntimeError("boom")


_json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=5)
    | st.just(np.int64(3))
    | st.just(Hostile()),
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(_json_like)
def test_any_object_gives_problems_not_exceptions(obj):
    for mode in MODES:
        problems = validate(obj, mode=mode)
        assert isinstance(problems, list) and all(isinstance(p, Problem) for p in problems)
        for p in problems:
            str(p)
            p.to_dict()


@settings(max_examples=200, deadline=None)
@given(valid_patch_dicts(), st.sampled_from(list(BRASS_1)), _json_like)
def test_mutated_patches_never_raise(d, key, value):
    d[key] = value
    for mode in MODES:
        problems = validate(d, mode=mode)
        if problems and mode == "strict":
            with pytest.raises(InvalidPatchError):
                Patch.from_dict(d)


@pytest.mark.parametrize(
    "obj",
    [None, [], "patch", 3, HostileMapping(BRASS_1), voice(coarse=[Hostile()] * 6), {1: 2}],
)
def test_odd_objects(obj, capsys):
    for mode in MODES:
        assert validate(obj, mode=mode)
    assert capsys.readouterr() == ("", "")


def test_huge_objects_are_capped():
    d = {f"k{i}": i for i in range(100_000)}
    problems = validate(d)
    assert len(problems) == MAX_PROBLEMS + 1
    assert "too many problems" in problems[-1].message
    assert validate(voice(ol=[0] * 1_000_000))  # only the shape problem, cheaply


def test_unknown_mode_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown validation mode"):
        validate(BRASS_1, mode="lenient")  # type: ignore[arg-type]
