"""`fmbench run`: one command from a generator to a scored, stored run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from fmbench.cli.common import echo_json, failure_policy_option, repair_option, workers_option


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _options(pairs: tuple[str, ...]) -> dict[str, Any]:
    import json

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--option")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def format_summary(summary: Any) -> str:
    """A human-readable report of a run summary: accounting and one line per metric.

    A per-sample value that covers fewer items than it had to is marked INCOMPLETE."""

    def fmt(x: Any) -> str:
        return "nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"

    acc = summary.accounting
    lines = [
        f"run {summary.run_id}: {summary.benchmark.identity}, generator {summary.generator.name}",
        f"items {acc.n_items} · parsed {acc.n_parsed} · valid {acc.n_valid} · rendered "
        f"{acc.n_rendered} · inaudible {acc.n_inaudible} · repaired {acc.n_repaired}",
        "",
        f"{'metric':<24}{'value':>10}  {'95% CI':<20}{'valid-only':>11}   n",
    ]
    for name, m in summary.metrics.items():
        ci = f"[{fmt(m.ci_low)}, {fmt(m.ci_high)}]"
        valid = fmt(m.valid_only.value) if m.valid_only is not None else "nan"
        n = f"{m.n}" if m.complete else f"{m.n}/{m.n_items} INCOMPLETE"
        lines.append(f"{name + ' ' + m.arrow:<24}{fmt(m.value):>10}  {ci:<20}{valid:>11}   {n}")
    for name, error in summary.errors.items():
        lines.append(f"{name:<24}FAILED: {error}")
    return "\n".join(lines)


@click.command("run")
@click.option(
    "--benchmark", "-b", default="default", show_default=True, help="Benchmark name or TOML path."
)
@click.option(
    "--generator",
    "-g",
    required=True,
    help="Generator spec NAME[:ARG], e.g. retrieval, outputs:preds.csv.",
)
@click.option(
    "--metrics",
    "-m",
    help="Comma-separated metric specs NAME[:ARG] (default: the benchmark's set).",
)
@click.option(
    "--option",
    "-o",
    "generator_options",
    multiple=True,
    help="Generator option KEY=VALUE (repeatable).",
)
@click.option("--limit", type=int, help="Evaluate only the first N items.")
@workers_option("Worker processes for rendering and per-sample scoring")
@click.option(
    "--executor",
    default="local",
    show_default=True,
    help="Where rendering and per-sample scoring run: local, dask (a local cluster) or dask:ADDRESS.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--run-dir", type=click.Path(path_type=Path), help="Run directory (default runs/<run-id>)."
)
@click.option(
    "--runs-root", type=click.Path(path_type=Path), default=Path("runs"), show_default=True
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an interrupted run (same options); nothing finished is redone.",
)
@failure_policy_option()
@repair_option("Opt-in repair of invalid patches before rendering.")
@click.option("--renderer", help="Override the benchmark's renderer.")
@click.option(
    "--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples for CIs."
)
@click.option(
    "--save-audio",
    is_flag=True,
    help="Also write the generated and reference audio to RUN_DIR/audio/ (FLAC; docs/report.md).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or log lines.")
def run_cmd(
    benchmark: str,
    generator: str,
    metrics: str | None,
    generator_options: tuple[str, ...],
    limit: int | None,
    workers: int,
    executor: str,
    seed: int,
    run_dir: Path | None,
    runs_root: Path,
    resume: bool,
    failure_policy: str,
    repair: str | None,
    renderer: str | None,
    n_boot: int,
    save_audio: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run GENERATOR on a benchmark: generate, parse, render, score, store.

    \b
    Examples:
      fmbench run --generator retrieval
      fmbench run -g outputs:preds.csv --metrics rms,dx7_dist,kad:mfcc --limit 20
      fmbench run -g random --resume          # continue the last interrupted run
    """
    from fmbench.config import ConfigError, config_problems
    from fmbench.errors import UnknownComponentError
    from fmbench.run.runner import RunConfig, Runner

    problems = config_problems()
    for problem in problems:  # shown even with --quiet: the user's own file is broken
        click.echo(f"Warning: {problem}", err=True)
    config = RunConfig(
        benchmark=benchmark,
        generator=generator,
        generator_options=_options(generator_options),
        metrics=_split(metrics),
        renderer=renderer,
        limit=limit,
        seed=seed,
        failure_policy=failure_policy,
        repair=repair,
        workers=workers,
        executor=executor,
        n_boot=n_boot,
    )

    def log(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    try:
        runner = Runner(
            config, run_dir=run_dir, runs_root=runs_root, resume=resume, progress=not quiet, log=log
        )
    except UnknownComponentError as exc:
        if problems and exc.kind == "generator":
            raise ConfigError(
                f"{exc}. If a config file defines it, that file could not be used: "
                + "; ".join(problems)
            ) from None
        raise
    log(f"run directory: {runner.run_dir}")
    result = runner.run()
    if save_audio:
        from fmbench.report.sources import export_audio

        folder = export_audio(result.run_dir, workers=workers)
        log(f"audio written to {folder}")
    if as_json:
        echo_json(result.summary.to_dict())
    else:
        click.echo(format_summary(result.summary))
        click.echo(f"\nstored in {result.run_dir}")
