"""The runner on in-process fake components: accounting, failure policy, resume, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fmbench import hookimpl
from fmbench.audio import Audio
from fmbench.benchmark import Benchmark, BenchmarkItem
from fmbench.cache import Cache
from fmbench.contracts import GeneratorOutput, MetricResult
from fmbench.patch.model import Patch
from fmbench.plugins import Plugins
from fmbench.render import RenderSettings
from fmbench.run.rundir import RunDir
from fmbench.run.runner import RunConfig, RunError, Runner, parse_output
from fmbench.run.summary import load_summary
from fmbench.testing.patches import patch_dict

SETTINGS = RenderSettings(sample_rate=8000, hold_seconds=0.064, release_seconds=0.032)


def make_patch(level: int) -> Patch:
    return Patch.from_dict(patch_dict(32, ol=[0, 0, 0, 0, 0, level]))


class Calls:
    generate = 0
    render = 0


class FakeGenerator:
    """Item 0 → the reference patch, item 1 → garbage, item 2 → invalid, others → level 50."""

    identity = "fake-gen/1"

    def generate(self, items, *, seed):
        Calls.generate += len(items)
        outs = []
        for it in items:
            n = int(it.id)
            if n == 0:
                outs.append(GeneratorOutput(raw_output=it.reference_patch.to_json()))
            elif n == 1:
                outs.append(GeneratorOutput(raw_output="I cannot make patches."))
            elif n == 2:
                bad = make_patch(10).to_dict()
                bad["coarse"] = [99] * 6
                outs.append(GeneratorOutput(raw_output="```json\n" + json.dumps(bad) + "\n```"))
            else:
                outs.append(GeneratorOutput(patch=make_patch(50).to_dict()))
        return outs


class FakeRenderer:
    """A sine whose amplitude is OP1's output level / 99."""

    name = "fake"
    identity = "fake-renderer/1"

    def render(self, patch, settings):
        Calls.render += 1
        t = np.arange(settings.num_samples) / settings.sample_rate
        return Audio(
            0.5 * patch.operator(1).ol / 99 * np.sin(2 * np.pi * 220 * t), settings.sample_rate
        )


class PeakMatch:
    """Per-sample: 1 − |peak(gen) − peak(ref)|; NaN without a reference."""

    identity = "peak/1"

    def score(self, samples):
        vals = np.array(
            [1 - abs(s.audio.peak - s.reference_audio.peak) for s in samples], dtype=float
        )
        return MetricResult(per_sample={"peak_match": vals})


class SetLoudness:
    """Set-level: mean RMS of the generated set."""

    identity = "setloud/1"

    def score(self, samples):
        return MetricResult(
            set_values={"set_loudness": float(np.mean([s.audio.rms for s in samples]))}
        )


class Similar:
    """Patch metric: NaN for failed samples (the runner applies `worst`)."""

    identity = "similar/1"

    def score(self, samples):
        vals = np.array(
            [
                float(s.patch == s.reference_patch) if s.patch is not None else math.nan
                for s in samples
            ]
        )
        return MetricResult(per_sample={"similar": vals})


class Broken:
    identity = "broken/1"

    def score(self, samples):
        raise RuntimeError("metric exploded")


class FakePlugin:
    @hookimpl
    def fmbench_register_generators(self, register):
        register("fake", FakeGenerator, summary="fake")

    @hookimpl
    def fmbench_register_renderers(self, register):
        register("fake", FakeRenderer, summary="fake")

    @hookimpl
    def fmbench_register_metrics(self, register):
        register(
            "peak_match",
            PeakMatch,
            summary="x",
            direction="higher",
            metric_kind="paired_audio",
            needs=("audio", "reference_audio"),
            worst=0.0,
        )
        register(
            "set_loudness",
            SetLoudness,
            summary="x",
            direction="higher",
            metric_kind="set",
            needs=("audio",),
        )
        register(
            "similar",
            Similar,
            summary="x",
            direction="higher",
            metric_kind="patch",
            needs=("patch", "reference_patch"),
            outputs=[{"name": "similar", "direction": "higher", "worst": 0.0}],
        )
        register("broken", Broken, summary="x", direction="lower", metric_kind="patch", worst=1.0)


@pytest.fixture
def registry():
    plugins = Plugins(load_entry_points=False, strict=True)
    plugins.register(FakePlugin(), "fake")
    return plugins.registry


@pytest.fixture
def bench():
    items = tuple(
        BenchmarkItem(str(i), f"caption {i}", reference_patch=make_patch(99 - i)) for i in range(6)
    )
    return Benchmark(
        "unit",
        "1",
        "",
        test=items,
        render=SETTINGS,
        renderer="fake",
        metrics=("peak_match", "set_loudness", "similar"),
    )


@pytest.fixture(autouse=True)
def _reset_calls():
    Calls.generate = Calls.render = 0


def _run(tmp_path, registry, bench, **kw):
    resume = kw.pop("resume", False)
    kw.setdefault("workers", 1)  # the fake renderer counts its calls in this process
    config = RunConfig(benchmark="unit", generator="fake", n_boot=50, **kw)
    return Runner(
        config,
        run_dir=tmp_path / "run",
        resume=resume,
        benchmark=bench,
        registry=registry,
        cache=Cache(tmp_path / "cache"),
    ).run()


def test_every_sample_is_accounted_for(tmp_path, registry, bench):
    result = _run(tmp_path, registry, bench)
    summary = result.summary.to_dict()
    assert summary["accounting"] == {
        "n_items": 6,
        "n_generated": 6,
        "n_parsed": 5,
        "n_valid": 4,
        "n_repaired": 0,
        "n_rendered": 4,
        "n_inaudible": 0,
    }
    s1 = result.samples[1]
    assert s1.parse_error and "no parsable specs" in s1.parse_error and s1.audio.peak == 0
    s2 = result.samples[2]
    assert s2.parsed is not None and any(p.path.startswith("coarse") for p in s2.problems)
    assert RunDir(result.run_dir).is_complete()


def test_failure_policy_scores_failures_and_reports_valid_only(tmp_path, registry, bench):
    m = _run(tmp_path, registry, bench).summary.to_dict()["metrics"]
    # item 0 is the reference (similar 1), items 1-2 failed → worst 0, items 3-5 differ → 0
    assert m["similar"]["value"] == pytest.approx(1 / 6)
    assert m["similar"]["valid_only"]["value"] == pytest.approx(1 / 4)
    assert m["similar"]["n"] == 6
    # failed items are silent: peak match 1 − ref peak for them
    assert m["peak_match"]["n"] == 6 and m["peak_match"]["valid_only"]["n"] == 4
    assert m["peak_match"]["ci_low"] <= m["peak_match"]["value"] <= m["peak_match"]["ci_high"]
    assert m["set_loudness"]["value"] < m["set_loudness"]["valid_only"]["value"]


def test_valid_only_policy_scores_only_valid_samples(tmp_path, registry, bench):
    m = _run(tmp_path, registry, bench, failure_policy="valid-only").summary.to_dict()["metrics"]
    assert m["similar"]["value"] == pytest.approx(1 / 4) and m["similar"]["n"] == 4


def test_a_failing_metric_is_reported_and_others_complete(tmp_path, registry, bench):
    result = _run(tmp_path, registry, bench, metrics=("broken", "similar"))
    summary = result.summary.to_dict()
    assert "metric exploded" in summary["errors"]["broken"]
    assert "similar" in summary["metrics"]


def test_resume_recomputes_nothing(tmp_path, registry, bench):
    first = _run(tmp_path, registry, bench)
    # renders are content-addressed: 6 references + one shared generated patch (item 0 = ref 0)
    assert Calls.generate == 6 and Calls.render == 7
    Calls.generate = Calls.render = 0
    (first.run_dir / "summary.json").unlink()
    second = _run(tmp_path, registry, bench, resume=True)
    assert Calls.generate == 0 and Calls.render == 0
    a, b = first.summary.to_dict()["metrics"], second.summary.to_dict()["metrics"]
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_resume_after_a_torn_generation_file(tmp_path, registry, bench):
    first = _run(tmp_path, registry, bench)
    gen = first.run_dir / "generations.jsonl"
    lines = gen.read_text().splitlines()
    gen.write_text("\n".join(lines[:3]) + "\n" + lines[3][: len(lines[3]) // 2])
    for f in ("summary.json", "manifest.json"):
        (first.run_dir / f).unlink()
    Calls.generate = 0
    second = _run(tmp_path, registry, bench, resume=True)
    assert Calls.generate == 3  # the torn line and the two after it
    assert load_summary(second.run_dir).to_dict()["metrics"] == first.summary.to_dict()["metrics"]


def test_existing_run_dir_needs_resume_and_the_same_config(tmp_path, registry, bench):
    _run(tmp_path, registry, bench)
    with pytest.raises(RunError, match="pass --resume"):
        _run(tmp_path, registry, bench)
    with pytest.raises(RunError, match="different configuration"):
        _run(tmp_path, registry, bench, resume=True, seed=5)


def test_unknown_metric_fails_before_any_work(tmp_path, registry, bench):
    from fmbench.errors import UnknownComponentError

    with pytest.raises(UnknownComponentError, match="did you mean 'similar'"):
        _run(tmp_path, registry, bench, metrics=("simlar",))
    assert Calls.generate == 0


def test_parse_output_cases():
    from fmbench.contracts import Sample

    s = Sample("1", "c")
    parse_output(GeneratorOutput(), s)
    assert s.parse_error == "the generator produced no output"
    s = Sample("1", "c")
    parse_output(GeneratorOutput(raw_output="<think>hmm</think> ```json\n[1, 2]\n```"), s)
    assert s.parsed is None and s.parse_error
    s = Sample("1", "c")
    parse_output(GeneratorOutput(raw_output=make_patch(7).to_pretty_json()), s)
    assert s.valid and s.patch == make_patch(7)


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_parallel_executors_give_identical_numbers(tmp_path, registry, bench, executor):
    if executor == "dask":
        pytest.importorskip("distributed")
    serial = _run(tmp_path / "a", registry, bench).summary.to_dict()["metrics"]
    parallel = _run(tmp_path / "b", registry, bench, workers=2, executor=executor)
    assert parallel.summary.to_dict()["metrics"] == serial


def test_a_generator_that_cannot_start_leaves_no_run_directory(tmp_path, registry, bench):
    from fmbench.errors import FmbenchError

    class Refuses:
        identity = "refuses/1"

        def setup(self, benchmark):
            raise FmbenchError("no checkpoint at /nowhere")

        def generate(self, items, *, seed):  # pragma: no cover - never reached
            return []

    class RefusingPlugin:
        @hookimpl
        def fmbench_register_generators(self, register):
            register("refuses", Refuses, summary="x")

    plugins = Plugins(load_entry_points=False, strict=True)
    plugins.register(FakePlugin(), "fake")
    plugins.register(RefusingPlugin(), "refusing")
    config = RunConfig(benchmark="unit", generator="refuses", n_boot=10)
    runner = Runner(config, run_dir=tmp_path / "run", benchmark=bench, registry=plugins.registry)
    with pytest.raises(FmbenchError, match="no checkpoint"):
        runner.run()
    assert not (tmp_path / "run").exists()


def test_bare_distribution_metrics_name_the_default_embedder():
    from fmbench.run.runner import plan_metrics

    class Dist:
        @hookimpl
        def fmbench_register_metrics(self, register):
            register(
                "dist",
                object,
                summary="x",
                direction="lower",
                metric_kind="set",
                arg_option="embedder",
            )

    plugins = Plugins(load_entry_points=False, strict=True)
    plugins.register(Dist(), "dist")
    planned = plan_metrics(
        plugins.registry, ["dist", "dist:mfcc", "dist:logmel"], defaults={"embedder": "mfcc"}
    )
    assert [p.spec for p in planned] == ["dist:mfcc", "dist:logmel"]
    assert planned[0].options == {"embedder": "mfcc"}


def test_direct_audio_outputs_are_scored_without_a_patch(tmp_path, bench):
    from fmbench.audio import write_audio

    wav = tmp_path / "gen.wav"
    t = np.arange(SETTINGS.num_samples) / SETTINGS.sample_rate
    write_audio(wav, Audio(0.25 * np.sin(2 * np.pi * 220 * t), SETTINGS.sample_rate))

    class AudioGen:
        identity = "tta/1"

        def generate(self, items, *, seed):
            return [GeneratorOutput(audio_path=str(wav)) for _ in items]

    class AudioPlugin:
        @hookimpl
        def fmbench_register_generators(self, register):
            register("tta", AudioGen, summary="x")

    plugins = Plugins(load_entry_points=False, strict=True)
    plugins.register(FakePlugin(), "fake")
    plugins.register(AudioPlugin(), "audio")
    config = RunConfig(
        benchmark="unit", generator="tta", n_boot=20, metrics=("peak_match", "similar")
    )
    result = Runner(
        config,
        run_dir=tmp_path / "run",
        benchmark=bench,
        registry=plugins.registry,
        cache=Cache(tmp_path / "c"),
    ).run()
    summary = result.summary.to_dict()
    assert summary["accounting"]["n_generated"] == 6 and summary["accounting"]["n_valid"] == 6
    assert summary["accounting"]["n_rendered"] == 0
    assert summary["metrics"]["peak_match"]["n"] == 6
    # a patch metric has nothing to compare for audio without a patch: every item counts,
    # with the worst value and the metric's own reason
    similar = summary["metrics"]["similar"]
    assert similar["n"] == similar["n_items"] == 6 and similar["value"] == 0.0
    assert similar["valid_only"]["n"] == 0
