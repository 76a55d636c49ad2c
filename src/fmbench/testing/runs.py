"""Synthetic run directories for tests (no generator, renderer or metric needed).

Usage::

    from fmbench.testing.runs import write_synthetic_run

    run = write_synthetic_run(tmp_path / "a", {"rms": [0.5, 0.7]}, directions={"rms": "higher"})
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fmbench.run.rundir import RunDir
from fmbench.run.summary import (
    Accounting,
    BenchmarkRef,
    ComponentRef,
    MetricSummary,
    RunSummary,
    item_set_hash,
)

__all__ = ["make_summary", "write_synthetic_run"]


def make_summary(
    run_id: str = "default-random-20260101-000000-abcdef",
    metrics: Mapping[str, float | tuple[float, float, float]] | None = None,
    *,
    directions: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    benchmark: str = "default",
    benchmark_version: str = "1",
    generator: str = "random",
    n_items: int = 10,
    n_valid: int | None = None,
    item_ids: Sequence[str] | None = None,
    limit: int | None = None,
    renderer_identity: str = "dx7/0.1.0/reference",
    metric_identities: Mapping[str, str] | None = None,
) -> RunSummary:
    """A summary with the given metric values (``value`` or ``(value, ci_low, ci_high)``);
    directions default to ``higher``, kinds to ``paired_audio``, metric identities to
    ``<name>/1``. ``item_ids`` records the item set (and sets ``n_items``); without it the
    summary has none, like one written before item sets were recorded."""
    directions = directions or {}
    kinds = kinds or {}
    identities = metric_identities or {}
    if item_ids is not None:
        n_items = len(item_ids)
    ms = {}
    for name, v in (metrics or {}).items():
        value, low, high = v if isinstance(v, tuple) else (v, math.nan, math.nan)
        ms[name] = MetricSummary(
            metric=name.partition(":")[0],
            direction=directions.get(name, "higher"),
            value=float(value),
            ci_low=float(low),
            ci_high=float(high),
            n=n_items,
            metric_identity=identities.get(name, f"{name}/1"),
            kind=kinds.get(name, "paired_audio"),
        )
    n_valid = n_items if n_valid is None else n_valid
    return RunSummary(
        run_id=run_id,
        created="2026-01-01T00:00:00+00:00",
        fmbench_version="0.1.0",
        benchmark=BenchmarkRef(
            benchmark,
            benchmark_version,
            f"{benchmark}@{benchmark_version}",
            n_items,
            item_set_hash(item_ids) if item_ids is not None else "",
            limit,
        ),
        generator=ComponentRef(generator, f"{generator}/0.1.0"),
        renderer=ComponentRef(
            renderer_identity.partition("/")[0], renderer_identity, {"sample_rate": 48000}
        ),
        accounting=Accounting(n_items, n_items, n_items, n_valid, 0, n_valid, 0),
        metrics=ms,
    )


def write_synthetic_run(
    run_dir: str | Path,
    columns: Mapping[str, Sequence[float]],
    *,
    ids: Sequence[str] | None = None,
    directions: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    set_values: Mapping[str, float] | None = None,
    benchmark: str = "default",
    generator: str = "random",
    run_id: str | None = None,
    complete: bool = True,
    record_item_set: bool = True,
    limit: int | None = None,
    renderer_identity: str = "dx7/0.1.0/reference",
    metric_identities: Mapping[str, str] | None = None,
) -> RunDir:
    """Write a run whose samples table has one float column per entry of ``columns``
    (plus the contract's bookkeeping columns) and whose summary holds their NaN-skipping
    means with bootstrap CIs; ``set_values`` adds set-level metrics (kind ``set``).
    The summary records the item set of ``ids`` as the runner does (``record_item_set=
    False`` leaves it out, like an older summary). ``complete=False`` stops before the
    manifest."""
    from fmbench.stats import bootstrap_ci

    run_dir = Path(run_dir)
    n = len(next(iter(columns.values()))) if columns else 0
    ids = list(ids) if ids is not None else [f"item{i:03d}" for i in range(n)]
    rows: list[dict[str, Any]] = []
    for i, item_id in enumerate(ids):
        row: dict[str, Any] = {
            "id": item_id,
            "caption": f"caption {item_id}",
            "raw_output": "{}",
            "parsed_ok": True,
            "parse_error": None,
            "valid": True,
            "problems": [],
            "repaired": False,
            "rendered": True,
            "inaudible": False,
            "patch": None,
            "audio_hash": f"{i:08x}",
        }
        for name, values in columns.items():
            row[name] = float(values[i])
        rows.append(row)
    metrics: dict[str, tuple[float, float, float]] = {}
    for name, values in columns.items():
        arr = np.asarray(values, dtype=np.float64)
        finite = arr[~np.isnan(arr)]
        low, high = bootstrap_ci(arr, n_boot=200)
        metrics[name] = (float(finite.mean()) if finite.size else math.nan, low, high)
    kinds = dict(kinds or {})
    for name, value in (set_values or {}).items():
        metrics[name] = (value, math.nan, math.nan)
        kinds.setdefault(name, "set")
    summary = make_summary(
        run_id or run_dir.name,
        metrics,
        directions=directions,
        kinds=kinds,
        benchmark=benchmark,
        generator=generator,
        n_items=len(ids),
        item_ids=ids if record_item_set else None,
        limit=limit,
        renderer_identity=renderer_identity,
        metric_identities=metric_identities,
    )
    store = RunDir(run_dir)
    store.write_samples(rows)
    store.write_summary(summary)
    if complete:
        store.write_manifest()
    return store
