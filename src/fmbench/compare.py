"""Comparing runs: paired tests between two runs, and the regression check against a baseline.

Both read only what the run store holds (``summary.json`` and the samples table); the
direction of every metric comes from the summaries (the metric's registered metadata).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fmbench.components import Direction
from fmbench.errors import FmbenchError
from fmbench.run.rundir import RunDir
from fmbench.run.summary import RunSummary, item_set_hash, load_summary
from fmbench.stats import PairedResult, paired_test

#: Default regression tolerance: a metric may get worse by up to 1% of the baseline's
#: magnitude (relative, so it suits both CLAP ≈ 0.2 and KAD ≈ 50) before it counts as
#: a regression. Override per metric with ``--tolerance rms=0.01,kad=5%`` or for all
#: metrics with ``--tolerance default=0``.
DEFAULT_TOLERANCE_PCT = 1.0


class CompareError(FmbenchError):
    """Two runs (or a run and a baseline) cannot be compared."""


def _open_run(path: str | os.PathLike[str]) -> tuple[RunSummary, RunDir | None]:
    """A run directory (must be complete) or a bare summary file."""
    p = Path(path)
    if p.is_dir():
        store = RunDir(p)
        store.require_complete()
        return store.load_summary(), store
    return load_summary(p), None


def _ids(store: RunDir | None) -> list[str] | None:
    """The item ids of a run's samples table (None for a bare summary)."""
    return None if store is None else [str(r["id"]) for r in store.read_samples()]


def _item_set(summary: RunSummary, ids: list[str] | None) -> str:
    """The run's item-set hash: recorded in the summary, else computed from its samples
    table, else "" (a bare summary written before item sets were recorded)."""
    if summary.benchmark.item_set:
        return summary.benchmark.item_set
    return item_set_hash(ids) if ids is not None else ""


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _same_benchmark(a: RunSummary, b: RunSummary, la: str, lb: str) -> None:
    if a.benchmark.identity != b.benchmark.identity:
        raise CompareError(
            f"{la} ran benchmark {a.benchmark.identity!r} but {lb} ran "
            f"{b.benchmark.identity!r}; only runs of the same benchmark can be compared"
        )


# --------------------------------------------------------------------------------------
# compare


@dataclass
class MetricComparison:
    """One metric column compared between runs A and B."""

    column: str
    direction: str
    value_a: float
    value_b: float
    verdict: str  # "A better" | "B better" | "no significant difference" | a reason
    test: PairedResult | None = None
    note: str = ""
    run_value_a: float = math.nan  # the summaries' whole-run values
    run_value_b: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``value_a``/``value_b`` are over the paired items for tested
        metrics; ``run_value_a``/``run_value_b`` are the summaries' whole-run values)."""

        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "column": self.column,
            "direction": self.direction,
            "value_a": num(self.value_a),
            "value_b": num(self.value_b),
            "run_value_a": num(self.run_value_a),
            "run_value_b": num(self.run_value_b),
            "verdict": self.verdict,
            "test": None if self.test is None else self.test.to_dict(),
            "note": self.note,
        }


@dataclass
class Comparison:
    """The result of :func:`compare_runs`."""

    run_a: str
    run_b: str
    benchmark: str
    method: str
    n_common: int
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    metrics: list[MetricComparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "benchmark": self.benchmark,
            "method": self.method,
            "n_common": self.n_common,
            "n_left_out": len(self.only_a) + len(self.only_b),
            "only_a": self.only_a,
            "only_b": self.only_b,
            "metrics": [m.to_dict() for m in self.metrics],
            "notes": self.notes,
        }


def _column(rows: list[dict[str, Any]], name: str, source: Path) -> dict[str, float]:
    out = {}
    for row in rows:
        v = row.get(name)
        if isinstance(v, str):
            raise CompareError(f"{source}: column {name!r} is not numeric (row id {row['id']!r})")
        out[row["id"]] = math.nan if v is None else float(v)
    return out


def compare_runs(
    run_a: str | os.PathLike[str],
    run_b: str | os.PathLike[str],
    *,
    method: str = "bootstrap",
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> Comparison:
    """Paired test per metric between two complete runs, items joined by ``id``.

    Only the paired items count: for a tested metric ``value_a``/``value_b`` are the
    means over the pairs with a value on both sides, so ``value_a − value_b`` is the
    tested mean difference; items only in one run are counted (``only_a``/``only_b``)
    and left out. Set-level metrics (kind ``set``) have no per-item values: they are
    listed with their whole-run values but not tested, and marked not comparable when
    the runs scored different items. Metrics scored with different identities are not
    compared; a renderer difference is a note. ``verdict`` is direction-aware ("A
    better" means A's value is significantly better under the metric's direction).
    """
    sa, store_a = _open_run(run_a)
    sb, store_b = _open_run(run_b)
    if store_a is None or store_b is None:
        raise CompareError("compare needs two run directories (their samples tables are paired)")
    _same_benchmark(sa, sb, str(run_a), str(run_b))
    rows_a, rows_b = store_a.read_samples(), store_b.read_samples()
    ids_a = [r["id"] for r in rows_a]
    ids_b = {r["id"] for r in rows_b}
    common = [i for i in ids_a if i in ids_b]
    cmp = Comparison(
        run_a=sa.run_id,
        run_b=sb.run_id,
        benchmark=sa.benchmark.identity,
        method=method,
        n_common=len(common),
        only_a=[i for i in ids_a if i not in ids_b],
        only_b=sorted(ids_b - set(ids_a)),
    )
    same_items = not cmp.only_a and not cmp.only_b
    if not same_items:
        cmp.notes.append(
            f"the runs scored different items (A: {len(ids_a)}, B: {len(ids_b)}); per-item "
            f"metrics are compared on the {len(common)} shared items, "
            f"{len(cmp.only_a) + len(cmp.only_b)} left out"
        )
    if sa.renderer.identity != sb.renderer.identity:
        cmp.notes.append(
            f"renderers differ (A: {sa.renderer.identity}, B: {sb.renderer.identity}): "
            "differences in audio metrics include the renderer's"
        )
    names = list(sa.metrics) + [n for n in sb.metrics if n not in sa.metrics]
    for name in sorted(names):
        ma, mb = sa.metrics.get(name), sb.metrics.get(name)
        if ma is None or mb is None:
            m = ma or mb
            cmp.metrics.append(
                MetricComparison(
                    name,
                    m.direction,
                    ma.value if ma else math.nan,
                    mb.value if mb else math.nan,
                    f"only in {'A' if ma else 'B'}",
                )
            )
            continue
        mc = MetricComparison(
            name, ma.direction, ma.value, mb.value, "", run_value_a=ma.value, run_value_b=mb.value
        )
        cmp.metrics.append(mc)
        if ma.direction != mb.direction:
            mc.verdict = "not compared"
            mc.note = f"directions differ ({ma.direction} vs {mb.direction})"
            continue
        if ma.metric_identity != mb.metric_identity:
            mc.verdict = "not compared"
            mc.note = f"metric identities differ ({ma.metric_identity} vs {mb.metric_identity})"
            continue
        if "set" in (ma.kind, mb.kind):
            if same_items:
                mc.verdict = "set-level: no paired test"
                mc.note = "compare the CIs in the summaries"
            else:
                mc.verdict = "not comparable"
                mc.note = "set-level values over different item sets"
            continue
        if rows_a and name not in rows_a[0] or rows_b and name not in rows_b[0]:
            mc.verdict = "no per-sample values"
            continue
        col_a = _column(rows_a, name, store_a.samples_path)
        col_b = _column(rows_b, name, store_b.samples_path)
        xa = [col_a[i] for i in common]
        xb = [col_b[i] for i in common]
        both = [(x, y) for x, y in zip(xa, xb, strict=True) if not (math.isnan(x) or math.isnan(y))]
        mc.value_a = _mean([x for x, _ in both]) if both else math.nan
        mc.value_b = _mean([y for _, y in both]) if both else math.nan
        res = paired_test(xa, xb, method=method, n_boot=n_boot, seed=seed, alpha=alpha)
        mc.test = res
        if res.n < 2:
            mc.verdict = "too few paired values"
        elif not res.significant:
            mc.verdict = "no significant difference"
        else:
            a_higher = res.mean_diff > 0
            mc.verdict = "A better" if a_higher == (ma.direction == "higher") else "B better"
    return cmp


def format_comparison(cmp: Comparison) -> str:
    """A readable multi-line report of :func:`compare_runs`."""
    lines = [
        f"A: {cmp.run_a}",
        f"B: {cmp.run_b}",
        f"benchmark {cmp.benchmark}; {cmp.n_common} items paired by id"
        f" ({cmp.method} test, diff = A − B)",
        f"left out: {len(cmp.only_a)} items only in A, {len(cmp.only_b)} only in B",
        "A and B: means over the pairs with a value on both sides (n) for tested metrics,"
        " whole-run values otherwise",
    ]
    lines += [f"note: {n}" for n in cmp.notes]
    lines.append("")
    header = f"{'metric':<24}{'A':>10}{'B':>10}{'A−B':>10}  {'95% CI':<20}{'p':>8}  verdict"
    lines.append(header)
    for m in cmp.metrics:
        arrow = Direction(m.direction).arrow
        t = m.test
        diff = f"{t.mean_diff:+.4f}" if t and math.isfinite(t.mean_diff) else ""
        ci = f"[{t.ci_low:+.4f}, {t.ci_high:+.4f}]" if t and math.isfinite(t.ci_low) else ""
        p = f"{t.p_value:.4f}" if t and math.isfinite(t.p_value) else ""
        verdict = m.verdict + (f" (n={t.n})" if t else "")
        lines.append(
            f"{m.column + ' ' + arrow:<24}{_f(m.value_a):>10}{_f(m.value_b):>10}{diff:>10}  "
            f"{ci:<20}{p:>8}  {verdict}"
        )
        if m.note:
            lines.append(f"{'':<24}note: {m.note}")
    sig = [m.column for m in cmp.metrics if m.verdict in ("A better", "B better")]
    lines.append("")
    lines.append(
        f"significant differences: {', '.join(sig)}" if sig else "no significant differences"
    )
    return "\n".join(lines)


def _f(x: float) -> str:
    return f"{x:.4f}" if math.isfinite(x) else "–"


# --------------------------------------------------------------------------------------
# check


@dataclass(frozen=True)
class Tolerance:
    """How much worse than the baseline a metric may get: absolute, or % of |baseline|."""

    value: float
    relative: bool = False

    def absolute(self, baseline: float) -> float:
        """The allowed worsening in the metric's units for this baseline value."""
        return self.value / 100 * abs(baseline) if self.relative else self.value

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.relative else f"{self.value:g}"


def parse_tolerances(spec: str | None) -> tuple[dict[str, Tolerance], Tolerance]:
    """Parse ``"rms=0.01,kad=5%,default=0"`` into per-metric tolerances and the default.

    A bare number is absolute; a trailing ``%`` makes it relative to the baseline's
    magnitude. ``default`` replaces :data:`DEFAULT_TOLERANCE_PCT` for unlisted metrics.
    """
    default = Tolerance(DEFAULT_TOLERANCE_PCT, relative=True)
    per: dict[str, Tolerance] = {}
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise CompareError(
                f"bad tolerance {part!r}: use METRIC=VALUE or METRIC=VALUE%, e.g. rms=0.01,kad=5%"
            )
        relative = value.endswith("%")
        try:
            number = float(value[:-1] if relative else value)
        except ValueError:
            raise CompareError(f"bad tolerance {part!r}: {value!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise CompareError(f"bad tolerance {part!r}: must be a finite number >= 0")
        tol = Tolerance(number, relative)
        if name == "default":
            default = tol
        else:
            per[name] = tol
    return per, default


@dataclass
class CheckRow:
    """One metric in the regression report."""

    column: str
    direction: str
    baseline: float
    current: float
    tolerance: str
    verdict: str  # "ok" | "improved" | "REGRESSION" | "MISSING" | "new" | "skipped"
    failed: bool = False
    note: str = ""

    @property
    def delta(self) -> float:
        """current − baseline."""
        return self.current - self.baseline

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""

        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "metric": self.column,
            "direction": self.direction,
            "baseline": num(self.baseline),
            "current": num(self.current),
            "delta": num(self.delta),
            "tolerance": self.tolerance,
            "verdict": self.verdict,
            "failed": self.failed,
            "note": self.note,
        }


@dataclass
class CheckReport:
    """The result of :func:`check_run`; ``passed`` is False on any regression or missing metric."""

    run: str
    baseline: str
    benchmark: str
    rows: list[CheckRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n_items: int = 0  # items the comparison covers
    n_left_out: int = 0  # items of either side left out (not in both)

    @property
    def passed(self) -> bool:
        """True when no row failed."""
        return not any(r.failed for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "run": self.run,
            "baseline": self.baseline,
            "benchmark": self.benchmark,
            "passed": self.passed,
            "n_items": self.n_items,
            "n_left_out": self.n_left_out,
            "metrics": [r.to_dict() for r in self.rows],
            "notes": self.notes,
        }


def check_run(
    run: str | os.PathLike[str],
    baseline: str | os.PathLike[str],
    *,
    tolerances: dict[str, Tolerance] | None = None,
    default: Tolerance | None = None,
    allow_missing: bool = False,
) -> CheckReport:
    """Compare a run's summary against a baseline summary, metric by metric.

    A metric regresses when it is worse (under the baseline's direction) by more than
    its tolerance, or becomes NaN where the baseline had a value. A baseline metric the
    run lacks fails too unless ``allow_missing``. Unknown names in ``tolerances`` raise.

    Only comparable numbers are compared. Runs through different renderers are refused.
    A metric scored with another identity (plugin version, settings) than the baseline's
    is ``NOT COMPARABLE`` and fails. When the run and the baseline scored different
    items, both must be run directories: per-item metrics are then compared as means
    over the shared items (the report says how many were left out) and set-level
    metrics are ``NOT COMPARABLE`` (failing unless ``allow_missing``); with a bare
    summary on either side the check is refused. A summary that does not record its
    item set is matched by item count.
    """
    tolerances = tolerances or {}
    default = default or Tolerance(DEFAULT_TOLERANCE_PCT, relative=True)
    cur, store_cur = _open_run(run)
    base, store_base = _open_run(baseline)
    _same_benchmark(cur, base, str(run), str(baseline))
    unknown = sorted(set(tolerances) - set(base.metrics) - set(cur.metrics))
    if unknown:
        raise CompareError(
            f"--tolerance names unknown metric(s) {', '.join(unknown)}; "
            f"the baseline has: {', '.join(sorted(base.metrics)) or '(none)'}"
        )
    if cur.renderer.identity != base.renderer.identity:
        raise CompareError(
            f"the run was rendered by {cur.renderer.identity} but the baseline by "
            f"{base.renderer.identity}; their audio metrics are not comparable: re-run with the "
            f"baseline's renderer, or regenerate the baseline (docs/leaderboard.md)"
        )
    report = CheckReport(cur.run_id, base.run_id, base.benchmark.identity)
    if cur.failure_policy != base.failure_policy:
        report.notes.append(
            f"failure policy differs: baseline {base.failure_policy}, run {cur.failure_policy}"
        )
    rows_cur = store_cur.read_samples() if store_cur is not None else None
    rows_base = store_base.read_samples() if store_base is not None else None
    ids_cur = None if rows_cur is None else [str(r["id"]) for r in rows_cur]
    ids_base = None if rows_base is None else [str(r["id"]) for r in rows_base]
    set_cur, set_base = _item_set(cur, ids_cur), _item_set(base, ids_base)
    n_cur, n_base = cur.benchmark.n_items, base.benchmark.n_items
    if set_cur and set_base:
        same_items = set_cur == set_base
    else:
        same_items = n_cur == n_base
        if same_items:
            report.notes.append(
                f"{'the baseline' if not set_base else 'the run'} does not record which items "
                f"it scored; matched by item count only ({n_cur} items)"
            )
    report.n_items = n_cur
    common: list[str] = []
    if not same_items:
        if ids_cur is None or ids_base is None:
            what = "a different item set" if n_cur == n_base else "different items"
            raise CompareError(
                f"the run scored {n_cur} items and the baseline {n_base} ({what}); a "
                f"regression check needs the same items. Re-run on the baseline's items "
                f"(without --limit), or pass both run directories to check per-item metrics "
                f"on their shared items (docs/leaderboard.md)"
            )
        in_base = set(ids_base)
        common = [i for i in ids_cur if i in in_base]
        if not common:
            raise CompareError("the run and the baseline have no item in common")
        report.n_items = len(common)
        report.n_left_out = len(ids_cur) + len(ids_base) - 2 * len(common)
        report.notes.append(
            f"item sets differ: compared on the {len(common)} shared items; left out "
            f"{len(ids_cur) - len(common)} only in the run, {len(ids_base) - len(common)} only "
            f"in the baseline"
        )
    for name, bm in sorted(base.metrics.items()):
        tol = tolerances.get(name, default)
        cm = cur.metrics.get(name)
        if cm is None:
            row = CheckRow(name, bm.direction, bm.value, math.nan, str(tol), "MISSING")
            row.failed = not allow_missing
            row.note = "the run has no value for this metric"
            if name in cur.errors:
                row.note = f"the metric failed: {cur.errors[name]}"
            report.rows.append(row)
            continue
        row = CheckRow(name, bm.direction, bm.value, cm.value, str(tol), "ok")
        report.rows.append(row)
        if not cm.complete:
            row.verdict, row.failed = "INCOMPLETE", True
            row.note = f"the run's value covers {cm.n} of {cm.n_items} items"
            continue
        if cm.metric_identity != bm.metric_identity:
            row.verdict, row.failed = "NOT COMPARABLE", True
            row.note = (
                f"metric identity differs ({bm.metric_identity} → {cm.metric_identity}); "
                f"regenerate the baseline if the change is intended"
            )
            continue
        if not same_items:
            assert rows_cur is not None and rows_base is not None
            if "set" in (bm.kind, cm.kind) or not (
                rows_cur and name in rows_cur[0] and rows_base and name in rows_base[0]
            ):
                row.verdict, row.failed = "NOT COMPARABLE", not allow_missing
                row.note = "no per-item values: its value covers a different item set"
                continue
            col_cur = _column(rows_cur, name, store_cur.samples_path)  # type: ignore[union-attr]
            col_base = _column(rows_base, name, store_base.samples_path)  # type: ignore[union-attr]
            row.current = _mean([col_cur[i] for i in common])
            row.baseline = _mean([col_base[i] for i in common])
            row.note = f"over the {len(common)} shared items"
        if math.isnan(row.baseline):
            row.verdict = "skipped"
            row.note = row.note or "baseline value is NaN"
            continue
        if math.isnan(row.current):
            row.verdict, row.failed = "REGRESSION", True
            row.note = row.note or "the run's value is NaN"
            continue
        worse_by = -row.delta if bm.direction == "higher" else row.delta
        allowed = tol.absolute(row.baseline)
        if worse_by > allowed:
            row.verdict, row.failed = "REGRESSION", True
        elif worse_by < -allowed:
            row.verdict = "improved"
    for name, cm in sorted(cur.metrics.items()):
        if name not in base.metrics:
            report.rows.append(
                CheckRow(name, cm.direction, math.nan, cm.value, "", "new", note="not in baseline")
            )
    return report


def format_check(report: CheckReport) -> str:
    """A readable table of :func:`check_run` results and the overall verdict."""
    lines = [
        f"run {report.run} vs baseline {report.baseline} (benchmark {report.benchmark}; "
        f"{report.n_items} items compared, {report.n_left_out} left out)",
        "",
        f"{'metric':<24}{'baseline':>12}{'current':>12}{'delta':>12}{'tolerance':>11}  verdict",
    ]
    for r in report.rows:
        arrow = Direction(r.direction).arrow
        delta = f"{r.delta:+.4f}" if math.isfinite(r.delta) else "–"
        lines.append(
            f"{r.column + ' ' + arrow:<24}{_f(r.baseline):>12}{_f(r.current):>12}{delta:>12}"
            f"{r.tolerance:>11}  {r.verdict}" + (f"  ({r.note})" if r.note else "")
        )
    lines += [f"note: {n}" for n in report.notes]
    failed = [r.column for r in report.rows if r.failed]
    lines.append("")
    lines.append(
        f"FAILED: {len(failed)} metric(s) regressed or missing: {', '.join(failed)}"
        if failed
        else "PASSED: no regression beyond tolerance"
    )
    return "\n".join(lines)
