"""The reference side of a benchmark, computed once and shipped with the package.

:func:`ship_reference` scores a benchmark's references against themselves and keeps what
the metrics cached about them (features, envelopes, embeddings: never the renders). The
file it writes is the read-only layer behind every :class:`fmbench.cache.Cache`, so a cold
run of a built-in benchmark computes only the generated side
(``fmbench data ship-reference BENCHMARK`` rebuilds it; a test recomputes it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fmbench.dataset import DATASET_PATCHES
from fmbench.render import RENDER_DESCRIPTIONS

#: cache namespaces that never go into the shipped layer: renders and their descriptions
#: (large, and a run renders its references anyway) and compiled code
NOT_SHIPPED = frozenset({"render", RENDER_DESCRIPTIONS, "numba", DATASET_PATCHES})


def ship_reference(
    benchmark: str,
    out: str | os.PathLike[str] | None = None,
    *,
    metrics: tuple[str, ...] | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> tuple[Path, dict[str, int]]:
    """Score ``benchmark``'s reference against itself (the ``oracle`` generator, the
    benchmark's default metrics, or ``metrics``) with every cache empty and the shipped
    layer ignored, and write every cached entry but renders to ``out`` (default
    ``fmbench/data/reference/<benchmark>.npz``). Returns the file and the entry count
    per cache namespace. What a metric caches is keyed by audio content and component
    identity, so the file holds exactly the reference-side work, valid wherever the
    references render to the same audio. Raises :class:`~fmbench.run.config.RunError`
    (writing nothing) when a metric fails on the references as a whole."""
    import tempfile

    import numpy as np

    from fmbench.benchmark import load_benchmark
    from fmbench.cache import (
        SHIPPED_DIR,
        Cache,
        forget_shipped,
        shipped_layer_off,
        shipped_member,
    )
    from fmbench.files import atomic_path
    from fmbench.run.config import RunError
    from fmbench.run.runner import RunConfig, Runner

    bench = load_benchmark(benchmark)
    target = Path(out) if out is not None else SHIPPED_DIR / f"{bench.name}.npz"
    saved_env = os.environ.get("FMBENCH_CACHE")
    with tempfile.TemporaryDirectory(prefix="fmbench-ship-") as tmp, shipped_layer_off():
        root = Path(tmp) / "cache"
        os.environ["FMBENCH_CACHE"] = str(root)  # the metrics' own caches start empty too
        try:
            config = RunConfig(
                benchmark=benchmark, generator="oracle", metrics=metrics, workers=workers, n_boot=2
            )
            result = Runner(
                config, run_dir=Path(tmp) / "run", benchmark=bench, cache=Cache(root),
                progress=progress,
            ).run()  # fmt: skip
        finally:
            if saved_env is None:
                os.environ.pop("FMBENCH_CACHE", None)
            else:
                os.environ["FMBENCH_CACHE"] = saved_env
        if result.summary.errors:  # a layer without a metric's entries would be shipped
            failed = "; ".join(f"{m}: {e}" for m, e in sorted(result.summary.errors.items()))
            raise RunError(f"not written: a metric failed on {bench.name}'s references ({failed})")
        entries: dict[str, Any] = {}  # member name → array (Any: savez_compressed's stub)
        counts: dict[str, int] = {}
        for namespace in sorted(p for p in root.iterdir() if p.is_dir()):
            if namespace.name in NOT_SHIPPED:
                continue
            cache = Cache(root)
            for key in cache.keys(namespace.name):
                value = cache.get(namespace.name, key)
                if value is not None:
                    entries[shipped_member(namespace.name, key)] = value
                    counts[namespace.name] = counts.get(namespace.name, 0) + 1
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp_path, open(tmp_path, "wb") as f:
        np.savez_compressed(f, **entries)
    forget_shipped()  # read the new file on next use
    return target, counts
