"""`fmbench show RUN`: a stored run's summary, its failures and its outliers."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import click

from fmbench.cli.common import echo_json


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def worst_samples(
    rows: list[dict[str, Any]], column: str, direction: str, n: int
) -> list[dict[str, Any]]:
    """The ``n`` samples with the worst finite values of ``column`` (direction-aware)."""
    scored = [r for r in rows if _finite(r.get(column))]
    scored.sort(key=lambda r: r[column], reverse=(direction == "lower"))
    return scored[:n]


def failure_counts(rows: list[dict[str, Any]]) -> Counter[str]:
    """Why samples failed: parse errors (first clause) and validation problem paths."""
    reasons: Counter[str] = Counter()
    for r in rows:
        if r.get("parse_error"):
            reasons["unparsable: " + str(r["parse_error"]).split(":")[0]] += 1
        elif r.get("parsed_ok") and not r.get("valid"):
            for problem in r.get("problems") or []:
                key = str(problem.get("path", "")).split("[")[0] or "<patch>"
                reasons[f"invalid: {key}"] += 1
    return reasons


@click.command("show")
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--worst", "n_worst", type=int, default=3, show_default=True, help="Outliers per metric."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_cmd(run_dir: Path, n_worst: int, as_json: bool) -> None:
    """Show a run: accounting, metric values, why samples failed, and the worst samples."""
    from fmbench.cli.run import format_summary
    from fmbench.run.rundir import RunDir

    store = RunDir(run_dir)
    summary = store.load_summary()
    rows = store.read_samples()
    metrics = summary.to_dict()["metrics"]
    outliers = {
        name: [
            {"id": r["id"], "value": r[name], "caption": r.get("caption")}
            for r in worst_samples(rows, name, m["direction"], n_worst)
        ]
        for name, m in metrics.items()
        if any(name in r for r in rows)
    }
    failures = failure_counts(rows)
    if as_json:
        echo_json(
            {
                "summary": summary.to_dict(),
                "complete": store.is_complete(),
                "failures": dict(failures.most_common()),
                "worst": outliers,
            }
        )
        return
    click.echo(format_summary(summary))
    if not store.is_complete():
        click.secho("\nthis run is INCOMPLETE: " + "; ".join(store.problems()), fg="red")
    if failures:
        click.echo("\nwhy samples failed:")
        for reason, count in failures.most_common(10):
            click.echo(f"  {count:>4}  {reason}")
    if n_worst > 0 and outliers:
        click.echo(f"\nworst {n_worst} samples per metric:")
        for name, items in outliers.items():
            shown = ", ".join(f"{o['id']} ({o['value']:.4g})" for o in items)
            click.echo(f"  {name:<24}{shown}")
