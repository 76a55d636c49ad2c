"""The leaderboard as a full, single-file HTML page (``fmbench leaderboard --format html``;
``leaderboard/index.html`` is written beside ``README.md``).

The tables come from :mod:`fmbench.leaderboard` (the same grouping, columns and best
values as the Markdown); this module adds what a page can show: every value's interval,
coverage (scored items / benchmark items), flags where a row's renderer, render settings,
benchmark version or metric identity differs from the rest of its table, sortable
columns and a link to each row's report where one exists
(``<leaderboard>/reports/<run-id>/index.html``, written by ``fmbench report``). The page
is deterministic (no timestamps), so CI can check it is up to date.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

from fmbench import leaderboard as lb
from fmbench.files import atomic_write_text, slugify
from fmbench.report.html import esc, is_num, num_attr, page
from fmbench.report.sources import safe_name

#: the page written next to the leaderboard's README.md
INDEX_HTML = "index.html"
#: where reports of leaderboard rows live, relative to the leaderboard folder
REPORTS_SUBDIR = "reports"


def report_path(leaderboard_dir: str | os.PathLike[str], run_id: str) -> Path:
    """Where the report of ``run_id`` is expected: ``<dir>/reports/<run-id>/index.html``."""
    return Path(leaderboard_dir) / REPORTS_SUBDIR / safe_name(run_id) / "index.html"


def _mode(values: list[str]) -> str | None:
    """The most common value (ties: the first seen), None for an empty list."""
    if not values:
        return None
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def row_mismatches(table: Any) -> dict[str, list[tuple[str, str]]]:
    """For each row (file name) of a table, how its identities differ from the table's
    most common ones, as ``(what, message)``: ``what`` is ``renderer``, ``render
    settings``, ``benchmark`` or ``metric:<column>``."""
    rows = table.rows
    facets = {
        "renderer": lambda s: s.renderer.identity,
        "render settings": lambda s: json.dumps(s.renderer.options, sort_keys=True),
        "benchmark": lambda s: s.benchmark.identity,
    }
    out: dict[str, list[tuple[str, str]]] = {fname: [] for fname, _ in rows}
    if len(rows) < 2:
        return out
    for label, get in facets.items():
        common = _mode([get(s) for _, s in rows])
        for fname, s in rows:
            if get(s) != common:
                out[fname].append((label, f"{label} {get(s)} (others: {common})"))
    for col in table.columns:
        idents = [s.metrics[col.name].metric_identity for _, s in rows if col.name in s.metrics]
        common = col.identity or _mode(idents)  # the identity the leaderboard compares
        for fname, s in rows:
            m = s.metrics.get(col.name)
            if m is not None and m.metric_identity != common:
                out[fname].append(
                    (f"metric:{col.name}", f"{col.name}: {m.metric_identity} (others: {common})")
                )
    return out


def coverage(summary: Any, n_items: int) -> tuple[int, int]:
    """``(scored, items)``: the fewest items any of the row's metrics scored, and the
    benchmark's item count."""
    total = n_items or summary.benchmark.n_items or summary.accounting.n_items
    ns = [m.n for m in summary.metrics.values()]
    return (min(ns) if ns else 0), total


def _cell(summary: Any, col: Any, n_items: int, mismatch: bool) -> str:
    m = summary.metrics.get(col.name)
    if m is None:
        return '<td data-v="">–</td>'
    value = lb.format_value(m.value)
    ci = ""
    if math.isfinite(m.ci_low) and math.isfinite(m.ci_high):
        ci = f'<div class="ci">{lb.format_value(m.ci_low)} – {lb.format_value(m.ci_high)}</div>'
    cov = ""
    if n_items and m.n < n_items:
        cov = f'<div class="dim" title="items with a value / benchmark items">n = {m.n}/{n_items}</div>'
    flag = (
        f' <span class="mismatch" title="metric identity {esc(m.metric_identity)} differs from '
        f'the rest of this column">⚠</span>'
        if mismatch
        else ""
    )
    cls = ' class="best"' if col.is_best(m.value) else ""
    inner = f"<strong>{esc(value)}</strong>" if col.is_best(m.value) else esc(value)
    return (
        f'<td{cls} data-v="{num_attr(m.value)}" title="{esc(m.metric_identity)}, '
        f'{esc(m.ci_method)} CI">{inner}{flag}{ci}{cov}</td>'
    )


def _table_html(table: Any, leaderboard_dir: Path, link_base: str) -> str:
    mism = row_mismatches(table)
    heads = [
        '<th data-sort="text">generator</th>',
        '<th data-sort="num" data-dir="higher" title="items every metric scored / benchmark items">'
        "coverage</th>",
        '<th data-sort="num" data-dir="higher" title="share of outputs that parsed and validated">'
        "valid</th>",
    ]
    for c in table.columns:
        heads.append(
            f'<th data-sort="num" data-dir="{esc(c.direction)}" data-col="{esc(c.name)}">'
            f"{esc(c.name)} {c.arrow}</th>"
        )
    heads += ['<th data-sort="text">report</th>', '<th data-sort="text">run</th>']
    body = []
    for fname, s in table.rows:
        problems = [text for _, text in mism.get(fname, [])]
        col_flags = {what[len("metric:") :] for what, _ in mism.get(fname, [])}
        scored, total = coverage(s, table.n_items)
        share = scored / total if total else math.nan
        acc = s.accounting
        n = acc.n_items or total
        valid = acc.n_valid / n if n else math.nan
        flag = (
            f' <span class="mismatch" title="{esc("; ".join(problems))}">⚠ identity</span>'
            if problems
            else ""
        )
        cells = [
            f'<td data-v="{esc(s.generator.name)}"><b>{esc(s.generator.name)}</b>{flag}'
            f'<div class="dim">{esc(s.generator.identity)}</div></td>',
            f'<td data-v="{num_attr(share)}">{scored}/{total}</td>',
            f'<td data-v="{num_attr(valid)}">{"–" if not is_num(valid) else f"{valid:.0%}"}</td>',
        ]
        cells += [_cell(s, c, total, c.name in col_flags) for c in table.columns]
        rp = report_path(leaderboard_dir, s.run_id)
        if rp.is_file():
            href = f"{link_base}{REPORTS_SUBDIR}/{safe_name(s.run_id)}/index.html"
            cells.append(
                f'<td data-v="1"><a class="report-link" href="{esc(href)}">report</a></td>'
            )
        else:
            cells.append('<td data-v="" class="dim">–</td>')
        cells.append(f'<td data-v="{esc(s.run_id)}"><code>{esc(s.run_id)}</code></td>')
        body.append(f'<tr class="{"flagged" if problems else ""}">{"".join(cells)}</tr>')
    notes = []
    for fname, s in table.rows:
        for _, p in mism.get(fname, []):
            notes.append(f"<li><code>{esc(s.run_id)}</code>: {esc(p)}</li>")
    note_html = (
        '<div class="warnings"><b>Identity mismatches</b> (values from these rows are not '
        f"directly comparable with the rest):<ul>{''.join(notes)}</ul></div>"
        if notes
        else ""
    )
    renderers = sorted({s.renderer.identity for _, s in table.rows})
    return (
        f'<section class="bench"><h2 id="{esc(slugify(table.benchmark))}">{esc(table.benchmark)} '
        f'<span class="dim">({table.n_items} items, renderer {esc(", ".join(renderers))})</span>'
        f"</h2>{note_html}"
        '<div class="scroll"><table class="leaderboard sortable"><thead><tr>'
        + "".join(heads)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div></section>"
    )


def leaderboard_html(
    leaderboard_dir: str | os.PathLike[str] = lb.DEFAULT_DIR,
    *,
    benchmark: str | None = None,
    link_base: str = "",
) -> str:
    """The full leaderboard page; report links are ``link_base`` + ``reports/...``
    (``link_base`` is the path from the page's folder to the leaderboard folder)."""
    lb_dir = Path(leaderboard_dir)
    tables = lb.build_tables(lb.load_submissions(lb_dir), benchmark)
    if benchmark and not tables:
        raise lb.LeaderboardError(
            f"no submitted runs for benchmark {benchmark!r} in {lb.runs_dir(lb_dir)}"
        )
    if link_base and not link_base.endswith("/"):
        link_base += "/"
    toc = "".join(
        f'<li><a href="#{esc(slugify(t.benchmark))}">{esc(t.benchmark)}</a> '
        f'<span class="dim">({len(t.rows)} runs)</span></li>'
        for t in tables
    )
    intro = (
        '<nav class="top"><b>fmbench leaderboard</b></nav>'
        "<header><h1>fmbench leaderboard</h1>"
        '<p class="lb-note">Generated by <code>fmbench leaderboard --write</code> from '
        "<code>runs/*.json</code>; do not edit by hand. Each cell is the metric value over all "
        "items (failures scored as failures) with its 95% interval below it (percentile "
        "bootstrap for per-item metrics, delete-one jackknife for set-level ones). "
        "↑ higher is better, ↓ lower is better; the best value of each column is bold and "
        "green. <b>coverage</b> is the number of items every metric scored over the "
        "benchmark's items; <b>valid</b> the share of outputs that parsed and validated; "
        "⚠ marks a row whose renderer, settings, benchmark version or metric identity "
        "differs from the rest of its table. Click a column to sort it (best first, again "
        "for worst first). Submit a run with <code>fmbench submit runs/&lt;run-id&gt;</code>; "
        "write its report to <code>reports/&lt;run-id&gt;/</code> with "
        "<code>fmbench report</code> to link it here.</p></header>"
    )
    if not tables:
        body = intro + "<p>No runs submitted yet.</p>"
    else:
        body = (
            intro
            + f'<ul class="toc">{toc}</ul>'
            + "".join(_table_html(t, lb_dir, link_base) for t in tables)
        )
    return page("fmbench leaderboard", body, page_id="leaderboard", inline=True)


def index_text(leaderboard_dir: str | os.PathLike[str] = lb.DEFAULT_DIR) -> str:
    """The generated ``<leaderboard>/index.html`` (links relative to the folder itself)."""
    return leaderboard_html(leaderboard_dir)


def write_index(leaderboard_dir: str | os.PathLike[str] = lb.DEFAULT_DIR) -> Path:
    """Regenerate ``<leaderboard>/index.html`` atomically."""
    path = Path(leaderboard_dir) / INDEX_HTML
    atomic_write_text(path, index_text(leaderboard_dir))
    return path


def check_index(leaderboard_dir: str | os.PathLike[str] = lb.DEFAULT_DIR) -> None:
    """Raise :class:`fmbench.leaderboard.StaleLeaderboardError` unless the committed
    ``index.html`` is what the summaries (and existing reports) generate."""
    path = Path(leaderboard_dir) / INDEX_HTML
    if not path.exists():
        raise lb.StaleLeaderboardError(f"{path} is missing; run `fmbench leaderboard --write`")
    if path.read_text(encoding="utf-8") != index_text(leaderboard_dir):
        raise lb.StaleLeaderboardError(
            f"{path} is stale (it differs from what {lb.runs_dir(leaderboard_dir)}/*.json "
            f"generate); run `fmbench leaderboard --write` and commit it"
        )
