"""The run store: summaries, samples table, manifest and completeness."""

from __future__ import annotations

import json
import math
import re
import subprocess
from datetime import UTC, datetime

import pytest

from fmbench.files import git_sha
from fmbench.run.rundir import RunDir, make_run_id
from fmbench.run.summary import (
    SCHEMA_VERSION,
    IncompleteRunError,
    MetricSummary,
    RunStoreError,
    RunSummary,
    SchemaVersionError,
    load_summary,
)
from fmbench.testing.runs import make_summary, write_synthetic_run


def _summary_dict() -> dict:
    return make_summary(metrics={"rms": (0.7, 0.6, 0.8)}).to_dict()


def test_summary_round_trip_matches_contract_keys():
    s = make_summary(metrics={"rms": (0.71, 0.66, 0.75), "kad": 1.5}, directions={"kad": "lower"})
    s.metrics["rms"].valid_only = None
    d = json.loads(s.to_json())
    assert list(d)[:4] == ["schema_version", "run_id", "created", "complete"]
    assert d["schema_version"] == SCHEMA_VERSION == 1
    assert d["renderer"]["settings"] == {"sample_rate": 48000}
    assert d["generator"]["options"] == {}
    assert d["metrics"]["kad"]["ci_low"] is None  # NaN is stored as null (strict JSON)
    back = RunSummary.from_dict(d)
    assert back.metrics["rms"].value == 0.71 and back.metrics["rms"].ci_high == 0.75
    assert math.isnan(back.metrics["kad"].ci_low)
    assert back.metrics["kad"].arrow == "↓" and back.metrics["rms"].arrow == "↑"
    assert back.to_dict() == d


def test_unknown_keys_survive_a_round_trip():
    d = _summary_dict()
    d["future_field"] = {"x": 1}
    assert RunSummary.from_dict(d).to_dict()["future_field"] == {"x": 1}


def test_metric_direction_is_validated():
    with pytest.raises(ValueError, match="direction"):
        MetricSummary(metric="rms", direction="up", value=1.0)


@pytest.mark.parametrize(
    ("version", "pattern"),
    [(0, "older than"), (2, "newer than"), (None, "no 'schema_version'"), ("1", "integer")],
)
def test_schema_version_errors_name_the_file_and_the_fix(tmp_path, version, pattern):
    d = _summary_dict()
    if version is None:
        del d["schema_version"]
    else:
        d["schema_version"] = version
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(d))
    with pytest.raises(SchemaVersionError, match=pattern) as exc:
        load_summary(path)
    assert str(path) in str(exc.value)
    if version == 0:
        assert "re-run" in str(exc.value)
    if version == 2:
        assert "upgrade fmbench" in str(exc.value)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("", "empty file"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"schema_version": 1, "run_id": "x"}', "missing field 'benchmark'"),
    ],
)
def test_malformed_summaries_are_clear_errors(tmp_path, text, pattern):
    path = tmp_path / "summary.json"
    path.write_text(text)
    with pytest.raises(RunStoreError, match=pattern) as exc:
        load_summary(path)
    assert str(path) in str(exc.value)


def test_malformed_metric_entry(tmp_path):
    d = _summary_dict()
    d["metrics"]["rms"]["direction"] = "sideways"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(d))
    with pytest.raises(RunStoreError, match="malformed summary.*direction"):
        load_summary(path)


def test_load_summary_from_run_dir_and_missing_path(tmp_path):
    store = write_synthetic_run(tmp_path / "run", {"rms": [0.1, 0.2]})
    assert load_summary(store.run_dir).run_id == "run"
    with pytest.raises(RunStoreError, match="no such file"):
        load_summary(tmp_path / "nowhere")


def test_samples_round_trip_types(tmp_path):
    store = RunDir(tmp_path / "r")
    rows = [
        {
            "id": "a",
            "caption": 'bright, "plucky"\nbass',
            "parsed_ok": True,
            "valid": False,
            "problems": [{"key": "algorithm", "message": "out of range"}],
            "patch": None,
            "rms": 0.25,
            "note:rms": "",
        },
        {"id": "b", "caption": "pad", "parsed_ok": False, "valid": False, "problems": [],
         "rms": math.nan, "note:rms": "unparsable output", "extra": 3},
    ]  # fmt: skip
    store.write_samples(rows)
    back = store.read_samples()
    assert [r["id"] for r in back] == ["a", "b"]
    assert back[0]["caption"] == 'bright, "plucky"\nbass'
    assert back[0]["parsed_ok"] is True and back[0]["valid"] is False
    assert back[0]["problems"] == [{"key": "algorithm", "message": "out of range"}]
    assert back[0]["rms"] == 0.25 and math.isnan(back[1]["rms"])
    assert back[1]["note:rms"] == "unparsable output"
    assert back[0]["patch"] == ""  # None is written as an empty cell
    assert back[1]["extra"] == 3.0 and math.isnan(back[0]["extra"])  # union of columns


def test_float_values_round_trip_exactly(tmp_path):
    store = RunDir(tmp_path / "r")
    values = [0.1, 1 / 3, 1e-300, -2.5e17]
    store.write_samples([{"id": str(i), "m": v} for i, v in enumerate(values)])
    assert [r["m"] for r in store.read_samples()] == values


def test_writing_duplicate_ids_is_refused(tmp_path):
    with pytest.raises(RunStoreError, match="duplicate id 'x'"):
        RunDir(tmp_path).write_samples([{"id": "x"}, {"id": "x"}])


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("", "empty file"),
        ("caption,rms\nhello,1\n", "missing column 'id'"),
        ("id,rms\na,1\nb,2\na,3\n", r"row 4: duplicate id 'a' \(first seen in row 2\)"),
        ("id,rms\n,1\n", "row 2: empty 'id'"),
        ("id,valid\na,maybe\n", "row 2: column 'valid' must be True/False"),
        ("id,problems\na,[oops\n", "row 2: column 'problems' is not valid JSON"),
        ("id,rms\na,1,2\n", "row 2: more cells than header columns"),
        ("id,id\na,b\n", "duplicate column"),
    ],
)
def test_bad_samples_tables_name_file_and_row(tmp_path, text, pattern):
    path = tmp_path / "samples.csv"
    path.write_text(text)
    with pytest.raises(RunStoreError, match=pattern) as exc:
        RunDir(tmp_path).read_samples()
    assert str(path) in str(exc.value)


def test_non_utf8_samples(tmp_path):
    (tmp_path / "samples.csv").write_bytes(b"id,caption\na,\xff\xfe\n")
    with pytest.raises(RunStoreError, match="not UTF-8"):
        RunDir(tmp_path).read_samples()


def test_complete_run_and_manifest_contents(tmp_path):
    store = write_synthetic_run(tmp_path / "run", {"rms": [0.1, 0.2, 0.3]})
    (store.run_dir / "audio").mkdir()
    assert store.is_complete() and store.problems() == []
    manifest = json.loads(store.manifest_path.read_text())
    paths = [e["path"] for e in manifest["files"]]
    assert paths == ["samples.csv", "summary.json"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", e["sha256"]) for e in manifest["files"])
    assert manifest["files"][0]["size"] == store.samples_path.stat().st_size
    assert not list(store.run_dir.glob("*.part"))  # no temporaries left behind


def test_manifest_covers_extra_files_recursively(tmp_path):
    store = write_synthetic_run(tmp_path / "run", {"rms": [0.1]}, complete=False)
    (store.run_dir / "audio").mkdir()
    (store.run_dir / "audio" / "a.wav").write_bytes(b"RIFF")
    store.write_manifest()
    assert store.is_complete()
    (store.run_dir / "audio" / "a.wav").write_bytes(b"RIFX")
    assert store.problems() == [
        "audio/a.wav changed after the manifest was written (hash mismatch)"
    ]


@pytest.mark.parametrize("victim", ["samples.csv", "summary.json", "manifest.json"])
def test_deleting_any_file_makes_the_run_incomplete(tmp_path, victim):
    store = write_synthetic_run(tmp_path / "run", {"rms": [0.1, 0.2]})
    (store.run_dir / victim).unlink()
    assert not store.is_complete()
    assert any(victim in p for p in store.problems())
    with pytest.raises(IncompleteRunError, match=f"incomplete run.*{victim}.*--resume"):
        store.require_complete()


def test_corrupted_file_or_manifest_makes_the_run_incomplete(tmp_path):
    store = write_synthetic_run(tmp_path / "run", {"rms": [0.1, 0.2]})
    text = store.samples_path.read_text()
    store.samples_path.write_text(text.replace("0.1", "0.9"))  # same size, other bytes
    assert store.problems() == [
        "samples.csv changed after the manifest was written (hash mismatch)"
    ]
    store.write_manifest()
    assert store.is_complete()
    manifest = json.loads(store.manifest_path.read_text())
    manifest["files"][1]["sha256"] = "0" * 64
    store.manifest_path.write_text(json.dumps(manifest))
    assert store.problems() == [
        "summary.json changed after the manifest was written (hash mismatch)"
    ]
    store.manifest_path.write_text("{garbage")
    assert "unreadable manifest.json" in store.problems()[0]


def test_a_new_write_invalidates_the_manifest(tmp_path):
    store = write_synthetic_run(tmp_path / "run", {"rms": [0.1, 0.2]})
    store.write_samples([{"id": "a", "rms": 1.0}])
    assert not store.manifest_path.exists() and not store.is_complete()


def test_manifest_needs_samples_and_summary(tmp_path):
    store = RunDir(tmp_path / "run")
    store.write_samples([{"id": "a"}])
    with pytest.raises(IncompleteRunError, match="summary.json"):
        store.write_manifest()
    assert store.problems() == [
        "missing summary.json",
        "missing manifest.json (the run did not finish)",
    ]
    assert RunDir(tmp_path / "nope").problems() == [f"{tmp_path / 'nope'} is not a directory"]


def test_make_run_id_format():
    when = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    rid = make_run_id("default", "outputs:preds/x.csv", when=when, key="cfg")
    assert re.fullmatch(r"default-outputs_preds_x\.csv-20261125-120000-[0-9a-f]{6}", rid)
    assert rid == make_run_id("default", "outputs:preds/x.csv", when=when, key="cfg")
    assert rid != make_run_id("default", "outputs:preds/x.csv", when=when, key="other")


def test_git_sha_inside_and_outside_a_repo(tmp_path):
    assert git_sha(tmp_path) is None
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    env_args = ["-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(
        ["git", *env_args, "-C", str(tmp_path), "commit", "-q", "--allow-empty", "-m", "x"],
        check=True,
    )
    sha = git_sha(tmp_path)
    assert sha is not None and re.fullmatch(r"[0-9a-f]{40}", sha)
