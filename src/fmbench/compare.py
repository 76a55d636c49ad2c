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

from fmbench.errors import FmbenchError
from fmbench.run.rundir import RunDir
from fmbench.run.summary import RunSummary, load_summary
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "column": self.column,
            "direction": self.direction,
            "value_a": self.value_a if math.isfinite(self.value_a) else None,
            "value_b": self.value_b if math.isfinite(self.value_b) else None,
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "benchmark": self.benchmark,
            "method": self.method,
            "n_common": self.n_common,
            "only_a": self.only_a,
            "only_b": self.only_b,
            "metrics": [m.to_dict() for m in self.metrics],
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

    Set-level metrics (kind ``set``) have no per-item values: they are listed with their
    values and CIs but not tested. ``verdict`` is direction-aware ("A better" means A's
    value is significantly better under the metric's direction).
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
        mc = MetricComparison(name, ma.direction, ma.value, mb.value, "")
        cmp.metrics.append(mc)
        if ma.direction != mb.direction:
            mc.verdict = "not compared"
            mc.note = f"directions differ ({ma.direction} vs {mb.direction})"
            continue
        if ma.metric_identity != mb.metric_identity:
            mc.note = f"metric identities differ ({ma.metric_identity} vs {mb.metric_identity})"
        if "set" in (ma.kind, mb.kind):
            mc.verdict = "set-level: no paired test"
            mc.note = mc.note or "compare the CIs in the summaries"
            continue
        if rows_a and name not in rows_a[0] or rows_b and name not in rows_b[0]:
            mc.verdict = "no per-sample values"
            continue
        col_a = _column(rows_a, name, store_a.samples_path)
        col_b = _column(rows_b, name, store_b.samples_path)
        res = paired_test(
            [col_a[i] for i in common],
            [col_b[i] for i in common],
            method=method,
            n_boot=n_boot,
            seed=seed,
            alpha=alpha,
        )
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
    ]
    if cmp.only_a or cmp.only_b:
        lines.append(f"unpaired items: {len(cmp.only_a)} only in A, {len(cmp.only_b)} only in B")
    lines.append("")
    header = f"{'metric':<24}{'A':>10}{'B':>10}{'A−B':>10}  {'95% CI':<20}{'p':>8}  verdict"
    lines.append(header)
    for m in cmp.metrics:
        arrow = "↑" if m.direction == "higher" else "↓"
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
    """
    tolerances = tolerances or {}
    default = default or Tolerance(DEFAULT_TOLERANCE_PCT, relative=True)
    cur, _ = _open_run(run)
    base, _ = _open_run(baseline)
    _same_benchmark(cur, base, str(run), str(baseline))
    unknown = sorted(set(tolerances) - set(base.metrics) - set(cur.metrics))
    if unknown:
        raise CompareError(
            f"--tolerance names unknown metric(s) {', '.join(unknown)}; "
            f"the baseline has: {', '.join(sorted(base.metrics)) or '(none)'}"
        )
    report = CheckReport(cur.run_id, base.run_id, base.benchmark.identity)
    if cur.renderer.identity != base.renderer.identity:
        report.notes.append(
            f"renderer differs: baseline {base.renderer.identity}, run {cur.renderer.identity}"
        )
    if cur.failure_policy != base.failure_policy:
        report.notes.append(
            f"failure policy differs: baseline {base.failure_policy}, run {cur.failure_policy}"
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
        if cm.metric_identity != bm.metric_identity:
            row.note = f"metric identity differs ({bm.metric_identity} → {cm.metric_identity})"
        if math.isnan(bm.value):
            row.verdict = "skipped"
            row.note = row.note or "baseline value is NaN"
            continue
        if math.isnan(cm.value):
            row.verdict, row.failed = "REGRESSION", True
            row.note = row.note or "the run's value is NaN"
            continue
        worse_by = -row.delta if bm.direction == "higher" else row.delta
        allowed = tol.absolute(bm.value)
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
        f"run {report.run} vs baseline {report.baseline} (benchmark {report.benchmark})",
        "",
        f"{'metric':<24}{'baseline':>12}{'current':>12}{'delta':>12}{'tolerance':>11}  verdict",
    ]
    for r in report.rows:
        arrow = "↑" if r.direction == "higher" else "↓"
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
