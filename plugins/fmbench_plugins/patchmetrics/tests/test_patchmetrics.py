"""The patch-level metrics: values per sample, NaN reasons, metadata and registration."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from fmbench_plugins.patchmetrics.metrics import (
    Dx7Dist,
    ExactMatch,
    ParseRate,
    PatchErrors,
    ValidityRate,
)

from fmbench.contracts import Sample
from fmbench.patch.errors import Problem
from fmbench.testing.patches import patch_dict, unchecked_patch

REF = unchecked_patch(patch_dict())


def _samples() -> list[Sample]:
    ok = patch_dict()
    off = patch_dict()
    off["ol"] = [0] * 6
    partial = patch_dict()
    del partial["transpose"]
    return [
        Sample("exact", "c", REF, raw_output="{}", parsed=ok, patch=unchecked_patch(ok)),
        Sample("off", "c", REF, raw_output="{}", parsed=off, patch=unchecked_patch(off)),
        Sample(
            "partial",
            "c",
            REF,
            raw_output="{}",
            parsed=partial,
            problems=[Problem("transpose", "missing key")],
        ),
        Sample("garbage", "c", REF, raw_output="no json here", parse_error="no parsable patch"),
        Sample("noref", "c", None, raw_output="{}", parsed=ok, patch=unchecked_patch(ok)),
    ]


def test_parse_and_validity_rates_are_0_1_per_sample():
    s = _samples()
    pr = ParseRate().score(s)
    assert pr.per_sample["parse_rate"].tolist() == [1, 1, 1, 0, 1]
    assert pr.value("parse_rate") == pytest.approx(0.8)
    vr = ValidityRate().score(s)
    assert vr.per_sample["validity_rate"].tolist() == [1, 1, 0, 0, 1]
    assert not vr.reasons


def test_exact_match_with_reasons():
    r = ExactMatch().score(_samples())
    v = r.per_sample["exact_match"]
    assert v[:2].tolist() == [1.0, 0.0]
    assert np.isnan(v[2:]).all()
    assert "invalid patch" in r.reasons[("exact_match", 2)]
    assert "unparsable" in r.reasons[("exact_match", 3)]
    assert r.reasons[("exact_match", 4)] == "no reference patch"
    assert r.details["n_nan"]["exact_match"] == 3


def test_dx7_dist_scores_partial_patches_like_the_reward():
    r = Dx7Dist().score(_samples())
    v = r.per_sample["dx7_dist"]
    assert v[0] == 1.0
    assert v[1] == pytest.approx(22.5 / 24.5)
    assert v[2] == pytest.approx(24.0 / 24.5)  # invalid (missing key) but scored
    assert math.isnan(v[3]) and "unparsable" in r.reasons[("dx7_dist", 3)]
    assert math.isnan(v[4])


def test_dx7_dist_weights_option_and_identity():
    m = Dx7Dist(weights='{"ol": 0}')
    assert m.score(_samples()[:2]).per_sample["dx7_dist"].tolist() == [1.0, 1.0]
    assert m.identity != Dx7Dist().identity
    assert Dx7Dist(weights={"ol": 2.0}).identity == Dx7Dist().identity
    from fmbench.errors import FmbenchError

    with pytest.raises(FmbenchError):
        Dx7Dist(weights="{not json")
    with pytest.raises(FmbenchError):
        Dx7Dist(weights={"ol": -3})


def test_patch_errors_columns_and_nan_reasons():
    m = PatchErrors()
    r = m.score(_samples())
    assert set(r.per_sample) == set(m.columns)
    assert r.per_sample["level_error"][:2].tolist() == [0.0, 1.0]
    assert r.per_sample["topology_match"][:2].tolist() == [1.0, 1.0]
    assert all(np.isnan(r.per_sample[c][3]) for c in m.columns)
    assert all(("envelope_error", i) in r.reasons for i in (2, 3, 4))


def test_registered_metadata():
    from fmbench.plugins import Plugins

    reg = Plugins(only=["patchmetrics"]).registry
    for name in ("parse_rate", "validity_rate", "exact_match", "dx7_dist", "patch_errors"):
        info = reg.get("metric", name)
        assert info.metric_kind == "patch" and info.direction is not None and info.needs
        assert reg.create("metric", name).identity.startswith(name)
    pe = reg.get("metric", "patch_errors")
    assert pe.output_direction("topology_match") == "higher"
    assert pe.output_direction("envelope_error") == "lower"
    assert reg.get("metric", "param_similarity").name == "dx7_dist"


def test_cli_lists_the_metrics_as_json():
    out = subprocess.run(
        [sys.executable, "-c", "from fmbench.cli import main; main()", "list", "metrics", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    by_name = {m["name"]: m for m in json.loads(out)}
    assert by_name["dx7_dist"]["direction"] == "higher"
    assert by_name["dx7_dist"]["metric_kind"] == "patch"
    assert {o["name"] for o in by_name["patch_errors"]["outputs"]} >= {"freq_cents_error"}
