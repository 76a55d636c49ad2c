"""The runner: one :class:`RunConfig` → one run directory, through a short pipeline.

generate (:mod:`.generate`) → parse/validate (:mod:`.parse`) → render (:mod:`.render`)
→ score (:mod:`.score`) → summarise (:mod:`.summarise`) → write (:class:`.rundir.RunDir`).

Every stage leaves durable, content-keyed state, so ``kill -9`` followed by ``--resume``
recomputes nothing that finished and reuses nothing that changed: generations carry the
generator identity, renders live in the content-addressed cache, and each metric's
result carries the key of everything it was computed from. One process owns a run
directory at a time (a lock that dies with its holder).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fmbench import __version__
from fmbench.benchmark import Benchmark, BenchmarkItem
from fmbench.cache import Cache
from fmbench.components import ComponentKind, Need
from fmbench.contracts import Sample
from fmbench.registry import Registry
from fmbench.render import RenderSettings
from fmbench.run.config import (
    FAILURE_POLICIES,
    PlannedMetric,
    RunConfig,
    RunError,
    plan_metrics,
)
from fmbench.run.parse import parse_output
from fmbench.run.rundir import CONFIG_JSON, RunDir
from fmbench.run.summary import RunSummary

__all__ = [
    "FAILURE_POLICIES",
    "PlannedMetric",
    "RunConfig",
    "RunError",
    "RunResult",
    "Runner",
    "parse_output",
    "plan_metrics",
]


@dataclass
class RunResult:
    """What a finished run returns: where it lives, its summary and its samples."""

    run_dir: Path
    summary: RunSummary
    samples: list[Sample]


class Runner:
    """Executes one run. ``progress`` shows tqdm bars on stderr.

    Everything is resolved in ``__init__`` (benchmark, metrics, generator, renderer,
    run directory), so a bad option fails before any work and leaves nothing behind.
    """

    def __init__(
        self,
        config: RunConfig,
        *,
        run_dir: str | os.PathLike[str] | None = None,
        runs_root: str | os.PathLike[str] = "runs",
        resume: bool = False,
        benchmark: Benchmark | None = None,
        registry: Registry | None = None,
        cache: Cache | None = None,
        progress: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        from fmbench.benchmark import load_benchmark
        from fmbench.plugins import get_registry

        self.config = config
        self.registry = registry or get_registry()
        self.progress = progress
        self.log = log or (lambda message: None)
        self.benchmark: Benchmark = benchmark or load_benchmark(config.benchmark)
        self.settings: RenderSettings = self.benchmark.render
        self.items: Sequence[BenchmarkItem] = self.benchmark.items(config.limit)
        if not self.items:
            raise RunError(f"benchmark {self.benchmark.name!r} has no test items")
        self.metrics: list[PlannedMetric] = plan_metrics(
            self.registry,
            config.metrics or self.benchmark.metrics,
            defaults={"embedder": self.benchmark.embedder},
        )
        self.generator_info, generator_options = self.registry.resolve_spec(
            ComponentKind.GENERATOR, config.generator
        )
        self.generator_options = {**generator_options, **config.generator_options}
        renderer_name = config.renderer or self.benchmark.renderer
        self.renderer_info = self.registry.get(ComponentKind.RENDERER, renderer_name)
        self.run_dir = self._locate_run_dir(run_dir, Path(runs_root), resume)
        self.store = RunDir(self.run_dir)
        self.cache = cache if cache is not None else Cache()
        if not self.cache.enabled:
            self.cache = Cache(self.run_dir / ".cache")

    def _locate_run_dir(
        self, run_dir: str | os.PathLike[str] | None, runs_root: Path, resume: bool
    ) -> Path:
        from fmbench.run.rundir import make_run_id

        wanted = self.config.identity()
        if run_dir is None and resume:
            candidates = sorted(
                (p.parent for p in runs_root.glob("*/" + CONFIG_JSON)),
                key=lambda d: (d / CONFIG_JSON).stat().st_mtime,
            )
            candidates = [d for d in candidates if RunDir(d).config_matches(wanted)]
            if not candidates:
                raise RunError(
                    f"--resume: no earlier run with this configuration under {runs_root}/"
                )
            run_dir = candidates[-1]
        if run_dir is None:
            run_dir = runs_root / make_run_id(self.benchmark.name, self.config.generator)
        run_dir = Path(run_dir)
        store = RunDir(run_dir)
        if store.config_path.exists():
            if not resume:
                raise RunError(
                    f"run directory {run_dir} already exists; pass --resume to continue it"
                )
            if not store.config_matches(wanted):
                raise RunError(
                    f"{store.config_path} was written for a different configuration; "
                    "resume with the same options or choose another --run-dir"
                )
        elif resume and run_dir.exists() and any(p.name != ".lock" for p in run_dir.iterdir()):
            raise RunError(f"{run_dir} is not an fmbench run directory (no {CONFIG_JSON})")
        return run_dir

    # -- the pipeline ----------------------------------------------------------------
    def run(self) -> RunResult:
        """Execute every stage and write the run directory; returns the result."""
        from fmbench.executor import get_executor
        from fmbench.jit import warm_up_in_background
        from fmbench.run.generate import generate
        from fmbench.run.render import render_samples
        from fmbench.run.score import Scorer

        start = time.perf_counter()
        timings: dict[str, Any] = {}
        # a fresh machine compiles the metrics' JIT code beside the renderer's (forked
        # before any generator model loads)
        warmup = warm_up_in_background(self._prepare_metrics)
        try:
            # built before the run directory exists: a bad generator leaves nothing behind
            generator = self.registry.create(
                ComponentKind.GENERATOR, self.generator_info.name, **self.generator_options
            )
            setup = getattr(generator, "setup", None)
            if callable(setup):
                setup(self.benchmark)
            for note in getattr(generator, "notes", ()):
                self.log(note)  # e.g. output rows that match no benchmark item
            generator_identity = str(generator.identity)
            self.store.lock()
        except BaseException:
            if warmup is not None:
                warmup.cancel()
            raise
        try:
            self.store.write_config({"fmbench_version": __version__, **self.config.identity()})
            self.store.write_generator(generator_identity)
            t0 = time.perf_counter()
            with self._bar(len(self.items), "generate") as bar:
                outputs = generate(
                    generator,
                    self.items,
                    self.store,
                    seed=self.config.seed,
                    batch_size=self.config.batch_size,
                    on_batch=bar.update,
                )
            timings["generate_s"] = round(time.perf_counter() - t0, 3)
            samples = [
                Sample(id=it.id, caption=it.caption, reference_patch=it.reference_patch)
                for it in self.items
            ]
            for sample in samples:
                output = outputs[sample.id]
                parse_output(output, sample, repair=self.config.repair)
                if output.info.get("error") and sample.raw_output is None:
                    sample.notes["generation"] = str(output.info["error"])
            executor = get_executor(self.config.executor, self.config.n_workers)
            try:
                renderer = self.registry.create(ComponentKind.RENDERER, self.renderer_info.name)
                prepare = getattr(renderer, "prepare", None)
                if callable(prepare):
                    prepare()  # compile/load JIT code before any worker forks
                renderer_identity = str(renderer.identity)
                t0 = time.perf_counter()
                render_samples(
                    samples,
                    renderer,
                    self.settings,
                    self.cache,
                    executor,
                    with_reference=any(Need.REFERENCE_AUDIO in m.info.needs for m in self.metrics),
                    silence_for_failures=self.config.failure_policy == "score-as-failure",
                    log=self.log,
                    progress=lambda total: self._bar(total, "render"),
                )
                timings["render_s"] = round(time.perf_counter() - t0, 3)
                t0 = time.perf_counter()
                scorer = Scorer(
                    self.registry,
                    self.store,
                    executor,
                    policy=self.config.failure_policy,
                    seed=self.config.seed,
                    log=self.log,
                )
                if warmup is not None:
                    warmup.wait()
                scored = scorer.score_all(self.metrics, samples)
                timings["score_s"] = round(time.perf_counter() - t0, 3)
                timings["score_s_by_metric"] = scorer.seconds
            finally:
                executor.close()
            timings["total_s"] = round(time.perf_counter() - start, 3)
            return self._write(
                samples,
                scored,
                generator_identity=generator_identity,
                renderer_identity=renderer_identity,
                timings=timings,
                errors=scorer.errors,
            )
        finally:
            if warmup is not None:
                warmup.cancel()  # a run that failed early does not wait for it
            self.store.unlock()

    def _prepare_metrics(self) -> None:
        """Build each metric of the run and call its ``prepare()`` (JIT code into the
        on-disk cache): the background warm-up of a fresh machine's first run."""
        from fmbench.run.score import release

        for plan in self.metrics:
            try:
                metric = self.registry.create(ComponentKind.METRIC, plan.info.name, **plan.options)
            except Exception:  # noqa: BLE001 - the scorer reports it in the run itself
                continue
            try:
                prepare = getattr(metric, "prepare", None)
                if callable(prepare):
                    prepare()
            except Exception:  # noqa: BLE001 - likewise
                pass
            finally:
                release(metric)

    def _bar(self, total: int, desc: str) -> Any:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, disable=not self.progress, leave=False, unit="item")

    def _write(
        self,
        samples: list[Sample],
        scored: dict[str, Any],
        *,
        generator_identity: str,
        renderer_identity: str,
        timings: dict[str, Any],
        errors: dict[str, str],
    ) -> RunResult:
        import json

        from fmbench.files import git_sha, now_iso
        from fmbench.run.summarise import accounting, sample_row, summarise
        from fmbench.run.summary import BenchmarkRef, ComponentRef, item_set_hash

        metrics = summarise(
            scored,
            samples,
            policy=self.config.failure_policy,
            n_boot=self.config.n_boot,
            seed=self.config.seed,
        )
        summary = RunSummary(
            run_id=self.run_dir.name,
            created=now_iso(),
            fmbench_version=__version__,
            git_sha=git_sha(),
            seed=self.config.seed,
            benchmark=BenchmarkRef(
                self.benchmark.name,
                self.benchmark.version,
                self.benchmark.identity,
                len(samples),
                item_set_hash(s.id for s in samples),
                self.config.limit,
            ),
            generator=ComponentRef(
                self.config.generator,
                generator_identity,
                json.loads(json.dumps(self.generator_options, default=str)),
            ),
            renderer=ComponentRef(
                self.renderer_info.name,
                renderer_identity,
                json.loads(self.settings.key),
            ),
            failure_policy=self.config.failure_policy,
            accounting=accounting(samples),
            metrics=metrics,
            errors=dict(errors),
            timings=dict(timings),
        )
        self.store.write_samples([sample_row(s) for s in samples])
        self.store.write_summary(summary)
        self.store.write_manifest()
        return RunResult(self.run_dir, summary, samples)
