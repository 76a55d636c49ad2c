"""`fmbench leaderboard`, `fmbench submit`, `fmbench compare` and `fmbench check`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fmbench.cli.common import echo_json

_LB_HELP = "Leaderboard folder (holds runs/*.json and README.md)."


@click.command("leaderboard")
@click.option("--benchmark", "-b", help="Only this benchmark (name or name@version).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "csv", "html", "json"]),
    default="md",
    show_default=True,
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 if the committed README.md or index.html is stale (for CI).",
)
@click.option("--write", is_flag=True, help="Regenerate <dir>/README.md and <dir>/index.html.")
@click.option(
    "--dir",
    "lb_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("leaderboard"),
    show_default=True,
    help=_LB_HELP,
)
def leaderboard_cmd(
    benchmark: str | None, fmt: str, output: Path | None, check: bool, write: bool, lb_dir: Path
) -> None:
    """Show the leaderboard built from submitted run summaries.

    Columns are metric outputs with ↑/↓ from each metric's direction; the best value of
    each column is bold; cells show the value and its 95% bootstrap CI. `--format html`
    is a full page (intervals, coverage, identity mismatches, links to reports); see
    docs/report.md.
    """
    from fmbench import leaderboard as lb
    from fmbench.report import leaderboard_page as page

    if check:
        try:
            lb.check_readme(lb_dir)
            page.check_index(lb_dir)
        except lb.StaleLeaderboardError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        click.echo(f"{lb_dir / lb.README} and {lb_dir / page.INDEX_HTML} are up to date")
        return
    if write:
        click.echo(f"wrote {lb.write_readme(lb_dir)}")
        click.echo(f"wrote {page.write_index(lb_dir)}")
        return
    if fmt == "html":
        import os

        base = os.path.relpath(lb_dir, output.parent if output else Path.cwd())
        text = page.leaderboard_html(
            lb_dir, benchmark=benchmark, link_base="" if base == "." else base
        )
    else:
        text = lb.render(lb_dir, fmt=fmt, benchmark=benchmark)
    if output:
        from fmbench.files import atomic_write_text

        atomic_write_text(output, text)
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@click.command("submit")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--leaderboard",
    "lb_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("leaderboard"),
    show_default=True,
    help=_LB_HELP,
)
@click.option("--force", is_flag=True, help="Replace a different summary with the same name.")
@click.option("--no-readme", is_flag=True, help="Do not regenerate README.md and index.html.")
def submit_cmd(run_dir: Path, lb_dir: Path, force: bool, no_readme: bool) -> None:
    """Add a complete run's summary to the leaderboard (and regenerate its README)."""
    from fmbench import leaderboard as lb

    dest = lb.submit(run_dir, lb_dir, force=force)
    click.echo(f"submitted {run_dir} as {dest}")
    if not no_readme:
        from fmbench.report.leaderboard_page import write_index

        click.echo(f"wrote {lb.write_readme(lb_dir)}")
        click.echo(f"wrote {write_index(lb_dir)}")


@click.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option(
    "--method",
    type=click.Choice(["bootstrap", "wilcoxon"]),
    default="bootstrap",
    show_default=True,
    help="Paired test on the per-item values (items joined by id).",
)
@click.option("--n-boot", type=click.IntRange(min=100), default=2000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def compare_cmd(
    run_a: Path, run_b: Path, method: str, n_boot: int, seed: int, alpha: float, as_json: bool
) -> None:
    """Paired test per metric between two runs of the same benchmark.

    Says, for each metric, whether A or B is significantly better (direction-aware) or
    that the difference is not significant at --alpha.
    """
    from fmbench.compare import compare_runs, format_comparison

    cmp = compare_runs(run_a, run_b, method=method, n_boot=n_boot, seed=seed, alpha=alpha)
    if as_json:
        echo_json(cmp.to_dict())
    else:
        click.echo(format_comparison(cmp))


@click.command("check")
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "--baseline",
    required=True,
    type=click.Path(path_type=Path),
    help="Baseline summary.json (or run directory).",
)
@click.option(
    "--tolerance",
    "-t",
    "tolerance",
    multiple=True,
    help="METRIC=X (absolute) or METRIC=X% (of the baseline); comma-separated or repeated; "
    "'default=X' sets the rest. Default: 1% of the baseline value.",
)
@click.option("--allow-missing", is_flag=True, help="Do not fail on metrics the run lacks.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check_cmd(
    run: Path, baseline: Path, tolerance: tuple[str, ...], allow_missing: bool, as_json: bool
) -> None:
    """Regression check: exit 1 if any metric is worse than the baseline beyond tolerance.

    Direction-aware (a lower KAD is better, a higher CLAP is better). A metric the run
    lacks, or a NaN where the baseline had a value, fails too. Exit codes: 0 passed,
    1 regression, 2 unusable input.
    """
    from fmbench.compare import check_run, format_check, parse_tolerances

    per, default = parse_tolerances(",".join(tolerance))
    report = check_run(run, baseline, tolerances=per, default=default, allow_missing=allow_missing)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(format_check(report))
    if not report.passed:
        sys.exit(1)


COMMANDS = (leaderboard_cmd, submit_cmd, compare_cmd, check_cmd)
