"""dx7_dist similarity and per-group errors, against hand-computed values."""

from __future__ import annotations

import copy
import math

import pytest

from fmbench.patch.distance import (
    DEFAULT_KEY_WEIGHTS,
    group_errors,
    key_similarity,
    key_weights,
    operator_frequencies,
    patch_similarity,
)
from fmbench.patch.model import KEY_ORDER
from fmbench.testing.patches import patch_dict, unchecked_patch

TOTAL = 24.5


def test_default_weights_sum_to_24_5():
    assert sum(DEFAULT_KEY_WEIGHTS.values()) == TOTAL
    assert set(DEFAULT_KEY_WEIGHTS) == set(KEY_ORDER)


def test_identical_is_one_for_dicts_and_patches():
    ref = patch_dict()
    assert patch_similarity(ref, ref) == 1.0
    assert patch_similarity(unchecked_patch(ref), unchecked_patch(ref)) == 1.0
    assert patch_similarity(copy.deepcopy(ref), unchecked_patch(ref)) == 1.0


def test_empty_prediction_is_zero():
    assert patch_similarity({}, patch_dict()) == 0.0


def test_range_normalised_key():
    ref, pred = patch_dict(), patch_dict()
    pred["ol"] = [0] * 6  # every element 99 away over a range of 99 -> s = 0
    assert patch_similarity(pred, ref) == pytest.approx((TOTAL - 2.0) / TOTAL, abs=1e-15)
    pred = patch_dict()
    pred["coarse"] = [2, 1, 1, 1, 1, 1]  # one element off by 1 of 31
    s = (5 + (1 - 1 / 31)) / 6
    assert key_similarity("coarse", pred["coarse"], ref["coarse"]) == pytest.approx(s)
    assert patch_similarity(pred, ref) == pytest.approx((TOTAL - 1.5 * (1 - s)) / TOTAL)


def test_detune_range_is_14_and_large_errors_clip_at_zero():
    ref = patch_dict()
    assert key_similarity("detune", [7, 0, 0, 0, 0, 0], ref["detune"]) == pytest.approx(
        (5 + 0.5) / 6
    )
    assert key_similarity("detune", [500] * 6, ref["detune"]) == 0.0
    assert key_similarity("transpose", 12, 0) == pytest.approx(1 - 12 / 48)


def test_categorical_key_counts_exact_matches():
    ref, pred = patch_dict(), patch_dict()
    pred["modmatrix"][0][1] = 1  # one of 36 cells differs
    assert key_similarity("modmatrix", pred["modmatrix"], ref["modmatrix"]) == pytest.approx(
        35 / 36
    )
    assert patch_similarity(pred, ref) == pytest.approx((TOTAL - 4 / 36) / TOTAL)
    pred["outmatrix"] = [0.5] * 6  # not within 1e-6 of 1: no credit (categorical)
    assert key_similarity("outmatrix", pred["outmatrix"], ref["outmatrix"]) == 0.0


def test_absent_key_keeps_its_weight():
    ref, pred = patch_dict(), patch_dict()
    del pred["transpose"]
    assert patch_similarity(pred, ref) == pytest.approx(24.0 / TOTAL)


def test_malformed_containers_score_missing_elements_zero():
    ref = patch_dict()
    # row 0 complete, row 1 not a list, row 2 short (2 of 6), row 3 missing: 8 of 24 match
    bad = [[99] * 6, "x", [99, 99]]
    assert key_similarity("eg_rate", bad, ref["eg_rate"]) == pytest.approx(8 / 24)
    assert key_similarity("ol", 99, ref["ol"]) == 0.0  # number where a list belongs
    assert key_similarity("ol", [99] * 9, ref["ol"]) == 1.0  # extra elements ignored
    assert key_similarity("ol", [99, 99, 99], ref["ol"]) == 0.5  # short list


def test_numeric_strings_bools_nan_and_garbage():
    ref = patch_dict()
    assert key_similarity("feedback", "0", 0) == 1.0
    assert key_similarity("feedback", "abc", 0) == 0.0
    assert key_similarity("feedback", None, 0) == 0.0
    assert key_similarity("feedback", math.nan, 0) == 0.0  # the original gave NaN; we give 0
    assert key_similarity("feedback", math.inf, 0) == 0.0
    assert key_similarity("outmatrix", [True] * 6, ref["outmatrix"]) == 1.0
    assert key_similarity("coarse", ["1"] * 6, ref["coarse"]) == 1.0


def test_weight_overrides():
    ref, pred = patch_dict(), patch_dict()
    pred["ol"] = [0] * 6
    w = key_weights({"ol": 0.0, "not_a_key": 5.0})
    assert "not_a_key" not in w and w["ol"] == 0.0
    assert patch_similarity(pred, ref, {"ol": 0.0}) == 1.0
    assert patch_similarity(pred, ref, {k: 0.0 for k in KEY_ORDER}) == 0.0
    with pytest.raises(ValueError):
        key_weights({"ol": -1})


def test_operator_frequencies_follow_spec_2_3():
    d = patch_dict()
    d["coarse"] = [0, 1, 2, 1, 1, 1]  # OP6 coarse 0 -> ratio 0.5; OP4 ratio 2
    d["fine"] = [0, 0, 0, 0, 50, 0]  # OP2 fine 50 -> 1.5
    d["detune"] = [0, 0, 0, 7, 0, 0]  # OP3 +7 cents
    d["fixed_freq"] = [0, 0, 0, 0, 0, 1]  # OP1 fixed
    d["coarse"][5] = 2
    d["fine"][5] = 10  # OP1: 100 * (1 + 0.8861) Hz
    f0 = 440 * 2 ** (-9 / 12)
    f = operator_frequencies(unchecked_patch(d))
    assert f == pytest.approx(
        [100 * (1 + 0.08861 * 10), f0 * 1.5, f0 * 2 ** (7 / 1200), f0 * 2, f0, f0 * 0.5]
    )
    d["transpose"] = 12  # ratio operators up an octave, the fixed one unchanged
    g = operator_frequencies(unchecked_patch(d))
    assert g[0] == pytest.approx(f[0]) and g[1:] == pytest.approx(2 * f[1:])


def test_group_errors_hand_computed():
    ref = unchecked_patch(patch_dict(32))
    assert group_errors(ref, ref) == {
        "topology_match": 1.0,
        "algorithm_match": 1.0,
        "feedback_error": 0.0,
        "envelope_error": 0.0,
        "freq_cents_error": 0.0,
        "freq_mode_mismatch": 0.0,
        "level_error": 0.0,
    }
    d = patch_dict(1)
    d["feedback"] = 7
    d["coarse"][0] = 2  # OP6 up one octave: 1200 cents on one of six operators
    d["fixed_freq"][5] = 1  # OP1 fixed at 10 Hz (coarse 1, fine 0)
    d["eg_rate"][0][0] = 0  # one of 48 envelope elements off by 99
    d["ol"][1] = 0  # one of six levels off by 99
    err = group_errors(unchecked_patch(d), ref)
    assert err["topology_match"] == 0.0 and err["algorithm_match"] == 0.0
    assert err["feedback_error"] == 1.0
    assert err["envelope_error"] == pytest.approx(1 / 48)
    assert err["level_error"] == pytest.approx(1 / 6)
    assert err["freq_mode_mismatch"] == pytest.approx(1 / 6)
    f0 = 440 * 2 ** (-9 / 12)
    assert err["freq_cents_error"] == pytest.approx((1200 + 1200 * math.log2(f0 / 10)) / 6)


def test_algorithm_match_is_nan_for_a_non_dx7_reference_topology():
    d = patch_dict(32)
    d["modmatrix"] = [[0] * 6 for _ in range(6)]  # no feedback diagonal: not one of the 32
    p = unchecked_patch(d)
    assert p.algorithm is None
    err = group_errors(p, p)
    assert math.isnan(err["algorithm_match"]) and err["topology_match"] == 1.0
