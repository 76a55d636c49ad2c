"""The reference side shipped with the package: recomputing it gives the shipped values, a
cache reads it as a read-only layer, and a cold run of a built-in benchmark computes only
the generated side."""

from __future__ import annotations

import numpy as np
import pytest

from fmbench import cache as cache_mod
from fmbench.benchmark import load_benchmark
from fmbench.cache import SHIPPED_DIR, Cache, shipped_member


@pytest.fixture
def fresh_layer():
    cache_mod.forget_shipped()
    yield
    cache_mod.forget_shipped()


def _shipped() -> dict[str, np.ndarray]:
    """Every shipped entry, read straight from the files."""
    entries: dict[str, np.ndarray] = {}
    for path in sorted(SHIPPED_DIR.glob("*.npz")):
        with np.load(path, allow_pickle=False) as data:
            entries.update({name: data[name] for name in data.files})
    return entries


def test_the_built_in_benchmarks_reference_sides_ship():
    assert {p.stem for p in SHIPPED_DIR.glob("*.npz")} == {"dx7-full", "synthetic"}


def test_the_shipped_reference_side_is_what_recomputing_it_gives(tmp_path, fresh_layer):
    from fmbench.run.reference import ship_reference

    # smoke is default's first 10 items (dx7-full holds all of default's); score them with
    # default's signal metrics
    metrics = tuple(m for m in load_benchmark("default").metrics if not m.startswith("memo"))
    path, counts = ship_reference("smoke", tmp_path / "smoke.npz", metrics=metrics, workers=1)
    assert counts == {"embeddings": 10, "rms": 10, "timbral": 10}
    shipped = _shipped()
    with np.load(path, allow_pickle=False) as fresh:
        assert fresh.files, "nothing was recomputed"
        missing = [name for name in fresh.files if name not in shipped]
        assert not missing, (
            f"{len(missing)} recomputed entries are not shipped: rebuild with "
            "`fmbench data ship-reference dx7-full` (default's items are part of it)"
        )
        for name in fresh.files:
            np.testing.assert_allclose(fresh[name], shipped[name], rtol=1e-6, atol=1e-9)


def test_every_cache_reads_the_shipped_layer_and_off_means_off(tmp_path, fresh_layer):
    name, value = next(iter(_shipped().items()))
    namespace, key = name.split(".", 1)
    got = Cache(tmp_path).get(namespace, key)
    assert got is not None and np.array_equal(got, value)
    got[...] = -1  # a caller's change does not reach the layer
    assert np.array_equal(Cache(tmp_path).get(namespace, key), value)
    assert Cache(None).get(namespace, key) is None
    # a user entry wins over the shipped one; nothing is written into the package
    Cache(tmp_path).put(namespace, key, np.zeros(3))
    assert np.array_equal(Cache(tmp_path).get(namespace, key), np.zeros(3))
    assert shipped_member(namespace, key) in cache_mod.shipped_entries()


def test_a_damaged_shipped_file_is_a_miss(tmp_path, monkeypatch, fresh_layer):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    monkeypatch.setattr(cache_mod, "SHIPPED_DIR", tmp_path)
    assert cache_mod.shipped_entries() == {}
    assert Cache(tmp_path / "c").get("rms", "ab" * 32) is None


def test_a_cold_run_computes_no_reference_side_work(tmp_path, monkeypatch, fresh_layer):
    from fmbench.run.runner import RunConfig, Runner

    root = tmp_path / "cache"
    monkeypatch.setenv("FMBENCH_CACHE", str(root))
    # the oracle's outputs are the references: with the shipped layer nothing is left to do
    config = RunConfig(benchmark="smoke", generator="oracle", workers=1, n_boot=20)
    result = Runner(config, run_dir=tmp_path / "run", cache=Cache(root)).run()
    assert result.summary.metrics["rms"].value == pytest.approx(1.0)
    cache = Cache(root)
    computed = {p.name: len(cache.keys(p.name)) for p in root.iterdir() if p.is_dir()}
    assert computed.get("render", 0) == 10  # renders are never shipped
    assert computed.get("rms", 0) == 0 and computed.get("embeddings", 0) == 0, computed


def test_a_metric_failing_on_the_references_writes_no_layer(tmp_path, monkeypatch, fresh_layer):
    """A metric that fails as a whole (a plugin that breaks mid-run, say) would leave its
    entries out of the layer: nothing is written and the error names the metric."""
    from types import SimpleNamespace

    from fmbench.run import runner
    from fmbench.run.config import RunError
    from fmbench.run.reference import ship_reference

    def failed_run(self):
        return SimpleNamespace(summary=SimpleNamespace(errors={"timbral-fast": "ImportError"}))

    monkeypatch.setattr(runner.Runner, "run", failed_run)
    out = tmp_path / "smoke.npz"
    with pytest.raises(RunError, match="timbral-fast: ImportError"):
        ship_reference("smoke", out, metrics=("rms",), workers=1)
    assert not out.exists()
