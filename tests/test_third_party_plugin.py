"""The third-party path: pip-install plugins/example-metric and find it by entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "plugins" / "example-metric"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """pip-install the example plugin into a private target folder (no network needed)."""
    target = tmp_path_factory.mktemp("site")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--target",
        str(target),
        str(EXAMPLE),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert list(target.glob("fmbench_example_metric-*.dist-info"))
    return target


def _fmbench(target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(target), FMBENCH_STRICT_PLUGINS="1")
    return subprocess.run(
        [sys.executable, "-m", "fmbench", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_installed_plugin_is_discovered_by_entry_point(installed_example):
    proc = _fmbench(installed_example, "list", "metrics", "--json")
    assert proc.returncode == 0, proc.stderr
    metrics = {m["name"]: m for m in json.loads(proc.stdout)}
    meta = metrics["loudness_delta"]
    assert meta["plugin"] == "example-metric"
    assert meta["direction"] == "lower" and meta["metric_kind"] == "paired_audio"
    plugins = json.loads(_fmbench(installed_example, "plugins", "--json").stdout)
    example = next(p for p in plugins if p["name"] == "example-metric")
    assert example["distribution"] == "fmbench-example-metric" and example["loaded"]


def test_installed_plugin_is_usable_by_name(installed_example, monkeypatch):
    monkeypatch.syspath_prepend(str(installed_example))
    import importlib.metadata

    from fmbench.audio import Audio
    from fmbench.contracts import Sample
    from fmbench.plugins import Plugins

    ep = next(
        e
        for e in importlib.metadata.distribution("fmbench-example-metric").entry_points
        if e.group == "fmbench"
    )
    plugins = Plugins(load_entry_points=False, strict=True)
    plugins._load_entry_points([ep])
    metric = plugins.registry.create("metric", "loudness_delta")
    t = np.arange(4800) / 48000
    loud = Audio(0.5 * np.sin(2 * np.pi * 440 * t), 48000)
    quiet = Audio(0.05 * np.sin(2 * np.pi * 440 * t), 48000)
    samples = [
        Sample("a", "c", audio=loud, reference_audio=quiet),
        Sample("b", "c", audio=None, reference_audio=quiet),
    ]
    result = metric.score(samples)
    assert result.per_sample["loudness_delta"][0] == pytest.approx(20.0, abs=1e-3)
    assert np.isnan(result.per_sample["loudness_delta"][1])
    assert result.reasons[("loudness_delta", 1)] == "no generated audio"
