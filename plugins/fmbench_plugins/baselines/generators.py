"""Baseline generators: random, prior, retrieval and oracle.

They set the floor and the ceiling of a benchmark: ``random`` and ``prior`` ignore the
caption, ``retrieval`` uses it only through the nearest training caption, ``oracle``
returns the reference patch itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fmbench.benchmark import Benchmark, BenchmarkItem
from fmbench.contracts import GeneratorOutput
from fmbench.errors import FmbenchError
from fmbench.patch.algorithms import ALGORITHMS
from fmbench.patch.model import KEY_ORDER, RANGES, SHAPES, Patch

VERSION = "0.1.0"
_TOPOLOGY_KEYS = ("modmatrix", "outmatrix")


def _item_rng(seed: int, item_id: str) -> np.random.Generator:
    """A generator seeded by (run seed, item id): outputs do not depend on batch order."""
    digest = np.frombuffer(item_id.encode("utf-8"), dtype=np.uint8)
    return np.random.default_rng([seed, *digest.tolist()])


def random_patch(rng: np.random.Generator) -> Patch:
    """A valid patch: a uniformly chosen DX7 algorithm, every other value uniform in range."""
    alg = ALGORITHMS[int(rng.integers(len(ALGORITHMS)))]
    data: dict[str, Any] = {"modmatrix": alg.modmatrix, "outmatrix": alg.outmatrix}
    for key in KEY_ORDER:
        if key in data:
            continue
        lo, hi = RANGES[key]
        shape = SHAPES[key]
        values = rng.integers(lo, hi + 1, size=shape or None)
        data[key] = values.tolist() if shape else int(values)
    return Patch.from_dict(data)


class RandomGenerator:
    """A valid random patch per caption (uniform over ranges and the 32 algorithms)."""

    identity = f"random/{VERSION}"

    def generate(self, items: Sequence[BenchmarkItem], *, seed: int) -> list[GeneratorOutput]:
        return [
            GeneratorOutput(patch=random_patch(_item_rng(seed, it.id)).to_dict()) for it in items
        ]


def _train_patches(benchmark: Benchmark | None, who: str) -> list[tuple[BenchmarkItem, Patch]]:
    if benchmark is None:
        raise FmbenchError(f"the {who} generator needs a benchmark with a train split")
    pairs = [(it, it.reference_patch) for it in benchmark.train if it.reference_patch is not None]
    if not pairs:
        raise FmbenchError(
            f"benchmark {benchmark.name!r} has no train items with patches; "
            f"the {who} generator samples from the train split"
        )
    return pairs


class PriorGenerator:
    """Samples the train split's per-parameter marginal distributions.

    Every scalar (``coarse[2]``, ``eg_rate[1][4]`` …) is drawn independently from the
    values that position takes in the train split. The topology (``modmatrix`` with
    ``outmatrix``) is drawn as one unit from the train patches, so that the at-most-one
    feedback diagonal rule holds.
    """

    def __init__(self) -> None:
        self._columns: dict[str, np.ndarray] = {}
        self._topologies: list[tuple[Any, Any]] = []
        self.identity = f"prior/{VERSION}"

    def setup(self, benchmark: Benchmark) -> None:
        patches = [p for _, p in _train_patches(benchmark, "prior")]
        self._topologies = sorted({(p.modmatrix, p.outmatrix) for p in patches})
        for key in KEY_ORDER:
            if key not in _TOPOLOGY_KEYS:
                self._columns[key] = np.array([getattr(p, key) for p in patches])
        self.identity = f"prior/{VERSION}/{benchmark.identity}/n={len(patches)}"

    def generate(self, items: Sequence[BenchmarkItem], *, seed: int) -> list[GeneratorOutput]:
        if not self._columns:
            raise FmbenchError("prior generator used before setup(benchmark)")
        outputs = []
        for item in items:
            rng = _item_rng(seed, item.id)
            mod, out = self._topologies[int(rng.integers(len(self._topologies)))]
            data: dict[str, Any] = {"modmatrix": mod, "outmatrix": out}
            for key, column in self._columns.items():
                n = column.shape[0]
                flat = column.reshape(n, -1)
                picks = rng.integers(n, size=flat.shape[1])
                values = flat[picks, np.arange(flat.shape[1])].reshape(column.shape[1:])
                data[key] = values.tolist() if values.ndim else int(values)
            outputs.append(GeneratorOutput(patch=Patch.from_dict(data).to_dict()))
        return outputs


class RetrievalGenerator:
    """Returns the patch of the most similar training caption (TF-IDF cosine or BM25)."""

    def __init__(self, method: str = "tfidf") -> None:
        from fmbench_plugins.baselines.retrieval import METHODS

        if method not in METHODS:
            raise FmbenchError(
                f"retrieval method must be one of {', '.join(METHODS)}, got {method!r}"
            )
        self.method = method
        self.identity = f"retrieval/{VERSION}/{method}"
        self._index: Any = None
        self._patches: list[Patch] = []

    def setup(self, benchmark: Benchmark) -> None:
        from fmbench_plugins.baselines.retrieval import build_index

        pairs = _train_patches(benchmark, "retrieval")
        self._patches = [p for _, p in pairs]
        self._index = build_index([it.caption for it, _ in pairs], self.method)
        self.identity = f"retrieval/{VERSION}/{self.method}/{benchmark.identity}"

    def generate(self, items: Sequence[BenchmarkItem], *, seed: int) -> list[GeneratorOutput]:
        if self._index is None:
            raise FmbenchError("retrieval generator used before setup(benchmark)")
        best = self._index.nearest([it.caption for it in items])
        return [
            GeneratorOutput(patch=self._patches[j].to_dict(), info={"retrieved": int(j)})
            for j in best
        ]


class OracleGenerator:
    """Returns each item's reference patch: the ceiling every metric can reach."""

    identity = f"oracle/{VERSION}"

    def generate(self, items: Sequence[BenchmarkItem], *, seed: int) -> list[GeneratorOutput]:
        outputs = []
        for it in items:
            if it.reference_patch is None:
                outputs.append(
                    GeneratorOutput(info={"error": f"item {it.id} has no reference patch"})
                )
            else:
                outputs.append(GeneratorOutput(patch=it.reference_patch.to_dict()))
        return outputs
