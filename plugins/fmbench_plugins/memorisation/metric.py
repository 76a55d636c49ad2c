"""The memorisation metric: nearest train patch of every generated patch.

Per sample: ``train_copy`` (1 if the generated patch's content hash is a train patch's),
``train_near_copy`` (1 if the nearest train patch is within ``threshold`` of ``1 −
dx7_dist``) and ``nearest_train_dist``. Samples without a valid patch are NaN with the
reason (the runner's failure policy then applies the declared worst values). ``details``
holds the index and id of each nearest train item.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from fmbench.contracts import MetricResult, Sample
from fmbench.errors import FmbenchError
from fmbench_plugins.memorisation import OUTPUTS, VERSION


@functools.lru_cache(maxsize=4)
def _train_split(benchmark: str) -> tuple[str, tuple[str, ...], tuple[Any, ...]]:
    """(identity, ids, patches) of a benchmark's train split, read once per process."""
    from fmbench.benchmark import load_benchmark

    bench = load_benchmark(benchmark)
    pairs = [(it.id, it.reference_patch) for it in bench.train if it.reference_patch]
    if not pairs:
        raise FmbenchError(f"memorisation: benchmark {benchmark!r} has no train split")
    return bench.identity, tuple(i for i, _ in pairs), tuple(p for _, p in pairs)


class Memorisation:
    """Copies of the train split of ``benchmark`` (a registered name or a TOML path).

    ``train`` may be given instead, as a sequence of patches (for tests and library use).
    """

    def __init__(
        self,
        benchmark: str | None = None,
        threshold: float | str = 0.03,
        train: Sequence[Any] | None = None,
    ) -> None:
        threshold = float(threshold)
        if not 0.0 <= threshold < 1.0:
            raise FmbenchError(f"memorisation: threshold must be in [0, 1), got {threshold}")
        self.threshold = threshold
        if train is not None:
            self._train = list(train)
            self._ids = [str(i) for i in range(len(self._train))]
            source = f"patches(n={len(self._train)})"
        else:
            if not benchmark:
                raise FmbenchError(
                    "memorisation needs the benchmark whose train split it compares with: "
                    "use memorisation:BENCHMARK, e.g. memorisation:default (docs/metrics.md)"
                )
            source, ids, patches = _train_split(benchmark)
            self._ids, self._train = list(ids), list(patches)
        self._hashes = {p.content_hash for p in self._train}
        self.identity = f"memorisation@{VERSION}/{source}/threshold={threshold:g}"

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """Nearest train patch per sample (vectorised ``1 − dx7_dist``)."""
        from fmbench.corpus import nearest_distances

        names = [name for name, *_ in OUTPUTS]
        n = len(samples)
        result = MetricResult(per_sample={c: np.full(n, math.nan) for c in names})
        todo = [i for i, s in enumerate(samples) if s.patch is not None]
        for i, s in enumerate(samples):
            if s.patch is None:
                why = "no valid patch" + (f" ({s.parse_error})" if s.parse_error else "")
                for c in names:
                    result.reasons[(c, i)] = why
        nearest: list[str | None] = [None] * n
        if todo:
            dist, idx = nearest_distances([samples[i].patch for i in todo], self._train)
            for k, i in enumerate(todo):
                d = max(0.0, float(dist[k]))
                copy = samples[i].patch.content_hash in self._hashes
                result.per_sample["train_copy"][i] = float(copy)
                result.per_sample["train_near_copy"][i] = float(copy or d <= self.threshold)
                result.per_sample["nearest_train_dist"][i] = 0.0 if copy else d
                nearest[i] = self._ids[int(idx[k])]
        result.details.update(
            n=n, threshold=self.threshold, n_train=len(self._train), nearest_train_id=nearest
        )
        return result
