"""Leaderboard tables from stored summaries, submission and the README staleness check."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest

from fmbench import leaderboard as lb
from fmbench.run.rundir import RunDir
from fmbench.run.summary import IncompleteRunError, RunStoreError, SchemaVersionError
from fmbench.testing.runs import make_summary, write_synthetic_run

REPO = Path(__file__).resolve().parents[1]
DIRS = {"clap": "higher", "kad": "lower"}


def _store(tmp_path: Path, *summaries) -> Path:
    folder = tmp_path / "lb" / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    for s in summaries:
        (folder / f"{s.run_id}.json").write_text(s.to_json())
    return tmp_path / "lb"


@pytest.fixture
def board(tmp_path):
    """Three runs on default@1 with mixed directions, one run on another benchmark."""
    return _store(
        tmp_path,
        make_summary(
            "r-random",
            {"clap": (0.10, 0.08, 0.12), "kad": (9.0, 8.0, 10.0)},
            directions=DIRS,
            generator="random",
            n_valid=7,
        ),
        make_summary(
            "r-oracle",
            {"clap": (0.30, 0.27, 0.33), "kad": (4.0, 3.5, 4.5)},
            directions=DIRS,
            generator="oracle",
        ),
        make_summary(
            "r-retrieval",
            {"clap": (0.20, 0.18, 0.22), "kad": (2.0, 1.5, 2.5)},
            directions=DIRS,
            generator="retrieval",
        ),
        make_summary("r-other", {"clap": 0.9}, benchmark="other", generator="random"),
    )


def test_best_per_column_follows_each_direction(board):
    tables = lb.build_tables(lb.load_submissions(board))
    assert [t.benchmark for t in tables] == ["default@1", "other@1"]
    cols = {c.name: c for c in tables[0].columns}
    assert cols["clap"].best == 0.30  # higher is better: oracle
    assert cols["kad"].best == 2.0  # lower is better: retrieval
    assert [c.arrow for c in tables[0].columns] == ["↑", "↓"]
    # the other benchmark's 0.9 does not compete with default@1
    assert tables[1].columns[0].best == 0.9


def test_markdown_table(board):
    md = lb.render(board, fmt="md", benchmark="default")
    lines = md.splitlines()
    assert lines[0] == "## default@1 (10 items)"
    assert lines[2] == "| generator | clap ↑ | kad ↓ | valid | run |"
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines[4:]}
    assert set(rows) == {"oracle", "random", "retrieval"}
    assert (
        "**0.300 (0.270–0.330)**" in rows["oracle"] and "| 4.000 (3.500–4.500) |" in rows["oracle"]
    )
    assert "**2.000 (1.500–2.500)**" in rows["retrieval"]
    assert "**" not in rows["random"] and "| 70% |" in rows["random"]
    assert "other@1" not in md


def test_html_csv_and_json_formats(board):
    html = lb.render(board, fmt="html", benchmark="default@1")
    assert "<th>kad ↓</th>" in html and "<td><strong>2.000 (1.500–2.500)</strong></td>" in html
    recs = list(csv.DictReader(io.StringIO(lb.render(board, fmt="csv"))))
    assert len(recs) == 7  # 3 runs x 2 metrics + 1
    best = {(r["run_id"], r["metric"]) for r in recs if r["best"] == "True"}
    assert best == {("r-oracle", "clap"), ("r-retrieval", "kad"), ("r-other", "clap")}
    doc = json.loads(lb.render(board, fmt="json"))
    bench = doc["benchmarks"][0]
    assert bench["columns"] == [
        {"name": "clap", "direction": "higher", "best": 0.3, "metric_identity": "clap/1"},
        {"name": "kad", "direction": "lower", "best": 2.0, "metric_identity": "kad/1"},
    ]
    row = next(r for r in bench["rows"] if r["generator"] == "retrieval")
    assert row["metrics"]["kad"] == {
        "value": 2.0,
        "ci_low": 1.5,
        "ci_high": 2.5,
        "n": 10,
        "best": True,
        "comparable": True,
    }


def test_missing_values_nan_and_ties(tmp_path):
    board = _store(
        tmp_path,
        make_summary("a", {"clap": 0.5, "rms": math.nan}, generator="a"),
        make_summary("b", {"clap": 0.5}, generator="b"),
    )
    t = lb.build_tables(lb.load_submissions(board))[0]
    md = lb.to_markdown([t])
    assert md.count("**0.500**") == 2  # ties are both best
    assert "| – |" in md  # NaN / missing cells
    assert math.isnan({c.name: c for c in t.columns}["rms"].best)


def test_conflicting_directions_are_an_error(tmp_path):
    board = _store(
        tmp_path,
        make_summary("a", {"kad": 1.0}, directions={"kad": "lower"}),
        make_summary("b", {"kad": 2.0}, directions={"kad": "higher"}),
    )
    with pytest.raises(lb.LeaderboardError, match="b.json: metric 'kad'"):
        lb.render(board)


def test_empty_store_and_unknown_benchmark(tmp_path):
    assert lb.render(tmp_path / "none") == "No runs submitted yet.\n"
    assert lb.render(tmp_path / "none", fmt="html") == "<p>No runs submitted yet.</p>\n"
    with pytest.raises(lb.LeaderboardError, match="no submitted runs for benchmark 'zzz'"):
        lb.render(tmp_path / "none", benchmark="zzz")
    with pytest.raises(lb.LeaderboardError, match="unknown format"):
        lb.render(tmp_path / "none", fmt="xlsx")


def test_bad_stored_summaries_name_the_file(tmp_path):
    board = _store(tmp_path, make_summary("ok", {"clap": 0.1}))
    (board / "runs" / "broken.json").write_text("{")
    with pytest.raises(RunStoreError, match="broken.json: not valid JSON"):
        lb.render(board)
    old = make_summary("old", {"clap": 0.1}).to_dict()
    old["schema_version"] = 0
    (board / "runs" / "broken.json").write_text(json.dumps(old))
    with pytest.raises(SchemaVersionError, match="broken.json: summary schema version 0"):
        lb.render(board)


def test_readme_write_and_staleness_check(board):
    with pytest.raises(lb.StaleLeaderboardError, match="missing"):
        lb.check_readme(board)
    path = lb.write_readme(board)
    lb.check_readme(board)  # fresh
    text = path.read_text()
    assert text.startswith("# fmbench leaderboard") and "## default@1" in text
    assert lb.readme_text(board) == text  # deterministic
    (board / "runs" / "r-random.json").unlink()
    with pytest.raises(lb.StaleLeaderboardError, match="stale.*fmbench leaderboard --write"):
        lb.check_readme(board)


def test_submit_copies_complete_runs_only(tmp_path):
    store = write_synthetic_run(tmp_path / "runs" / "run1", {"clap": [0.1, 0.2, 0.3]})
    dest = lb.submit(store.run_dir, tmp_path / "lb")
    assert dest == tmp_path / "lb" / "runs" / "run1.json"
    assert dest.read_bytes() == store.summary_path.read_bytes()
    assert lb.submit(store.run_dir, tmp_path / "lb") == dest  # idempotent
    # an incomplete run is refused
    partial = write_synthetic_run(tmp_path / "runs" / "run2", {"clap": [0.1]}, complete=False)
    with pytest.raises(IncompleteRunError, match="missing manifest.json"):
        lb.submit(partial.run_dir, tmp_path / "lb")
    assert not (tmp_path / "lb" / "runs" / "run2.json").exists()


def test_submit_refuses_to_overwrite_a_different_summary(tmp_path):
    store = write_synthetic_run(tmp_path / "run1", {"clap": [0.1, 0.2]})
    lb.submit(store.run_dir, tmp_path / "lb")
    other = write_synthetic_run(tmp_path / "elsewhere" / "run1", {"clap": [0.5, 0.6]})
    with pytest.raises(lb.LeaderboardError, match="already holds a different summary.*--force"):
        lb.submit(other.run_dir, tmp_path / "lb")
    dest = lb.submit(other.run_dir, tmp_path / "lb", force=True)
    assert dest.read_bytes() == other.summary_path.read_bytes()


def test_submit_refuses_runs_without_metrics(tmp_path):
    store = RunDir(tmp_path / "empty")
    store.write_samples([{"id": "a"}])
    store.write_summary(make_summary("empty", {}))
    store.write_manifest()
    with pytest.raises(lb.LeaderboardError, match="no metric values"):
        lb.submit(store.run_dir, tmp_path / "lb")


def test_committed_leaderboard_readme_is_current():
    """CI: the committed leaderboard/README.md matches the committed summaries."""
    lb.check_readme(REPO / "leaderboard")


# -- comparable sets only ---------------------------------------------------------------

IDS20 = [f"item{i:03d}" for i in range(20)]


def test_a_limit_run_gets_its_own_table_with_a_note(tmp_path):
    board = _store(
        tmp_path,
        make_summary("full-a", {"clap": 0.2}, item_ids=IDS20, generator="a"),
        make_summary("full-b", {"clap": 0.3}, item_ids=IDS20, generator="b"),
        make_summary("lim", {"clap": 0.9}, item_ids=IDS20[:10], limit=10, generator="c"),
    )
    tables = lb.build_tables(lb.load_submissions(board))
    assert [t.title for t in tables] == ["default@1 (20 items)", "default@1 (10 items; --limit 10)"]
    full, limited = tables
    assert [s.run_id for _, s in full.rows] == ["full-a", "full-b"]
    assert full.columns[0].best == 0.3  # the 10-item run's 0.9 does not compete
    assert [s.run_id for _, s in limited.rows] == ["lim"]
    md = lb.to_markdown(tables)
    assert "## default@1 (10 items; --limit 10)" in md
    assert "only the first 10 items of default@1" in md
    assert "| **0.300** |" in md and "| **0.900** |" in md  # best within each table


def test_same_benchmark_on_other_items_or_counts_is_never_one_table(tmp_path):
    other20 = [f"other{i:03d}" for i in range(20)]
    board = _store(
        tmp_path,
        make_summary("a", {"clap": 0.2}, item_ids=IDS20, generator="a"),
        make_summary("b", {"clap": 0.3}, item_ids=other20, generator="b"),
        # older summaries without an item set: grouped by item count
        make_summary("old20", {"clap": 0.4}, n_items=20, generator="c"),
        make_summary("old10", {"clap": 0.5}, n_items=10, generator="d"),
    )
    tables = lb.build_tables(lb.load_submissions(board))
    assert sorted(len(t.rows) for t in tables) == [1, 1, 1, 1]
    assert {t.n_items for t in tables} == {10, 20}
    titles = [t.title for t in tables]
    assert len(set(titles)) == 4 and all(t.startswith("default@1 (") for t in titles)
    assert any("item set unrecorded" in t for t in titles)
    doc = json.loads(lb.to_json(tables))
    assert [len(b["rows"]) for b in doc["benchmarks"]] == [1, 1, 1, 1]


def test_another_renderer_is_another_table(tmp_path):
    board = _store(
        tmp_path,
        make_summary("a", {"clap": 0.2}, item_ids=IDS20, generator="a"),
        make_summary("b", {"clap": 0.3}, item_ids=IDS20, renderer_identity="dexed/0.3/x"),
    )
    tables = lb.build_tables(lb.load_submissions(board))
    assert len(tables) == 2
    assert {t.renderer for t in tables} == {"dx7/0.1.0/reference", "dexed/0.3/x"}
    assert all("renderer " in t.title for t in tables)


def test_a_cell_scored_by_another_metric_identity_is_flagged_and_never_best(tmp_path):
    board = _store(
        tmp_path,
        make_summary("a", {"kad": 5.0}, directions=DIRS, item_ids=IDS20, generator="a"),
        make_summary("b", {"kad": 4.0}, directions=DIRS, item_ids=IDS20, generator="b"),
        make_summary(
            "c",
            {"kad": 0.1},
            directions=DIRS,
            item_ids=IDS20,
            generator="c",
            metric_identities={"kad": "kad/2[bandwidth=9]"},
        ),
    )
    (table,) = lb.build_tables(lb.load_submissions(board))
    col = table.columns[0]
    assert col.identity == "kad/1" and col.best == 4.0
    md = lb.to_markdown([table])
    assert "| 0.100 † |" in md and "**4.000**" in md
    assert "† kad of run c was scored by kad/2[bandwidth=9]" in md
    recs = {r["run_id"]: r for r in csv.DictReader(io.StringIO(lb.to_csv([table])))}
    assert recs["c"]["comparable"] == "False" and recs["c"]["best"] == "False"
