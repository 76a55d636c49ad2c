"""--workers defaults to the usable cores in every command that takes it; `fmbench demo`
exits non-zero when a metric failed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from fmbench.cli import main


class _FakeRunner:
    """Records the RunConfig it was given; returns a summary with ``errors``."""

    configs: list = []
    errors: dict[str, str] = {}

    def __init__(self, config, **kwargs):
        self.config = config
        self.run_dir = Path(kwargs.get("run_dir") or "runs/x")
        _FakeRunner.configs.append(config)

    def run(self):
        summary = SimpleNamespace(errors=dict(_FakeRunner.errors), to_dict=lambda: {})
        return SimpleNamespace(summary=summary, run_dir=self.run_dir, samples=[])


@pytest.fixture
def fake(monkeypatch):
    import fmbench.cli.run as cli_run
    import fmbench.executor
    import fmbench.leaderboard
    import fmbench.run.runner

    _FakeRunner.configs = []
    _FakeRunner.errors = {}
    monkeypatch.setattr(fmbench.executor, "default_workers", lambda: 7)
    monkeypatch.setattr(fmbench.run.runner, "Runner", _FakeRunner)
    monkeypatch.setattr(cli_run, "format_summary", lambda summary: "summary")
    monkeypatch.setattr(fmbench.leaderboard, "submit", lambda *a, **k: None)
    monkeypatch.setattr(fmbench.leaderboard, "render", lambda *a, **k: "| board |")
    return _FakeRunner


def test_run_defaults_to_the_usable_cores(fake):
    res = CliRunner().invoke(main, ["run", "-g", "random"])
    assert res.exit_code == 0, res.output
    assert fake.configs[-1].workers == 7
    res = CliRunner().invoke(main, ["run", "-g", "random", "-j", "2"])
    assert fake.configs[-1].workers == 2
    res = CliRunner().invoke(main, ["run", "-g", "random", "--workers", "0"])
    assert res.exit_code == 2 and "at least 1" in res.output


def test_demo_takes_workers_and_fails_when_a_metric_failed(fake, tmp_path):
    args = ["demo", "--generators", "random,oracle", "--out", str(tmp_path), "-q"]
    res = CliRunner().invoke(main, [*args, "-j", "2"])
    assert res.exit_code == 0, res.output
    assert [c.workers for c in fake.configs] == [2, 2]
    fake.errors = {"timbral-fast": "BrokenProcessPool: a worker died"}
    res = CliRunner().invoke(main, args)
    assert fake.configs[-1].workers == 7
    assert res.exit_code == 1
    assert "random: metric timbral-fast failed: BrokenProcessPool" in res.output
    assert "| board |" in res.output  # the leaderboard is still printed


@pytest.mark.parametrize(
    "command", [["run"], ["demo"], ["render"], ["data", "make-default"], ["data", "import-syx"]]
)
def test_help_states_the_default(command):
    res = CliRunner().invoke(main, [*command, "--help"])
    if res.exit_code != 0 and "No such command" in res.output:
        pytest.skip(f"no command {' '.join(command)}")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())  # help text is wrapped
    assert "--workers" in text and "cores this process may use" in text
