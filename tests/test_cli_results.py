"""`fmbench leaderboard / submit / compare / check` through click's CliRunner."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from fmbench.cli import main
from fmbench.compare import Tolerance, parse_tolerances
from fmbench.testing.runs import make_summary, write_synthetic_run

DIRS = {"clap": "higher", "dist": "lower", "kad": "lower"}


def _invoke(*args: str):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.fixture
def runs(tmp_path):
    """Run A is clearly better than B on clap (↑) and dist (↓); C equals A plus noise."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.6, size=40)
    noise = rng.normal(scale=0.02, size=40)
    a = write_synthetic_run(
        tmp_path / "A",
        {"clap": base + 0.1, "dist": 1 - base},
        directions=DIRS,
        set_values={"kad": 2.0},
        generator="model",
    )
    b = write_synthetic_run(
        tmp_path / "B",
        {"clap": base + rng.normal(scale=0.02, size=40), "dist": 1.2 - base},
        directions=DIRS,
        set_values={"kad": 3.0},
        generator="random",
    )
    c = write_synthetic_run(
        tmp_path / "C",
        {"clap": base + 0.1 + noise, "dist": 1 - base - noise},
        directions=DIRS,
        set_values={"kad": 2.0},
        generator="model",
    )
    return a.run_dir, b.run_dir, c.run_dir


@pytest.mark.parametrize("method", ["bootstrap", "wilcoxon"])
def test_compare_reports_a_clear_difference_direction_aware(runs, method):
    a, b, _ = runs
    r = _invoke("compare", a, b, "--method", method)
    assert r.exit_code == 0
    lines = {line.split()[0]: line for line in r.output.splitlines() if line.strip()}
    assert lines["clap"].endswith("A better (n=40)")  # higher clap in A
    assert lines["dist"].endswith("A better (n=40)")  # lower dist in A (lower is better)
    assert "set-level: no paired test" in lines["kad"]
    assert "significant differences: clap, dist" in r.output
    r = _invoke("compare", b, a, "--method", method, "--json")
    doc = json.loads(r.output)
    verdicts = {m["column"]: m["verdict"] for m in doc["metrics"]}
    assert verdicts == {"clap": "B better", "dist": "B better", "kad": "set-level: no paired test"}
    assert doc["n_common"] == 40 and doc["method"] == method
    assert doc["metrics"][0]["test"]["p_value"] < 0.001


def test_compare_null_case(runs):
    a, _, c = runs
    r = _invoke("compare", a, c, "--json")
    doc = json.loads(r.output)
    tested = [m for m in doc["metrics"] if m["test"]]
    assert [m["verdict"] for m in tested] == ["no significant difference"] * 2
    assert all(m["test"]["p_value"] > 0.05 for m in tested)
    assert "no significant differences" in _invoke("compare", a, c).output


def test_compare_pairs_by_id_and_reports_unpaired_items(tmp_path):
    a = write_synthetic_run(tmp_path / "a", {"m": [1.0, 2.0, 3.0]}, ids=["x", "y", "z"])
    b = write_synthetic_run(tmp_path / "b", {"m": [3.0, 1.0, 9.0]}, ids=["z", "x", "w"])
    doc = json.loads(_invoke("compare", a.run_dir, b.run_dir, "--json").output)
    assert doc["n_common"] == 2 and doc["only_a"] == ["y"] and doc["only_b"] == ["w"]
    assert doc["metrics"][0]["test"]["mean_diff"] == 0.0  # x: 1 vs 1, z: 3 vs 3


def test_compare_bad_inputs_are_clean_errors(tmp_path, runs):
    a, _, _ = runs
    other = write_synthetic_run(tmp_path / "other", {"clap": [0.1, 0.2]}, benchmark="other")
    r = _invoke("compare", a, other.run_dir)
    assert r.exit_code == 2 and "only runs of the same benchmark" in r.output
    assert "Traceback" not in r.output
    (tmp_path / "partial").mkdir()
    r = _invoke("compare", a, tmp_path / "partial")
    assert r.exit_code == 2 and "incomplete run" in r.output and "missing samples.csv" in r.output
    # a corrupted samples table is caught by the manifest before it is parsed
    samples = a / "samples.csv"
    samples.write_text(samples.read_text() + samples.read_text().splitlines()[1] + "\n")
    r = _invoke("compare", a, tmp_path / "partial")
    assert r.exit_code == 2 and "samples.csv changed after the manifest" in r.output


def test_compare_duplicate_ids_in_a_samples_table(tmp_path):
    a = write_synthetic_run(tmp_path / "a", {"m": [1.0, 2.0]})
    b = write_synthetic_run(tmp_path / "b", {"m": [1.0, 2.0]})
    text = b.samples_path.read_text().replace("item001", "item000")
    b.samples_path.write_text(text)
    b.write_manifest()  # pretend the writer itself produced the duplicate
    r = _invoke("compare", a.run_dir, b.run_dir)
    assert r.exit_code == 2
    assert f"{b.samples_path}, row 3: duplicate id 'item000'" in r.output


def test_compare_missing_metric_column(tmp_path):
    a = write_synthetic_run(tmp_path / "a", {"m": [1.0, 2.0]})
    b = write_synthetic_run(tmp_path / "b", {"m": [1.0, 2.0], "n": [0.1, 0.2]})
    doc = json.loads(_invoke("compare", a.run_dir, b.run_dir, "--json").output)
    assert {m["column"]: m["verdict"] for m in doc["metrics"]}["n"] == "only in B"
    b.write_samples([{"id": "item000", "n": 0.1}, {"id": "item001", "n": 0.2}])
    b.write_manifest()  # the summary names 'm' but the table has no such column
    doc = json.loads(_invoke("compare", a.run_dir, b.run_dir, "--json").output)
    assert {m["column"]: m["verdict"] for m in doc["metrics"]}["m"] == "no per-sample values"


# -- check -----------------------------------------------------------------------------


def _baseline(tmp_path, n_items=40, **metrics) -> str:
    s = make_summary("baseline", metrics, directions=DIRS, n_items=n_items)
    path = tmp_path / "baseline.json"
    path.write_text(s.to_json())
    return str(path)


def _values(run_dir) -> tuple[float, float]:
    s = json.loads((run_dir / "summary.json").read_text())
    return s["metrics"]["clap"]["value"], s["metrics"]["dist"]["value"]


def test_check_passes_against_its_own_values(runs, tmp_path):
    a, _, _ = runs
    clap, dist = _values(a)
    r = _invoke("check", a, "--baseline", _baseline(tmp_path, clap=clap, dist=dist, kad=2.0))
    assert r.exit_code == 0, r.output
    assert "PASSED" in r.output
    assert r.output.count(" ok") == 3


def test_check_fails_on_a_regression_direction_aware(runs, tmp_path):
    a, _, _ = runs
    clap, dist = _values(a)
    # baseline had higher clap (↑) and lower dist (↓) → both regressed in A
    base = _baseline(tmp_path, clap=clap + 0.05, dist=dist - 0.05, kad=2.0)
    r = _invoke("check", a, "--baseline", base)
    assert r.exit_code == 1
    lines = {line.split()[0]: line for line in r.output.splitlines() if line.strip()}
    assert lines["clap"].rstrip().endswith("REGRESSION")
    assert lines["dist"].rstrip().endswith("REGRESSION")
    assert "-0.0500" in lines["clap"] and "+0.0500" in lines["dist"] and "1%" in lines["clap"]
    assert "FAILED: 2 metric(s) regressed or missing: clap, dist" in r.output
    # generous tolerances make it pass; the same numbers the other way are improvements
    r = _invoke("check", a, "--baseline", base, "--tolerance", "clap=0.06,dist=10%")
    assert r.exit_code == 0, r.output
    base = _baseline(tmp_path, clap=clap - 0.05, dist=dist + 0.05, kad=2.0)
    r = _invoke("check", a, "--baseline", base, "--json")
    assert r.exit_code == 0
    verdicts = {m["metric"]: m["verdict"] for m in json.loads(r.output)["metrics"]}
    assert verdicts == {"clap": "improved", "dist": "improved", "kad": "ok"}


def test_check_tolerance_boundary(runs, tmp_path):
    a, _, _ = runs
    clap, dist = _values(a)
    base = _baseline(tmp_path, clap=clap + 0.01, dist=dist, kad=2.0)
    assert _invoke("check", a, "--baseline", base, "-t", "clap=0.0101").exit_code == 0
    assert _invoke("check", a, "--baseline", base, "-t", "clap=0.0099").exit_code == 1
    assert _invoke("check", a, "--baseline", base, "-t", "default=0", "-t", "clap=1").exit_code == 0


def test_check_missing_and_new_metrics(runs, tmp_path):
    a, _, _ = runs
    clap, dist = _values(a)
    base = _baseline(tmp_path, clap=clap, dist=dist, kad=2.0, fad=1.0)
    r = _invoke("check", a, "--baseline", base, "--json")
    assert r.exit_code == 1
    doc = json.loads(r.output)
    fad = next(m for m in doc["metrics"] if m["metric"] == "fad")
    assert fad["verdict"] == "MISSING" and fad["failed"] and fad["current"] is None
    assert _invoke("check", a, "--baseline", base, "--allow-missing").exit_code == 0
    base = _baseline(tmp_path, clap=clap)
    r = _invoke("check", a, "--baseline", base)
    assert r.exit_code == 0 and "new" in r.output and "not in baseline" in r.output


def test_check_nan_current_value_is_a_regression(tmp_path):
    run = write_synthetic_run(tmp_path / "r", {"clap": [math.nan, math.nan]}, directions=DIRS)
    r = _invoke("check", run.run_dir, "--baseline", _baseline(tmp_path, n_items=2, clap=0.2))
    assert r.exit_code == 1 and "the run's value is NaN" in r.output


@pytest.mark.parametrize(
    ("tol", "pattern"),
    [
        ("clap", "bad tolerance 'clap'"),
        ("clap=abc", "'abc' is not a number"),
        ("clap=-1", "must be a finite number >= 0"),
        ("clp=0.1", "unknown metric(s) clp; the baseline has: clap, dist, kad"),
    ],
)
def test_check_bad_tolerances(runs, tmp_path, tol, pattern):
    a, _, _ = runs
    r = _invoke("check", a, "--baseline", _baseline(tmp_path, clap=0.1, dist=1, kad=2), "-t", tol)
    assert r.exit_code == 2 and pattern in r.output and "Traceback" not in r.output


def test_check_bad_baselines(runs, tmp_path):
    a, _, _ = runs
    empty = tmp_path / "empty.json"
    empty.write_text("")
    r = _invoke("check", a, "--baseline", empty)
    assert r.exit_code == 2 and f"{empty}: empty file" in r.output
    old = tmp_path / "old.json"
    d = make_summary("old", {"clap": 0.1}).to_dict()
    d["schema_version"] = 0
    old.write_text(json.dumps(d))
    r = _invoke("check", a, "--baseline", old)
    assert r.exit_code == 2 and f"{old}: summary schema version 0 is older" in r.output
    r = _invoke("check", a, "--baseline", tmp_path / "nope.json")
    assert r.exit_code == 2 and "no such file" in r.output
    other = tmp_path / "other.json"
    other.write_text(make_summary("o", {"clap": 0.1}, benchmark="other").to_json())
    r = _invoke("check", a, "--baseline", other)
    assert r.exit_code == 2 and "only runs of the same benchmark" in r.output


def test_parse_tolerances():
    per, default = parse_tolerances("rms=0.01, kad=5%,default=0")
    assert per == {"rms": Tolerance(0.01), "kad": Tolerance(5, relative=True)}
    assert default == Tolerance(0)
    assert Tolerance(5, relative=True).absolute(-40.0) == 2.0
    assert parse_tolerances(None)[1] == Tolerance(1.0, relative=True)


# -- leaderboard and submit ------------------------------------------------------------


def test_submit_then_leaderboard_formats_and_check(runs, tmp_path):
    a, b, _ = runs
    lbdir = tmp_path / "lb"
    r = _invoke("submit", a, "--leaderboard", lbdir)
    assert r.exit_code == 0 and "submitted" in r.output and (lbdir / "README.md").exists()
    assert _invoke("leaderboard", "--dir", lbdir, "--check").exit_code == 0
    r = _invoke("submit", b, "--leaderboard", lbdir, "--no-readme")
    assert r.exit_code == 0
    r = _invoke("leaderboard", "--dir", lbdir, "--check")
    assert r.exit_code == 1 and "stale" in r.output
    assert _invoke("leaderboard", "--dir", lbdir, "--write").exit_code == 0
    assert _invoke("leaderboard", "--dir", lbdir, "--check").exit_code == 0
    md = _invoke("leaderboard", "--dir", lbdir).output
    assert "| generator | clap ↑ | dist ↓ | kad ↓ | valid | run |" in md
    model_row = next(line for line in md.splitlines() if line.startswith("| model"))
    assert model_row.count("**") == 6  # A is best on all three columns
    doc = json.loads(_invoke("leaderboard", "--dir", lbdir, "--format", "json").output)
    assert len(doc["benchmarks"][0]["rows"]) == 2
    out = tmp_path / "board.html"
    r = _invoke("leaderboard", "--dir", lbdir, "--format", "html", "-o", out)
    assert r.exit_code == 0 and "<strong>" in out.read_text()


def test_submit_incomplete_run_is_refused(tmp_path):
    run = write_synthetic_run(tmp_path / "r", {"clap": [0.1]}, complete=False)
    r = _invoke("submit", run.run_dir, "--leaderboard", tmp_path / "lb")
    assert r.exit_code == 2
    assert "incomplete run" in r.output and "missing manifest.json" in r.output
    assert not (tmp_path / "lb" / "runs").exists()


def test_leaderboard_with_a_malformed_stored_summary(tmp_path):
    (tmp_path / "lb" / "runs").mkdir(parents=True)
    bad = tmp_path / "lb" / "runs" / "bad.json"
    bad.write_text('{"schema_version": 1}')
    r = _invoke("leaderboard", "--dir", tmp_path / "lb")
    assert r.exit_code == 2 and f"{bad}: malformed summary: missing field" in r.output
    assert "Traceback" not in r.output


def test_compare_and_check_refuse_a_run_from_an_older_schema(tmp_path, runs):
    a, _, _ = runs
    old = write_synthetic_run(tmp_path / "old", {"clap": [0.1, 0.2]}, directions=DIRS)
    d = json.loads(old.summary_path.read_text())
    d["schema_version"] = 0
    old.summary_path.write_text(json.dumps(d))
    old.write_manifest()  # complete, but written by an older fmbench
    for args in (("compare", a, old.run_dir), ("check", old.run_dir, "--baseline", a)):
        r = _invoke(*args)
        assert r.exit_code == 2 and "Traceback" not in r.output
        assert f"{old.summary_path}: summary schema version 0 is older" in r.output
        assert "re-run the benchmark" in r.output


def test_compare_with_an_empty_samples_table(tmp_path):
    a = write_synthetic_run(tmp_path / "a", {"m": [1.0, 2.0]})
    b = write_synthetic_run(tmp_path / "b", {"m": [1.0, 2.0]})
    b.samples_path.write_text("id,m\n")
    b.write_manifest()
    doc = json.loads(_invoke("compare", a.run_dir, b.run_dir, "--json").output)
    assert doc["n_common"] == 0
    assert doc["metrics"][0]["verdict"] == "too few paired values"
    b.samples_path.write_text("")
    b.write_manifest()
    r = _invoke("compare", a.run_dir, b.run_dir)
    assert r.exit_code == 2 and f"{b.samples_path}: empty file" in r.output


# -- comparable sets only ---------------------------------------------------------------


def _ids(n, start=0):
    return [f"item{i:03d}" for i in range(start, start + n)]


def test_check_a_limit_run_against_a_full_baseline_summary_is_refused(tmp_path):
    run = write_synthetic_run(tmp_path / "r", {"clap": [0.5] * 10}, directions=DIRS, limit=10)
    base = tmp_path / "base.json"
    base.write_text(make_summary("b", {"clap": 0.5}, directions=DIRS, item_ids=_ids(20)).to_json())
    r = _invoke("check", run.run_dir, "--baseline", base)
    assert r.exit_code == 2
    assert "the run scored 10 items and the baseline 20" in r.output and "--limit" in r.output


def test_check_two_runs_on_different_items_compares_the_shared_ones(tmp_path):
    # the run's first 10 items are the baseline's last 10; they agree on those exactly
    values = list(np.linspace(0.1, 0.9, 20))
    base = write_synthetic_run(
        tmp_path / "base", {"clap": values}, ids=_ids(20), directions=DIRS, set_values={"kad": 1}
    )
    run = write_synthetic_run(
        tmp_path / "run",
        {"clap": values[10:] + [0.0] * 5},
        ids=_ids(15, start=10),
        directions=DIRS,
        set_values={"kad": 1},
    )
    r = _invoke("check", run.run_dir, "--baseline", base.run_dir, "--json")
    doc = json.loads(r.output)
    assert doc["n_items"] == 10 and doc["n_left_out"] == 15  # 5 only in the run, 10 in base
    rows = {m["metric"]: m for m in doc["metrics"]}
    assert rows["clap"]["verdict"] == "ok"  # whole-run means differ: 0.5 vs ≈0.52
    assert rows["clap"]["baseline"] == pytest.approx(np.mean(values[10:]))
    assert rows["kad"]["verdict"] == "NOT COMPARABLE" and rows["kad"]["failed"]
    assert r.exit_code == 1
    r = _invoke("check", run.run_dir, "--baseline", base.run_dir, "--allow-missing")
    assert r.exit_code == 0, r.output
    assert "compared on the 10 shared items; left out 5 only in the run, 10 only" in r.output


def test_check_refuses_another_metric_identity_or_renderer(tmp_path):
    run = write_synthetic_run(tmp_path / "r", {"clap": [0.5, 0.6]}, directions=DIRS)
    base = tmp_path / "b.json"
    base.write_text(
        make_summary(
            "b",
            {"clap": 0.55},
            directions=DIRS,
            item_ids=_ids(2),
            metric_identities={"clap": "clap/2[model=other]"},
        ).to_json()
    )
    r = _invoke("check", run.run_dir, "--baseline", base)
    assert r.exit_code == 1 and "NOT COMPARABLE" in r.output and "clap/2[model=other]" in r.output
    base.write_text(
        make_summary(
            "b", {"clap": 0.55}, directions=DIRS, item_ids=_ids(2), renderer_identity="dexed/1"
        ).to_json()
    )
    r = _invoke("check", run.run_dir, "--baseline", base)
    assert r.exit_code == 2 and "rendered by dx7/0.1.0/reference but the baseline by dexed/1" in (
        r.output
    )


def test_compare_values_add_up_over_the_paired_items(tmp_path):
    a = write_synthetic_run(
        tmp_path / "a", {"m": [1.0, 2.0, 3.0, 10.0]}, ids=["w", "x", "y", "z"], set_values={"k": 1}
    )
    b = write_synthetic_run(tmp_path / "b", {"m": [0.0, 1.0]}, ids=["x", "y"], set_values={"k": 2})
    r = _invoke("compare", a.run_dir, b.run_dir, "--json")
    doc = json.loads(r.output)
    m = {x["column"]: x for x in doc["metrics"]}
    assert doc["n_common"] == 2 and doc["n_left_out"] == 2
    assert (m["m"]["value_a"], m["m"]["value_b"]) == (2.5, 0.5)  # over x and y only
    assert m["m"]["value_a"] - m["m"]["value_b"] == m["m"]["test"]["mean_diff"]
    assert m["m"]["run_value_a"] == 4.0  # the whole-run value is still reported
    assert m["k"]["verdict"] == "not comparable"
    text = _invoke("compare", a.run_dir, b.run_dir).output
    assert "left out: 2 items only in A, 0 only in B" in text
    assert "different items (A: 4, B: 2)" in text


def test_compare_does_not_test_metrics_with_other_identities(tmp_path):
    a = write_synthetic_run(tmp_path / "a", {"m": [1.0, 2.0, 3.0]})
    b = write_synthetic_run(
        tmp_path / "b",
        {"m": [0.0, 1.0, 2.0]},
        metric_identities={"m": "m/2"},
        renderer_identity="x/1",
    )
    doc = json.loads(_invoke("compare", a.run_dir, b.run_dir, "--json").output)
    (m,) = doc["metrics"]
    assert m["verdict"] == "not compared" and m["test"] is None and "m/2" in m["note"]
    assert any("renderers differ" in n for n in doc["notes"])
