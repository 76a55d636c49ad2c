"""The runner: generate → parse/validate → render → score → summarise, resumably.

One :class:`Runner` executes one :class:`RunConfig` into a run directory. Every stage
leaves durable state, so ``kill -9`` followed by ``--resume`` recomputes nothing that
finished:

- generations are appended to ``generations.jsonl`` batch by batch (a torn last line
  is ignored; failed generations are not stored, so a resume retries them);
- renders and embeddings live in the content-addressed :class:`~fmbench.cache.Cache`
  (key = patch hash + renderer identity + settings), the run's own ``.cache/`` when
  the user cache is disabled;
- each metric's result is written to ``scores/<metric>.json`` when it finishes, with
  the metric identity and the sample ids it covers (reused only when both match).

Failure policy (``score-as-failure`` by default): every benchmark item is scored.
Unparsable or invalid outputs are rendered as silence, and a per-sample metric that
cannot score them (NaN) gets the output's declared ``worst`` value; the seed-compatible
numbers over valid samples only are reported beside them (``valid_only``). With
``valid-only`` only valid samples are scored, as the seed did.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fmbench import __version__
from fmbench.audio import Audio, is_inaudible
from fmbench.benchmark import Benchmark, BenchmarkItem
from fmbench.cache import Cache, make_key
from fmbench.components import ComponentInfo, ComponentKind, MetricKind, Need
from fmbench.contracts import GeneratorOutput, MetricResult, Sample
from fmbench.errors import FmbenchError
from fmbench.executor import LocalExecutor
from fmbench.patch.errors import PatchParseError
from fmbench.patch.model import Patch
from fmbench.patch.parse import parse_reply
from fmbench.patch.validate import validate
from fmbench.registry import Registry
from fmbench.render import RenderSettings

FAILURE_POLICIES = ("score-as-failure", "valid-only")
GENERATIONS_FILE = "generations.jsonl"
CONFIG_FILE = "config.json"
SCORES_DIR = "scores"


class RunError(FmbenchError):
    """A run that cannot start or continue (bad configuration, mismatched resume)."""


@dataclass
class RunConfig:
    """Everything that defines a run (stored as ``config.json`` in the run directory)."""

    benchmark: str = "default"
    generator: str = "random"  # NAME[:ARG]
    generator_options: dict[str, Any] = field(default_factory=dict)
    metrics: tuple[str, ...] | None = None  # NAME[:ARG] specs; None = the benchmark's
    renderer: str | None = None  # None = the benchmark's
    limit: int | None = None
    seed: int = 0
    failure_policy: str = "score-as-failure"
    repair: str | None = None  # None, or a policy of fmbench.patch.repair
    workers: int = 1
    executor: str = "local"  # local | dask | dask:ADDRESS (see fmbench.executor)
    batch_size: int = 16
    n_boot: int = 1000

    def identity(self) -> dict[str, Any]:
        """The fields that must match for a run directory to be resumed."""
        d = asdict(self)
        for volatile in ("workers", "executor", "batch_size"):
            d.pop(volatile)
        d["metrics"] = list(d["metrics"]) if d["metrics"] is not None else None
        return d


@dataclass
class PlannedMetric:
    """A metric spec resolved against the registry, constructed lazily."""

    spec: str
    info: ComponentInfo
    options: dict[str, Any]

    @property
    def label(self) -> str:
        """The spec as a file-name-safe label (``kad:mfcc`` → ``kad-mfcc``)."""
        return "".join(c if c.isalnum() or c in "-_." else "-" for c in self.spec)


@dataclass
class RunResult:
    """What a finished run returns: where it lives, its summary and its samples."""

    run_dir: Path
    summary: Any  # fmbench.run.summary.RunSummary
    samples: list[Sample]


def plan_metrics(
    registry: Registry, specs: Iterable[str], *, defaults: dict[str, str] | None = None
) -> list[PlannedMetric]:
    """Resolve every metric spec before any work starts (unknown/unavailable/missing model
    files → error).

    ``defaults`` fills a bare spec's argument option (``{"embedder": "mfcc"}`` turns
    ``kad`` into ``kad:mfcc``), so numbers always name the embedder that produced them.
    """
    planned: list[PlannedMetric] = []
    seen: set[str] = set()
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        info, options = registry.resolve_spec(ComponentKind.METRIC, spec)
        if not options and defaults and info.arg_option in defaults:
            spec = f"{spec}:{defaults[info.arg_option]}"
            info, options = registry.resolve_spec(ComponentKind.METRIC, spec)
        if spec in seen:
            continue
        seen.add(spec)
        reason = info.unavailable_reason()
        if reason:
            raise RunError(f"metric {spec!r} cannot run: {reason}")
        from fmbench.modelstore import check_model_files

        missing = check_model_files(info, options, registry=registry)
        if missing:
            raise RunError(f"metric {spec!r} cannot run:\n" + "\n".join(missing))
        planned.append(PlannedMetric(spec, info, options))
    if not planned:
        raise RunError("no metrics selected")
    return planned


def parse_output(output: GeneratorOutput, sample: Sample, *, repair: str | None = None) -> None:
    """Fill ``sample`` from a generator output: parse, validate, build (or repair) the patch."""
    sample.raw_output = output.raw_output
    if output.audio_path is not None:
        from fmbench.audio import read_audio

        try:
            sample.audio = read_audio(output.audio_path)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a recorded failure
            sample.parse_error = f"cannot read audio file {output.audio_path}: {exc}"
            return
        sample.direct_audio = True
        return
    if output.patch is not None:
        parsed: Any = output.patch
        if sample.raw_output is None:
            sample.raw_output = json.dumps(output.patch, separators=(",", ":"))
    elif output.raw_output is not None:
        try:
            parsed = parse_reply(output.raw_output)
        except PatchParseError as exc:
            sample.parse_error = str(exc)
            return
    else:
        sample.parse_error = output.info.get("error", "the generator produced no output")
        return
    if not isinstance(parsed, dict):
        sample.parse_error = f"expected a JSON object, got {type(parsed).__name__}"
        return
    sample.parsed = parsed
    sample.problems = validate(parsed)
    if not sample.problems:
        sample.patch = Patch.from_dict(parsed)
    elif repair:
        from fmbench.patch.repair import repair as repair_patch

        try:
            sample.patch, notes = repair_patch(parsed, policy=repair)
            sample.repaired = True
            if notes:
                sample.notes["repair"] = "; ".join(notes)[:500]
        except FmbenchError as exc:
            sample.notes["repair"] = f"repair failed: {exc}"


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _atomic_write_json(path: Path, data: Any) -> None:
    from fmbench.files import atomic_write_text

    atomic_write_text(path, json.dumps(data, default=_json_default, allow_nan=True))


class Runner:
    """Executes one run. ``progress`` shows tqdm bars on stderr."""

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
        from fmbench.plugins import get_registry

        if config.failure_policy not in FAILURE_POLICIES:
            raise RunError(f"failure policy must be one of {', '.join(FAILURE_POLICIES)}")
        if config.limit is not None and config.limit < 1:
            raise RunError("--limit must be at least 1")
        self.config = config
        self.registry = registry or get_registry()
        self.progress = progress
        self.log = log or (lambda message: None)
        self.benchmark: Benchmark = benchmark or self._load_benchmark(config.benchmark)
        self.settings: RenderSettings = self.benchmark.render
        self.items: Sequence[BenchmarkItem] = self.benchmark.items(config.limit)
        if not self.items:
            raise RunError(f"benchmark {self.benchmark.name!r} has no test items")
        self.metrics = plan_metrics(
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
        self.cache = cache if cache is not None else Cache()
        if not self.cache.enabled:
            self.cache = Cache(self.run_dir / ".cache")
        self.timings: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    # -- run directory ---------------------------------------------------------------
    @staticmethod
    def _load_benchmark(name: str) -> Benchmark:
        from fmbench.benchmark import load_benchmark

        return load_benchmark(name)

    def _locate_run_dir(self, run_dir: Path | str | None, runs_root: Path, resume: bool) -> Path:
        from fmbench.run.rundir import make_run_id

        wanted = self.config.identity()
        if run_dir is None and resume:
            candidates = sorted(
                (p for p in runs_root.glob("*/" + CONFIG_FILE) if self._config_matches(p, wanted)),
                key=lambda p: p.stat().st_mtime,
            )
            if not candidates:
                raise RunError(
                    f"--resume: no earlier run with this configuration under {runs_root}/"
                )
            run_dir = candidates[-1].parent
        if run_dir is None:
            run_dir = runs_root / make_run_id(self.benchmark.name, self.config.generator)
        run_dir = Path(run_dir)
        config_path = run_dir / CONFIG_FILE
        if config_path.exists():
            if not resume:
                raise RunError(
                    f"run directory {run_dir} already exists; pass --resume to continue it"
                )
            if not self._config_matches(config_path, wanted):
                raise RunError(
                    f"{config_path} was written for a different configuration; "
                    "resume with the same options or choose another --run-dir"
                )
        elif resume and run_dir.exists() and any(run_dir.iterdir()):
            raise RunError(f"{run_dir} is not an fmbench run directory (no {CONFIG_FILE})")
        return run_dir

    def _open_run_dir(self) -> None:
        """Create the run directory and its config.json (once the run is known to start)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write_json(
            self.run_dir / CONFIG_FILE, {"fmbench_version": __version__, **self.config.identity()}
        )

    @staticmethod
    def _config_matches(path: Path, wanted: dict[str, Any]) -> bool:
        try:
            stored = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return False
        stored.pop("fmbench_version", None)
        return stored == json.loads(json.dumps(wanted, default=_json_default))

    # -- the stages ------------------------------------------------------------------
    def run(self) -> RunResult:
        """Execute every stage and write the run directory; returns the result."""
        start = time.perf_counter()
        samples = [
            Sample(id=it.id, caption=it.caption, reference_patch=it.reference_patch)
            for it in self.items
        ]
        outputs = self._timed("generate_s", self._generate)
        from fmbench.executor import get_executor

        self.executor = get_executor(self.config.executor, self.config.workers)
        for sample in samples:
            parse_output(outputs[sample.id], sample, repair=self.config.repair)
            info = outputs[sample.id].info
            if info.get("error") and sample.raw_output is None:
                sample.notes["generation"] = str(info["error"])
        try:
            self._timed("render_s", lambda: self._render(samples))
            scores = self._timed("score_s", lambda: self._score(samples))
        finally:
            self.executor.close()
        self.timings["total_s"] = round(time.perf_counter() - start, 3)
        return self._write(samples, scores)

    def _timed(self, key: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = fn()
        self.timings[key] = round(time.perf_counter() - t0, 3)
        return value

    def _bar(self, total: int, desc: str):
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, disable=not self.progress, leave=False, unit="item")

    def _generate(self) -> dict[str, GeneratorOutput]:
        path = self.run_dir / GENERATIONS_FILE
        done: dict[str, GeneratorOutput] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    rec = json.loads(line)
                    done[str(rec["id"])] = GeneratorOutput(
                        rec.get("raw_output"),
                        rec.get("patch"),
                        rec.get("info") or {},
                        rec.get("audio_path"),
                    )
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line torn by a kill: that item is generated again
        todo = [it for it in self.items if it.id not in done]
        if todo:
            # built before the run directory exists: a bad generator leaves nothing behind
            generator = self.registry.create(
                ComponentKind.GENERATOR, self.generator_info.name, **self.generator_options
            )
            if hasattr(generator, "setup"):
                generator.setup(self.benchmark)
            for note in getattr(generator, "notes", ()):
                self.log(note)
            self.generator_identity = generator.identity
            self._open_run_dir()
            self.log(
                f"generating {len(todo)} of {len(self.items)} items with {self.config.generator}"
            )
            with path.open("a", encoding="utf-8") as f, self._bar(len(todo), "generate") as bar:
                for i in range(0, len(todo), self.config.batch_size):
                    batch = todo[i : i + self.config.batch_size]
                    try:
                        produced = generator.generate(batch, seed=self.config.seed)
                        if len(produced) != len(batch):
                            raise RunError(
                                f"generator returned {len(produced)} outputs for {len(batch)} items"
                            )
                    except Exception as exc:  # noqa: BLE001 - recorded per item, retried on resume
                        message = f"generator failed: {type(exc).__name__}: {exc}"
                        for it in batch:
                            done[it.id] = GeneratorOutput(info={"error": message})
                        bar.update(len(batch))
                        continue
                    for it, out in zip(batch, produced, strict=True):
                        done[it.id] = out
                        nothing = out.raw_output is None and out.patch is None
                        if nothing and out.audio_path is None and out.info.get("error"):
                            continue  # not stored: retried on resume
                        rec = {"id": it.id, "raw_output": out.raw_output, "patch": out.patch}
                        rec.update(info=out.info, audio_path=out.audio_path)
                        f.write(json.dumps(rec, default=_json_default) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                    bar.update(len(batch))
        else:
            self._open_run_dir()
            self.generator_identity = self._stored_generator_identity()
        return done

    def _stored_generator_identity(self) -> str:
        path = self.run_dir / "generator.json"
        if path.exists():
            return json.loads(path.read_text()).get("identity", self.generator_info.name)
        return self.generator_info.name

    @property
    def _needs(self) -> set[Need]:
        return {n for m in self.metrics for n in m.info.needs}

    def _render(self, samples: list[Sample]) -> None:
        _atomic_write_json(
            self.run_dir / "generator.json",
            {"identity": getattr(self, "generator_identity", self.generator_info.name)},
        )
        renderer = self.registry.create(ComponentKind.RENDERER, self.renderer_info.name)
        self.renderer_identity = renderer.identity
        jobs: dict[str, Patch] = {}
        for s in samples:
            if s.patch is not None:
                jobs.setdefault(s.patch.content_hash, s.patch)
        if Need.REFERENCE_AUDIO in self._needs:
            for s in samples:
                if s.reference_patch is not None:
                    jobs.setdefault(s.reference_patch.content_hash, s.reference_patch)
        audio = self._render_patches(renderer, list(jobs.values()))
        silence = Audio(
            np.zeros(self.settings.num_samples, dtype=np.float32), self.settings.sample_rate
        )
        for s in samples:
            if s.patch is not None:
                s.audio = audio.get(s.patch.content_hash)
                if s.audio is None:
                    s.notes["render"] = "render failed"
            if s.audio is None and self.config.failure_policy == "score-as-failure":
                s.audio = silence
                s.notes.setdefault("render", "scored as silence (no valid patch)")
            if s.reference_patch is not None and s.reference_patch.content_hash in audio:
                s.reference_audio = audio[s.reference_patch.content_hash]

    def _render_key(self, renderer: Any, patch: Patch) -> str:
        return make_key(patch.content_hash, renderer.identity, self.settings.key)

    def _render_patches(self, renderer: Any, patches: list[Patch]) -> dict[str, Audio]:
        out: dict[str, Audio] = {}
        missing: list[Patch] = []
        for p in patches:
            stored = self.cache.get("render", self._render_key(renderer, p))
            if stored is None:
                missing.append(p)
            else:
                out[p.content_hash] = self._audio_from_store(stored)
        if missing:
            self.log(f"rendering {len(missing)} patches ({len(out)} cached)")
            from fmbench.render import render_batch

            results = render_batch(
                missing, self.settings, renderer=renderer, executor=self.executor
            )
            with self._bar(len(missing), "render") as bar:
                for p, audio in zip(missing, results, strict=True):
                    stored = self._audio_to_store(audio)
                    self.cache.put("render", self._render_key(renderer, p), stored)
                    # use the stored form, so a resumed run sees exactly the same audio
                    out[p.content_hash] = self._audio_from_store(stored)
                    bar.update(1)
        return out

    def _audio_to_store(self, audio: Audio) -> np.ndarray:
        return audio.to_int16() if self.settings.quantize_int16 else audio.samples

    def _audio_from_store(self, stored: np.ndarray) -> Audio:
        if stored.dtype == np.int16:
            return Audio.from_int16(stored, self.settings.sample_rate)
        return Audio(stored, self.settings.sample_rate)

    # -- scoring ---------------------------------------------------------------------
    def _score(self, samples: list[Sample]) -> dict[str, tuple[MetricResult, list[int]]]:
        """Score every metric; returns label → (result, indices of the scored samples)."""
        valid = [i for i, s in enumerate(samples) if s.valid]
        scored_idx = (
            valid if self.config.failure_policy == "valid-only" else list(range(len(samples)))
        )
        results: dict[str, tuple[MetricResult, list[int]]] = {}
        (self.run_dir / SCORES_DIR).mkdir(exist_ok=True)
        score_times: dict[str, float] = {}
        for planned in self.metrics:
            t0 = time.perf_counter()
            metric = None
            try:
                metric = self.registry.create(
                    ComponentKind.METRIC, planned.info.name, **planned.options
                )
                (getattr(metric, "prepare", None) or (lambda: None))()  # before workers fork
                result = self._score_one(planned, metric, samples, scored_idx)
            except Exception as exc:  # noqa: BLE001 - one failing metric never sinks the run
                self.errors[planned.spec] = f"{type(exc).__name__}: {exc}"
                self.log(f"metric {planned.spec} failed: {self.errors[planned.spec]}")
                continue
            finally:
                _release(metric)  # one heavy model at a time: free it before the next metric
                score_times[planned.spec] = round(time.perf_counter() - t0, 3)
            results[planned.spec] = (result, scored_idx)
        self.timings["score_s_by_metric"] = score_times
        return results

    def _score_one(
        self, planned: PlannedMetric, metric: Any, samples: list[Sample], idx: list[int]
    ) -> MetricResult:
        path = self.run_dir / SCORES_DIR / f"{planned.label}.json"
        ids = [samples[i].id for i in idx]
        if path.exists():
            try:
                stored = json.loads(path.read_text())
                if stored["identity"] == metric.identity and stored["ids"] == ids:
                    return _result_from_json(stored)
            except (OSError, json.JSONDecodeError, KeyError, TypeError):
                pass  # recompute
        subset = [samples[i] for i in idx]
        needs = planned.info.needs
        if Need.REFERENCE_AUDIO in needs and any(s.reference_audio is None for s in subset):
            missing = sum(s.reference_audio is None for s in subset)
            self.log(f"{planned.spec}: {missing} samples have no reference audio")
        if not subset:
            result = MetricResult()
        elif self._chunkable(planned):
            result = self._score_chunked(planned, metric, subset)
        else:
            result = metric.score(subset)
        self._apply_failure_policy(planned, result, subset)
        _atomic_write_json(path, _result_to_json(result, metric.identity, ids))
        return result

    def _chunkable(self, planned: PlannedMetric) -> bool:
        """Per-sample signal metrics without model weights are spread over the executor's
        workers. Patch metrics are too cheap to ship, and a model-based metric loads its
        model once, in this process."""
        return (
            self.executor.workers > 1
            and planned.info.metric_kind is not MetricKind.SET
            and not planned.info.model_files
            and bool(planned.info.needs & {Need.AUDIO, Need.REFERENCE_AUDIO})
        )

    def _score_chunked(
        self, planned: PlannedMetric, metric: Any, subset: list[Sample]
    ) -> MetricResult:
        from dataclasses import replace
        from functools import partial

        needs = planned.info.needs
        # ship only the audio the metric reads (audio dominates what crosses processes)
        light = [
            replace(
                s,
                audio=s.audio if Need.AUDIO in needs else None,
                reference_audio=s.reference_audio if Need.REFERENCE_AUDIO in needs else None,
            )
            for s in subset
        ]
        size = max(1, -(-len(light) // (4 * self.executor.workers)))
        chunks = [light[i : i + size] for i in range(0, len(light), size)]
        if isinstance(self.executor, LocalExecutor) and "fork" in _start_methods():
            # local processes forked after this point inherit the samples: only index
            # ranges and results cross process boundaries, never the audio
            global _SHARED
            _SHARED = (metric, light)
            bounds = [(i, min(i + size, len(light))) for i in range(0, len(light), size)]
            pool = LocalExecutor(self.executor.workers)
            try:
                parts = list(pool.map(_score_shared_chunk, bounds))
            finally:
                pool.close()
                _SHARED = None
        else:
            parts = list(self.executor.map(partial(_score_chunk, metric), chunks))
        if any(p.set_values for p in parts):
            return metric.score(subset)  # set values cannot be merged: score as one set
        merged = MetricResult()
        offset = 0
        for chunk, part in zip(chunks, parts, strict=True):
            for column, values in part.per_sample.items():
                merged.per_sample.setdefault(column, []).append(
                    np.asarray(values, dtype=np.float64)
                )
            for (column, i), reason in part.reasons.items():
                merged.reasons[(column, offset + i)] = reason
            offset += len(chunk)
        merged.per_sample = {c: np.concatenate(v) for c, v in merged.per_sample.items()}
        return merged

    def _apply_failure_policy(
        self, planned: PlannedMetric, result: MetricResult, subset: list[Sample]
    ) -> None:
        if self.config.failure_policy != "score-as-failure":
            return
        for out in planned.info.outputs:
            values = result.per_sample.get(out.name)
            if values is None or out.worst is None:
                continue
            values = np.asarray(values, dtype=np.float64)
            for i, s in enumerate(subset):
                if not s.valid and math.isnan(values[i]):
                    values[i] = out.worst
                    result.reasons[(out.name, i)] = "failed output scored as the worst value"
            result.per_sample[out.name] = values

    # -- summary ---------------------------------------------------------------------
    def _write(
        self, samples: list[Sample], scores: dict[str, tuple[MetricResult, list[int]]]
    ) -> RunResult:
        from fmbench.files import git_sha, now_iso
        from fmbench.run.rundir import RunDir
        from fmbench.run.summary import RunSummary

        valid_mask = np.array([s.valid for s in samples])
        metrics_summary: dict[str, Any] = {}
        for planned in self.metrics:
            if planned.spec not in scores:
                continue
            result, idx = scores[planned.spec]
            for out in planned.info.outputs:
                key = _column_name(planned, out.name)
                entry = self._summarise_output(planned, result, idx, out.name, samples, valid_mask)
                if entry is None:
                    continue
                entry["direction"] = str(out.direction)
                metrics_summary[key] = entry
                if out.name in result.per_sample:
                    values = np.full(len(samples), np.nan)
                    values[idx] = np.asarray(result.per_sample[out.name], dtype=np.float64)
                    for s, v in zip(samples, values, strict=True):
                        s.scores[key] = float(v)
                    for (col, i), reason in result.reasons.items():
                        if col == out.name:
                            samples[idx[i]].notes[key] = reason
        accounting = {
            "n_items": len(samples),
            "n_generated": sum(s.raw_output is not None or s.direct_audio for s in samples),
            "n_parsed": sum(s.parsed is not None for s in samples),
            "n_valid": int(valid_mask.sum()),
            "n_repaired": sum(s.repaired for s in samples),
            "n_rendered": sum(s.patch is not None and "render" not in s.notes for s in samples),
            "n_inaudible": sum(_generated_audio(s) and is_inaudible(s.audio) for s in samples),
        }
        summary_dict = {
            "schema_version": 1,
            "run_id": self.run_dir.name,
            "created": now_iso(),
            "complete": True,
            "fmbench_version": __version__,
            "git_sha": git_sha(),
            "seed": self.config.seed,
            "benchmark": {
                "name": self.benchmark.name,
                "version": self.benchmark.version,
                "identity": self.benchmark.identity,
                "n_items": len(samples),
            },
            "generator": {
                "name": self.config.generator,
                "identity": getattr(self, "generator_identity", self.generator_info.name),
                "options": self.generator_options,
            },
            "renderer": {
                "name": self.renderer_info.name,
                "identity": getattr(self, "renderer_identity", self.renderer_info.name),
                "settings": json.loads(self.settings.key),
            },
            "failure_policy": self.config.failure_policy,
            "accounting": accounting,
            "metrics": metrics_summary,
            "errors": self.errors,
            "timings": self.timings,
        }
        store = RunDir(self.run_dir)
        store.write_samples([_sample_row(s) for s in samples])
        summary = RunSummary.from_dict(json.loads(json.dumps(summary_dict, default=_json_default)))
        store.write_summary(summary)
        store.write_manifest()
        return RunResult(self.run_dir, summary, samples)

    def _summarise_output(
        self,
        planned: PlannedMetric,
        result: MetricResult,
        idx: list[int],
        column: str,
        samples: list[Sample],
        valid_mask: np.ndarray,
    ) -> dict[str, Any] | None:
        from fmbench.stats import bootstrap_ci, jackknife_ci

        seed = self.config.seed
        base = {
            "metric": planned.info.name,
            "metric_identity": planned.spec,
            "kind": str(planned.info.metric_kind),
        }
        if column in result.per_sample:
            values = np.asarray(result.per_sample[column], dtype=np.float64)
            finite = values[~np.isnan(values)]
            low, high = bootstrap_ci(values, n_boot=self.config.n_boot, seed=seed)
            valid_vals = values[valid_mask[idx]]
            v_low, v_high = bootstrap_ci(valid_vals, n_boot=self.config.n_boot, seed=seed)
            v_finite = valid_vals[~np.isnan(valid_vals)]
            return {
                **base,
                "value": float(finite.mean()) if finite.size else math.nan,
                "ci_low": low,
                "ci_high": high,
                "n": int(finite.size),
                "n_nan": int(values.size - finite.size),
                "valid_only": {
                    "value": float(v_finite.mean()) if v_finite.size else math.nan,
                    "ci_low": v_low,
                    "ci_high": v_high,
                    "n": int(v_finite.size),
                },
            }
        if column not in result.set_values:
            return None
        value = float(result.set_values[column])
        metric = self.registry.create(ComponentKind.METRIC, planned.info.name, **planned.options)
        subset = [samples[i] for i in idx]

        def subset_fn(pool: list[Sample]) -> Callable[[Sequence[int]], float]:
            # a metric's own fast path (embed once, score index sets) when it has one
            resampler = getattr(metric, "resampler", None)
            if callable(resampler):
                on = resampler(pool)
                return lambda ix: float(on(np.asarray(ix)).get(column, math.nan))

            def recompute(ix: Sequence[int]) -> float:
                try:
                    return float(metric.score([pool[i] for i in ix]).set_values[column])
                except Exception:  # noqa: BLE001 - a degenerate resample gives NaN
                    return math.nan

            return recompute

        # set-level CIs: delete-one jackknife (fmbench.stats.jackknife_ci says why not the
        # bootstrap); the resampler fast path makes the n recomputations cheap
        low, high = jackknife_ci(subset_fn(subset), len(subset))
        valid_pool = [s for s in subset if s.valid]
        if len(valid_pool) == len(subset):
            v_value, v_low, v_high = value, low, high
        elif len(valid_pool) >= 2:
            v_value = float(metric.score(valid_pool).set_values.get(column, math.nan))
            v_low, v_high = jackknife_ci(subset_fn(valid_pool), len(valid_pool))
        else:
            v_value = v_low = v_high = math.nan
        _release(metric)
        return {
            **base,
            "value": value,
            "ci_low": low,
            "ci_high": high,
            "n": len(subset),
            "n_nan": 0,
            "ci_method": "jackknife",
            "valid_only": {
                "value": v_value,
                "ci_low": v_low,
                "ci_high": v_high,
                "n": len(valid_pool),
            },
        }


def _release(component: Any) -> None:
    """Close a component that holds a model (if it can be closed) and free memory."""
    if component is None:
        return
    close = getattr(component, "close", None)
    if callable(close):
        close()
    from fmbench.modelstore import release_memory

    release_memory()


def _score_chunk(metric: Any, samples: list[Sample]) -> MetricResult:
    return metric.score(samples)


#: (metric, samples) inherited by forked scoring workers (see Runner._score_chunked)
_SHARED: tuple[Any, list[Sample]] | None = None


def _score_shared_chunk(bounds: tuple[int, int]) -> MetricResult:
    assert _SHARED is not None, "scoring worker started without shared samples"
    metric, samples = _SHARED
    return metric.score(samples[bounds[0] : bounds[1]])


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def _column_name(planned: PlannedMetric, output: str) -> str:
    """Summary/table column: the output name, suffixed with the spec's argument (fad:mfcc)."""
    arg = planned.spec.partition(":")[2]
    return f"{output}:{arg}" if arg else output


def _generated_audio(s: Sample) -> bool:
    """The sample has audio the system produced (a render of its patch, or direct audio),
    as opposed to the silence a failed sample is scored with."""
    return s.audio is not None and (s.patch is not None or s.direct_audio)


def _sample_row(s: Sample) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": s.id,
        "caption": s.caption,
        "raw_output": s.raw_output,
        "parsed_ok": s.parsed is not None,
        "parse_error": s.parse_error,
        "valid": s.valid,
        "problems": [p.to_dict() for p in s.problems[:20]],
        "repaired": s.repaired,
        "rendered": s.patch is not None and "render" not in s.notes,
        "inaudible": bool(_generated_audio(s) and is_inaudible(s.audio)),
        "patch": s.patch.to_json() if s.patch is not None else None,
        "audio_hash": s.audio.content_hash if _generated_audio(s) else None,
        "direct_audio": s.direct_audio,
    }
    row.update(s.scores)
    for key, note in s.notes.items():
        row[f"note:{key}"] = note
    return row


def _result_to_json(result: MetricResult, identity: str, ids: list[str]) -> dict[str, Any]:
    return {
        "identity": identity,
        "ids": ids,
        "per_sample": {
            k: [None if math.isnan(x) else float(x) for x in np.asarray(v, dtype=float)]
            for k, v in result.per_sample.items()
        },
        "set_values": {k: float(v) for k, v in result.set_values.items()},
        "reasons": [[c, i, r] for (c, i), r in result.reasons.items()],
    }


def _result_from_json(data: dict[str, Any]) -> MetricResult:
    return MetricResult(
        per_sample={
            k: np.array([math.nan if x is None else x for x in v], dtype=np.float64)
            for k, v in data["per_sample"].items()
        },
        set_values={k: float(v) for k, v in data["set_values"].items()},
        reasons={(c, int(i)): r for c, i, r in data["reasons"]},
    )
