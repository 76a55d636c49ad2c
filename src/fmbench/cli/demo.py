"""`fmbench demo`: the default benchmark end to end with the baselines, then the leaderboard."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click

from fmbench.cli.common import workers_option


@click.command("demo")
@click.option("--benchmark", "-b", default="default", show_default=True)
@click.option(
    "--generators",
    default="random,prior,retrieval,oracle",
    show_default=True,
    help="Comma-separated generator specs to run.",
)
@click.option("--metrics", "-m", help="Comma-separated metric specs (default: the benchmark's).")
@click.option("--limit", type=int, help="Evaluate only the first N items.")
@workers_option("Worker processes for rendering and per-sample scoring")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("runs/demo"),
    show_default=True,
    help="Where the runs and the demo leaderboard go.",
)
@click.option("--quiet", "-q", is_flag=True)
def demo_cmd(
    benchmark: str,
    generators: str,
    metrics: str | None,
    limit: int | None,
    workers: int,
    out: Path,
    quiet: bool,
) -> None:
    """Run the baselines on a benchmark and print the resulting leaderboard.

    Each run lives in OUT/<generator>-<config hash>/ and is resumed (nothing recomputed)
    when the command is repeated with the same options. Exits with status 1 when any
    metric of any run failed (after printing the leaderboard and the failures).
    """
    from fmbench.cli.run import _split, format_summary
    from fmbench.leaderboard import render, submit
    from fmbench.run.runner import RunConfig, Runner

    board = out / "leaderboard"
    failed: list[str] = []
    for spec in _split(generators) or ():
        config = RunConfig(
            benchmark=benchmark,
            generator=spec,
            metrics=_split(metrics),
            limit=limit,
            workers=workers,
        )
        digest = hashlib.sha256(json.dumps(config.identity(), sort_keys=True).encode()).hexdigest()
        run_dir = out / f"{spec.replace(':', '-').replace('/', '-')}-{digest[:8]}"

        def log(message: str, _spec: str = spec) -> None:
            if not quiet:
                click.echo(f"[{_spec}] {message}", err=True)

        runner = Runner(
            config,
            run_dir=run_dir,
            resume=(run_dir / "config.json").exists(),
            progress=not quiet,
            log=log,
        )
        result = runner.run()
        if not quiet:
            click.echo(format_summary(result.summary) + "\n", err=True)
        failed.extend(f"{spec}: metric {m} failed: {e}" for m, e in result.summary.errors.items())
        submit(result.run_dir, board, force=True)
    click.echo(render(board, fmt="md", benchmark=benchmark))
    if failed:
        click.echo(f"\n{len(failed)} metric failure(s):", err=True)
        for line in failed:
            click.echo(f"  {line}", err=True)
        raise SystemExit(1)
