"""Numbers you can trust: each case here gave a wrong or misleading number with exit 0
before the runner was rebuilt (every item counted, runs that cannot mix, resume keyed by
content, metric identity in the summary, a misbehaving metric is that metric's failure)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf

from fmbench import hookimpl
from fmbench.benchmark import load_benchmark
from fmbench.cache import Cache
from fmbench.contracts import MetricResult
from fmbench.plugins import Plugins
from fmbench.run.config import RunConfig
from fmbench.run.rundir import RunDir, RunLockedError
from fmbench.run.runner import Runner
from fmbench.run.score import MetricFailure, check_result

BENCH = "smoke"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark(BENCH)


def _run(tmp_path, bench, generator, metrics, registry=None, resume=False, **kw):
    kw.setdefault("workers", 1)
    config = RunConfig(benchmark=BENCH, generator=generator, metrics=metrics, n_boot=50, **kw)
    return Runner(
        config,
        run_dir=tmp_path / "run",
        resume=resume,
        benchmark=bench,
        registry=registry,
        cache=Cache(tmp_path / "cache"),
    ).run()


def _outputs_csv(path, bench, *, good, bad=(), n=None):
    """A model-output CSV: the reference patch for ``good`` rows (by index), garbage for
    ``bad`` rows."""
    items = bench.items(n)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "response_text"])
        for i, it in enumerate(items):
            if i in good:
                w.writerow([it.id, it.reference_patch.to_json()])
            elif i in bad:
                w.writerow([it.id, "I cannot make that sound, sorry"])
    return path


def test_failed_items_get_the_worst_value_and_every_item_counts(tmp_path, bench):
    path = _outputs_csv(tmp_path / "p.csv", bench, good=range(5), bad=range(5, 10))
    s = _run(tmp_path, bench, f"outputs:{path}", ("dx7_dist", "rms", "parse_rate")).summary
    for column in ("dx7_dist", "rms", "parse_rate"):
        m = s.metrics[column]
        assert m.n == m.n_items == 10 and m.complete, column
    # five exact copies (similarity 1) and five failures at the worst value 0
    assert s.metrics["dx7_dist"].value == pytest.approx(0.5)
    assert s.metrics["dx7_dist"].valid_only.value == pytest.approx(1.0)
    assert s.metrics["dx7_dist"].valid_only.n == 5


def test_non_finite_audio_is_a_failure_not_a_better_score(tmp_path, bench):
    items = bench.items(10)
    rate = 48_000
    rows = []
    for i, it in enumerate(items):
        x = np.zeros(rate, dtype=np.float32)
        if i < 5:
            x[::7] = np.nan
            x[::11] = np.inf
        wav = tmp_path / f"{i}.wav"
        sf.write(wav, x, rate, subtype="FLOAT")
        rows.append([it.id, str(wav)])
    path = tmp_path / "audio.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([["id", "wav_path"], *rows])
    result = _run(tmp_path, bench, f"outputs:{path}", ("rms",))
    s = result.summary
    assert s.accounting.n_valid == 5  # the five non-finite clips are failures
    bad = [x for x in result.samples if not x.valid]
    assert len(bad) == 5 and all("NaN or infinite" in x.parse_error for x in bad)
    assert s.metrics["rms"].n == 10 and s.metrics["rms"].value == 0.0


def test_resume_with_a_changed_outputs_file_recomputes(tmp_path, bench):
    path = tmp_path / "p.csv"
    _outputs_csv(path, bench, good=range(3), n=10)
    first = _run(tmp_path, bench, f"outputs:{path}", ("parse_rate",)).summary
    assert first.metrics["parse_rate"].value == pytest.approx(0.3)
    _outputs_csv(path, bench, good=range(10), n=10)
    (tmp_path / "run" / "manifest.json").unlink()
    second = _run(tmp_path, bench, f"outputs:{path}", ("parse_rate",), resume=True).summary
    assert second.metrics["parse_rate"].value == pytest.approx(1.0)
    assert second.accounting.n_parsed == 10
    assert second.generator.identity != first.generator.identity
    records = RunDir(tmp_path / "run").read_generations()
    assert {r["generator"] for r in records.values()} == {second.generator.identity}


def test_a_run_directory_is_owned_by_one_process(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from fmbench.run.rundir import RunDir
                RunDir({str(tmp_path / "run")!r}).lock()
                print("locked", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=f"pid {holder.pid}"):
            RunDir(tmp_path / "run").lock()
    finally:
        holder.kill()
        holder.wait()
    # the lock died with its holder
    store = RunDir(tmp_path / "run")
    store.lock()
    store.unlock()


def test_two_runs_cannot_share_a_directory(tmp_path, bench):
    other = RunDir(tmp_path / "run")
    other.lock()
    try:
        with pytest.raises(RunLockedError):
            _run(tmp_path, bench, "random", ("parse_rate",), limit=3)
    finally:
        other.unlock()
    assert not (tmp_path / "run" / "generations.jsonl").exists()


class _Impostor:
    identity = "impostor/1"

    def score(self, samples):
        return MetricResult(per_sample={"rms": np.ones(len(samples))})


class _Misbehaving:
    def __init__(self, how: str) -> None:
        self.how = how
        self.identity = f"bad/{how}"

    def score(self, samples):
        n = len(samples)
        if self.how == "short":
            return MetricResult(per_sample={"bad_short": np.zeros(n - 3)})
        if self.how == "columns":
            return MetricResult(per_sample={"surprise": np.zeros(n)})
        if self.how == "text":
            return MetricResult(per_sample={"bad_text": ["x"] * n})
        if self.how == "exit":
            raise SystemExit(3)
        raise RuntimeError("metric exploded")


class _Plugin:
    @hookimpl
    def fmbench_register_metrics(self, register):
        for how in ("short", "columns", "text", "exit", "raise"):
            register(
                f"bad_{how}",
                lambda how=how: _Misbehaving(how),
                summary="misbehaves",
                direction="higher",
                metric_kind="paired_audio",
                needs=("audio",),
                worst=0.0,
            )


def _registry_with(plugin, name):
    plugins = Plugins(strict=False)
    plugins.register(plugin, name)
    return plugins


def test_a_misbehaving_metric_is_that_metrics_failure(tmp_path, bench):
    registry = _registry_with(_Plugin(), "bad").registry
    metrics = ("bad_short", "bad_columns", "bad_text", "bad_exit", "bad_raise", "parse_rate")
    result = _run(tmp_path, bench, "oracle", metrics, registry=registry, limit=5)
    errors = result.summary.errors
    assert "4 value(s)" in errors["bad_short"] or "2 value(s)" in errors["bad_short"]
    assert "undeclared column" in errors["bad_columns"]
    assert "non-numeric" in errors["bad_text"]
    assert "SystemExit" in errors["bad_exit"]
    assert "exploded" in errors["bad_raise"]
    assert result.summary.metrics["parse_rate"].value == 1.0
    assert not any(p.name.startswith("bad") for p in (tmp_path / "run" / "scores").iterdir())
    # a resume is not sunk by them either
    (tmp_path / "run" / "manifest.json").unlink()
    again = _run(tmp_path, bench, "oracle", metrics, registry=registry, limit=5, resume=True)
    assert again.summary.metrics["parse_rate"].value == 1.0


def test_check_result_rejects_malformed_results():
    from fmbench.run.config import PlannedMetric

    info = Plugins(strict=False).registry.get("metric", "rms")
    planned = PlannedMetric("rms", info, {})
    with pytest.raises(MetricFailure, match="3 value"):
        check_result(MetricResult(per_sample={"rms": np.zeros(3)}), planned, 5)
    with pytest.raises(MetricFailure, match="not a MetricResult"):
        check_result({"rms": [1.0]}, planned, 1)
    ok = check_result(MetricResult(per_sample={"rms": [0.5, 0.25]}), planned, 2)
    assert ok.per_sample["rms"].dtype == np.float64


def test_a_bad_stored_score_is_never_reused(tmp_path, bench):
    _run(tmp_path, bench, "oracle", ("parse_rate",), limit=4)
    path = tmp_path / "run" / "scores" / "parse_rate.json"
    stored = json.loads(path.read_text())
    stored["per_sample"]["parse_rate"] = stored["per_sample"]["parse_rate"][:-1]
    path.write_text(json.dumps(stored))
    (tmp_path / "run" / "manifest.json").unlink()
    again = _run(tmp_path, bench, "oracle", ("parse_rate",), limit=4, resume=True).summary
    assert again.metrics["parse_rate"].n == 4 and not again.errors


def test_the_summary_records_the_component_identity(tmp_path, bench):
    s = _run(tmp_path, bench, "oracle", ("rms", "dx7_dist"), limit=3).summary
    assert s.metrics["rms"].metric_identity.startswith("rms:rms@")
    assert s.metrics["dx7_dist"].metric_identity.startswith("patchmetrics:dx7_dist@")
    assert len(s.benchmark.item_set) == 64 and s.benchmark.limit == 3


def test_a_plugin_cannot_replace_a_builtin_metric_unseen():
    class Impostor:
        @hookimpl
        def fmbench_register_metrics(self, register):
            register(
                "rms",
                _Impostor,
                summary="always 1",
                direction="higher",
                metric_kind="paired_audio",
                needs=("audio",),
                worst=0.0,
            )

    plugins = _registry_with(Impostor(), "impostor")
    with pytest.raises(Exception, match="'rms' is registered by plugins 'rms' and 'impostor'"):
        plugins.registry.get("metric", "rms")
    assert any("impostor" in p for p in plugins.problems)


class _Crashing:
    """Kills its own process (as a native crash would) when it meets one item."""

    identity = "crashing/1"

    def __init__(self, victim: str) -> None:
        self.victim = victim

    def score(self, samples):
        import os
        import signal

        for s in samples:
            if s.id == self.victim:
                import faulthandler

                faulthandler.disable()  # no traceback dump in the test log
                os.kill(os.getpid(), signal.SIGSEGV)
        return MetricResult(per_sample={"crashy": np.ones(len(samples))})


def test_a_worker_that_dies_is_reported_with_the_item_and_the_metric(tmp_path, bench):
    victim = bench.items(6)[4].id

    class Plugin:
        @hookimpl
        def fmbench_register_metrics(self, register):
            register(
                "crashy",
                lambda: _Crashing(victim),
                summary="segfaults on one item",
                direction="higher",
                metric_kind="paired_audio",
                needs=("audio",),
                worst=0.0,
            )

    registry = _registry_with(Plugin(), "crashy").registry
    result = _run(
        tmp_path, bench, "oracle", ("crashy", "rms"), registry=registry, limit=6, workers=2
    )
    error = result.summary.errors["crashy"]
    assert "died" in error and repr(victim) in error and "'crashy'" in error
    assert result.summary.metrics["rms"].n == 6  # the other metrics finish


def test_an_incomplete_metric_is_flagged_by_show_the_leaderboard_and_check(tmp_path):
    from fmbench import leaderboard as lb
    from fmbench.cli.run import format_summary
    from fmbench.compare import check_run
    from fmbench.testing.runs import make_summary

    base = make_summary("base", {"rms": (0.8, 0.7, 0.9)}, generator="model")
    cur = make_summary("cur", {"rms": (0.9, 0.8, 1.0)}, generator="model")
    for s in (base, cur):
        s.metrics["rms"].n_items = 10
        s.metrics["rms"].n = 10
        s.metrics["rms"].kind = "paired_audio"
    cur.metrics["rms"].n = 7  # three items silently missing
    assert "7/10 INCOMPLETE" in format_summary(cur)
    text, best = lb.cell_text(cur, lb.Column("rms", "higher"))
    assert "⚠ 7/10" in text and not best
    (tmp_path / "b.json").write_text(base.to_json())
    (tmp_path / "c.json").write_text(cur.to_json())
    report = check_run(tmp_path / "c.json", tmp_path / "b.json")
    row = next(r for r in report.rows if r.column == "rms")
    assert row.verdict == "INCOMPLETE" and row.failed
