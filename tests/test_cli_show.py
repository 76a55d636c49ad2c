"""`fmbench show`: summary, failure reasons and worst samples of a stored run."""

from __future__ import annotations

import json

from click.testing import CliRunner

from fmbench.cli import main
from fmbench.cli.show import failure_counts, worst_samples
from fmbench.testing.runs import write_synthetic_run


def test_worst_samples_respect_direction():
    rows = [{"id": "a", "m": 0.9}, {"id": "b", "m": 0.1}, {"id": "c", "m": float("nan")}]
    assert [r["id"] for r in worst_samples(rows, "m", "higher", 1)] == ["b"]
    assert [r["id"] for r in worst_samples(rows, "m", "lower", 1)] == ["a"]


def test_failure_counts_group_parse_errors_and_problem_keys():
    rows = [
        {"id": "1", "parse_error": "no parsable specs: nothing"},
        {
            "id": "2",
            "parsed_ok": True,
            "valid": False,
            "problems": [{"path": "coarse[2]"}, {"path": "coarse[3]"}, {"path": "ol[0]"}],
        },
        {"id": "3", "parsed_ok": True, "valid": True, "problems": []},
    ]
    assert failure_counts(rows) == {
        "unparsable: no parsable specs": 1,
        "invalid: coarse": 2,
        "invalid: ol": 1,
    }


def test_show_command(tmp_path):
    run = tmp_path / "run"
    write_synthetic_run(
        run,
        {"rms": [0.9, 0.2, 0.5], "kl": [0.1, 3.0, 0.2]},
        directions={"rms": "higher", "kl": "lower"},
    )
    result = CliRunner().invoke(main, ["show", str(run), "--worst", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["complete"] is True
    assert data["worst"]["rms"][0]["value"] == 0.2 and data["worst"]["kl"][0]["value"] == 3.0
    text = CliRunner().invoke(main, ["show", str(run)])
    assert text.exit_code == 0 and "worst 3 samples per metric" in text.output
