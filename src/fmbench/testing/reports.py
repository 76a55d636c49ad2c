"""Run directories with audio for report tests, without running a renderer.

:func:`write_audio_run` writes a run whose samples table holds real patches and whose
audio lies in a given render cache under the keys the runner uses (patch hash + renderer
identity + settings), so :class:`fmbench.report.sources.RunAudio` finds every clip there.
The audio is a short synthetic tone per patch (pitch from OP1's coarse ratio), not a DX7
render. :func:`tiny_benchmark` is the matching benchmark (reference patches included).

Usage::

    bench = tiny_benchmark(4)
    cache = Cache(tmp_path / "cache")
    a = write_audio_run(tmp_path / "a", bench, cache, generator="good")
    b = write_audio_run(tmp_path / "b", bench, cache, generator="bad", failures={"i1": "parse"})
    build_report([a, b], tmp_path / "report", cache=cache, benchmark=bench)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from fmbench.audio import Audio
from fmbench.benchmark import Benchmark, BenchmarkItem
from fmbench.cache import Cache, make_key
from fmbench.patch.model import Patch
from fmbench.render import RenderSettings
from fmbench.run.rundir import RunDir
from fmbench.testing.patches import patch_dict
from fmbench.testing.runs import make_summary

__all__ = ["RENDERER_IDENTITY", "SETTINGS", "tiny_benchmark", "tone", "write_audio_run"]

#: short renders: 0.512 s held + 0.256 s released = 0.768 s at 48 kHz
SETTINGS = RenderSettings(hold_seconds=0.512, release_seconds=0.256)
RENDERER_IDENTITY = "dx7/test-tones"


def _patch(i: int, shift: int = 0) -> Patch:
    coarse = [1 + ((i + shift + k) % 8) for k in range(6)]
    ol = [99 - 7 * ((i + k + shift) % 5) for k in range(6)]
    return Patch.from_dict(patch_dict(1 + (i * 3 + shift) % 32, coarse=coarse, ol=ol))


def tiny_benchmark(n: int = 4, name: str = "tiny") -> Benchmark:
    """``n`` items ``i0``… with captions and reference patches, rendered with :data:`SETTINGS`."""
    items = tuple(
        BenchmarkItem(id=f"i{i}", caption=f"test sound number {i}", reference_patch=_patch(i))
        for i in range(n)
    )
    return Benchmark(name, "1", "report test benchmark", items, render=SETTINGS)


def tone(patch: Patch, settings: RenderSettings = SETTINGS) -> Audio:
    """A decaying two-partial tone whose pitch follows OP1's coarse ratio, slightly
    detuned by the patch hash so that different patches sound different (int16 grid)."""
    sr = settings.sample_rate
    t = np.arange(settings.num_samples) / sr
    f0 = 110.0 * patch.operator(1).coarse * (1 + int(patch.content_hash[:4], 16) % 64 / 640)
    level = patch.operator(1).ol / 99.0
    env = np.exp(-t * 3.0) * np.minimum(1.0, t * 200.0)
    x = level * 0.5 * env * (np.sin(2 * np.pi * f0 * t) + 0.3 * np.sin(2 * np.pi * 3 * f0 * t))
    return Audio.from_int16(np.rint(x * 32767).astype(np.int16), sr)


def _put(cache: Cache, patch: Patch, settings: RenderSettings) -> Audio:
    audio = tone(patch, settings)
    key = make_key(patch.content_hash, RENDERER_IDENTITY, settings.key)
    cache.put("render", key, audio.to_int16())
    return audio


def write_audio_run(
    run_dir: str | Path,
    benchmark: Benchmark,
    cache: Cache,
    *,
    generator: str = "test",
    shift: int = 1,
    failures: Mapping[str, str] | None = None,
    run_id: str | None = None,
) -> Path:
    """Write a complete run of ``benchmark`` and put its (and the references') audio into
    ``cache``. Item ``i`` gets a patch derived from the reference by ``shift`` (0 = the
    reference itself). ``failures`` maps ids to ``"parse"`` (an unparsable reply) or
    ``"invalid"`` (a reply that parses but fails validation). Metric columns: ``rms``
    (higher is better) and ``dist`` (lower is better), one value per item."""
    run_dir = Path(run_dir)
    failures = dict(failures or {})
    settings = benchmark.render
    rows: list[dict[str, Any]] = []
    rms_vals, dist_vals = [], []
    for i, item in enumerate(benchmark.test):
        assert item.reference_patch is not None
        _put(cache, item.reference_patch, settings)
        row: dict[str, Any] = {
            "id": item.id,
            "caption": item.caption,
            "parsed_ok": True,
            "parse_error": None,
            "valid": True,
            "problems": [],
            "repaired": False,
            "rendered": True,
            "inaudible": False,
            "patch": None,
            "audio_hash": None,
            "direct_audio": False,
        }
        kind = failures.get(item.id)
        if kind == "parse":
            row.update(
                raw_output="Sorry, I cannot make that sound.",
                parsed_ok=False,
                valid=False,
                rendered=False,
                parse_error="no JSON object found in the reply",
            )
            row["note:render"] = "scored as silence (no valid patch)"
            rms, dist = 0.0, 1.0
        elif kind == "invalid":
            bad = patch_dict(1, feedback=9)
            row.update(
                raw_output=json.dumps(bad),
                valid=False,
                rendered=False,
                problems=[
                    {"path": "feedback", "message": "out of range", "value": 9, "allowed": "0..7"}
                ],
            )
            row["note:rms"] = "failed output scored as the worst value"
            rms, dist = 0.0, 1.0
        else:
            patch = _patch(i, shift) if shift else item.reference_patch
            audio = _put(cache, patch, settings)
            row.update(raw_output=patch.to_json(), patch=patch.to_json())
            row["audio_hash"] = audio.content_hash
            rms = round(0.5 + 0.1 * ((i * 7 + shift) % 5), 3)
            dist = round(0.05 * ((i * 3 + shift) % 7), 3)
        row["rms"], row["dist"] = rms, dist
        rms_vals.append(rms)
        dist_vals.append(dist)
        rows.append(row)
    n = len(rows)
    n_bad = len([i for i in failures if i in {it.id for it in benchmark.test}])
    summary = make_summary(
        run_id or run_dir.name,
        {
            "rms": (float(np.mean(rms_vals)), min(rms_vals), max(rms_vals)),
            "dist": (float(np.mean(dist_vals)), min(dist_vals), max(dist_vals)),
        },
        directions={"rms": "higher", "dist": "lower"},
        benchmark=benchmark.name,
        benchmark_version=benchmark.version,
        generator=generator,
        n_items=n,
        n_valid=n - n_bad,
    )
    summary.renderer.identity = RENDERER_IDENTITY
    summary.renderer.options = json.loads(json.dumps(asdict(settings)))
    summary.accounting.n_parsed = n - sum(1 for k in failures.values() if k == "parse")
    summary.timings = {"generate_s": 0.1, "render_s": 0.2, "score_s": 0.3, "total_s": 0.6}
    store = RunDir(run_dir)
    store.write_samples(rows)
    store.write_summary(summary)
    store.write_manifest()
    return run_dir
