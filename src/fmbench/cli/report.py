"""`fmbench report`: a static HTML site to listen to and look at runs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--output",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the site into (replaced if it holds an earlier report).",
)
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Processes for encoding and rendering cache misses (default: all CPUs).",
)
@click.option("--title", help="Page title (default: benchmark and generators).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def report_cmd(
    runs: tuple[Path, ...], out_dir: Path, workers: int | None, title: str | None, quiet: bool
) -> None:
    """Write a self-contained HTML report of RUNS (run directories of one benchmark).

    Open DIR/index.html in a browser straight from disk: per item, audio players,
    A/B listening across runs, spectrograms, RMS envelopes, the patch against the
    reference and every metric value; a sortable, filterable item table; the runs'
    accounting, intervals, identities and timings. See docs/report.md.

    \b
    Examples:
      fmbench report runs/smoke-retrieval-* -o reports/smoke
      fmbench report runs/A runs/B -o reports/a-vs-b
    """
    from fmbench.executor import default_workers
    from fmbench.report.site import build_report

    def log(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    index = build_report(runs, out_dir, workers=workers or default_workers(), title=title, log=log)
    click.echo(f"wrote {index}")
