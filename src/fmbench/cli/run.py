"""`fmbench run`: one command from a generator to a scored, stored run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from fmbench.cli.common import echo_json, workers_option


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
    """A human-readable report of a run summary: accounting and one line per metric."""
    acc = summary.to_dict()["accounting"]
    lines = [
        f"run {summary.run_id}: {summary.to_dict()['benchmark']['identity']}, "
        f"generator {summary.to_dict()['generator']['name']}",
        "items {n_items} · parsed {n_parsed} · valid {n_valid} · rendered {n_rendered} · "
        "inaudible {n_inaudible} · repaired {n_repaired}".format(**acc),
        "",
        f"{'metric':<24}{'value':>10}  {'95% CI':<20}{'valid-only':>11}   n",
    ]
    for name, m in summary.to_dict()["metrics"].items():
        arrow = "↑" if m["direction"] == "higher" else "↓"

        def fmt(x: Any) -> str:
            return "nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"

        ci = f"[{fmt(m.get('ci_low'))}, {fmt(m.get('ci_high'))}]"
        valid = m.get("valid_only") or {}
        lines.append(
            f"{name + ' ' + arrow:<24}{fmt(m['value']):>10}  {ci:<20}{fmt(valid.get('value')):>11}"
            f"   {m.get('n', '')}"
        )
    for name, error in summary.to_dict().get("errors", {}).items():
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
@click.option(
    "--failure-policy",
    type=click.Choice(["score-as-failure", "valid-only"]),
    default="score-as-failure",
    show_default=True,
    help="How unparsable/invalid outputs count; valid-only numbers are always reported too.",
)
@click.option(
    "--repair",
    type=click.Choice(["clamp", "seed"]),
    help="Opt-in repair of invalid patches before rendering.",
)
@click.option("--renderer", help="Override the benchmark's renderer.")
@click.option(
    "--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples for CIs."
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
    from fmbench.run.runner import RunConfig, Runner

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

    runner = Runner(
        config, run_dir=run_dir, runs_root=runs_root, resume=resume, progress=not quiet, log=log
    )
    log(f"run directory: {runner.run_dir}")
    result = runner.run()
    if as_json:
        echo_json(result.summary.to_dict())
    else:
        click.echo(format_summary(result.summary))
        click.echo(f"\nstored in {result.run_dir}")
