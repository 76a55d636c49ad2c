"""`fmbench patch validate|schema|show` through click's CliRunner."""

from __future__ import annotations

import copy
import json

import pytest
from _patch_golden import BRASS_1
from click.testing import CliRunner

from fmbench.cli import main
from fmbench.patch import Patch

BRASS = Patch.from_dict(BRASS_1)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def reply(body: str) -> str:
    return f"<think>\nbrassy, alg 22 {{maybe}}\n</think>\n```json\n{body}\n```\n"


def test_validate_valid_reply_file(runner, tmp_path):
    f = tmp_path / "reply.txt"
    f.write_text(reply(BRASS.to_pretty_json()))
    result = runner.invoke(main, ["patch", "validate", str(f)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "algorithm 22" in result.output


def test_validate_invalid_from_stdin_lists_problems(runner):
    d = copy.deepcopy(BRASS_1)
    d["eg_rate"][2][5] = 120
    d["coarse"][0] = 3.5
    result = runner.invoke(main, ["patch", "validate", "-"], input=json.dumps(d))
    assert result.exit_code == 1
    assert "INVALID" in result.output
    assert "eg_rate[2][5]: 120 is out of range" in result.output and "0..99" in result.output
    assert "coarse[0]" in result.output


def test_validate_json_output_and_modes(runner):
    d = copy.deepcopy(BRASS_1)
    d["fine"] = [50.5] * 6
    text = json.dumps(d)
    strict = runner.invoke(main, ["patch", "validate", "--json", "-"], input=text)
    assert strict.exit_code == 1
    report = json.loads(strict.output)
    assert report["valid"] is False and report["parsed"] is True
    assert {p["path"] for p in report["problems"]} == {f"fine[{i}]" for i in range(6)}
    seed = runner.invoke(main, ["patch", "validate", "--mode", "seed", "--json", "-"], input=text)
    assert seed.exit_code == 0 and json.loads(seed.output)["valid"] is True


def test_validate_unparsable_exits_1_with_message(runner):
    result = runner.invoke(main, ["patch", "validate", "-"], input=b"\xff\xfe no patch here")
    assert result.exit_code == 1
    assert "UNPARSABLE" in result.output and "no parsable specs" in result.output
    as_json = runner.invoke(main, ["patch", "validate", "--json", "-"], input="nothing")
    assert as_json.exit_code == 1 and json.loads(as_json.output)["parsed"] is False


def test_validate_missing_file_is_a_clean_error(runner, tmp_path):
    result = runner.invoke(main, ["patch", "validate", str(tmp_path / "nope.txt")])
    assert result.exit_code == 2
    assert "cannot read" in result.output and "Traceback" not in result.output


def test_validate_jsonl(runner, tmp_path):
    bad = dict(BRASS_1, feedback=9)
    f = tmp_path / "p.jsonl"
    f.write_text(BRASS.to_json() + "\n\n" + json.dumps(bad) + "\n")
    result = runner.invoke(main, ["patch", "validate", "--jsonl", str(f)])
    assert result.exit_code == 1 and "1/2 valid" in result.output
    assert f"{f}:3" in result.output and "feedback" in result.output


def test_schema_command(runner):
    result = runner.invoke(main, ["patch", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["required"]) == set(BRASS_1)


def test_show_prints_pretty_form_and_operator_table(runner):
    result = runner.invoke(main, ["patch", "show", "-"], input=reply(BRASS.to_json()))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(BRASS.to_pretty_json())
    rows = {
        line.split()[0]: line.split() for line in result.output.splitlines() if line[:2] == "OP"
    }
    # OP1 is slot 5 of the per-operator arrays: ol 98, coarse 0
    assert rows["OP1"][1] == "yes" and rows["OP1"][7] == "98" and rows["OP1"][4] == "0"
    assert rows["OP6"][2] == "6"  # OP6 modulates itself (feedback)


def test_show_invalid_requires_explicit_repair(runner):
    d = dict(BRASS_1, feedback=12)
    plain = runner.invoke(main, ["patch", "show", "-"], input=json.dumps(d))
    assert plain.exit_code == 1 and "feedback" in plain.output and "--repair" in plain.output
    fixed = runner.invoke(main, ["patch", "show", "--repair", "clamp", "-"], input=json.dumps(d))
    assert fixed.exit_code == 0 and '"feedback": 7' in fixed.output
