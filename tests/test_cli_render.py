"""`fmbench render`: CSV / JSONL / .syx inputs, manifest, resume, per-row failures."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fmbench.audio import read_audio
from fmbench.cli import main
from fmbench.patch.model import Patch
from fmbench.testing.patches import patch_dict

SYX = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "dx7" / "syx" / "rom1a.syx"
FAST = ["--no-progress", "--sample-rate", "8000"]  # 8 kHz keeps the 9.6 s renders cheap


def _patch(alg: int = 5, ol1: int = 99) -> Patch:
    return Patch.from_dict(
        patch_dict(
            alg,
            feedback=3,
            ol=[80, 70, 60, 90, 80, ol1],
            eg_rate=[[99] * 6, [60] * 6, [40] * 6, [70] * 6],
            eg_level=[[99] * 6, [90] * 6, [80] * 6, [0] * 6],
        )
    )


def _invoke(*args):
    return CliRunner().invoke(main, ["render", *[str(a) for a in args]])


def _manifest(out: Path) -> dict[str, dict]:
    lines = (out / "manifest.jsonl").read_text().splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def _write_csv(path: Path, rows: list[tuple[str, str, str]]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["", "id", "wav_path", "patch_data", "name", "inaudible", "has_fixed_freqs"])
        for i, (rid, wav, data) in enumerate(rows):
            w.writerow([i, rid, wav, data, "X", "False", "False"])


def test_csv_with_bad_rows_and_resume(tmp_path):
    good = _patch()
    literal = repr(_patch(ol1=50).to_dict())  # a Python-literal patch_data (older files)
    bad = good.to_dict()
    bad["ol"] = [100] * 6
    src = tmp_path / "data.csv"
    _write_csv(
        src,
        [
            ("a", "wav/a.wav", good.to_json()),
            ("b", "wav/b.wav", json.dumps(bad)),
            ("c", "wav/c.wav", literal),
            ("d", "../escape.wav", good.to_json()),
            ("e", "wav/e.wav", "{not a patch"),
        ],
    )
    out = tmp_path / "out"
    r = _invoke(src, "--out", out, *FAST)
    assert r.exit_code == 1
    assert "line 3 (id b)" in r.output and "ol" in r.output
    assert "id d" in r.output and "inside --out" in r.output
    m = _manifest(out)
    assert {k: v["status"] for k, v in m.items()} == {
        "a": "ok",
        "b": "failed",
        "c": "ok",
        "d": "failed",
        "e": "failed",
    }
    a = m["a"]
    assert a["patch_hash"] == good.content_hash and a["renderer"].startswith("dx7/")
    assert a["inaudible"] is False and 0 < a["rms"] < a["peak"] < 0.53
    audio = read_audio(out / "wav" / "a.wav")
    assert audio.sample_rate == 8000 and len(audio) == 64 * 1200
    assert not list(out.rglob("*.part"))
    with open(out / "manifest.csv") as f:
        assert [row["id"] for row in csv.DictReader(f)] == ["a", "b", "c", "d", "e"]

    # rerun: complete outputs are skipped (file untouched), a deleted one is redone
    mtime = (out / "wav" / "a.wav").stat().st_mtime_ns
    (out / "wav" / "c.wav").unlink()
    r2 = _invoke(src, "--out", out, *FAST)
    assert "rendered 1, skipped 1" in r2.output
    assert (out / "wav" / "a.wav").stat().st_mtime_ns == mtime
    # changed settings → different content key → re-rendered
    r3 = _invoke(src, "--out", out, *FAST, "--velocity", "64")
    assert "rendered 2, skipped 0" in r3.output


def test_jsonl_records_flac_multi_note_and_repair(tmp_path):
    p = _patch()
    bad = p.to_dict()
    bad["ol"][0] = 150
    src = tmp_path / "p.jsonl"
    src.write_text(
        json.dumps({"id": "x1", "patch": p.to_dict()})
        + "\n"
        + json.dumps(p.to_dict())
        + "\n"
        + json.dumps({"id": "x3", "patch": bad})
        + "\n"
    )
    out = tmp_path / "o"
    args = [src, "--out", out, *FAST, "--format", "flac", "--note", 48, "--note", 60]
    r = _invoke(*args, "--repair", "clamp")
    assert r.exit_code == 0, r.output
    m = _manifest(out)
    assert set(m) == {"x1", "line2", "x3"}
    a = read_audio(out / "x1.flac")
    assert len(a) == 2 * 64 * 1200
    b = read_audio(out / "line2.flac")
    np.testing.assert_array_equal(a.samples, b.samples)  # same patch, same bytes


def test_ablate_isolate_and_workers(tmp_path):
    src = tmp_path / "p.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": f"v{i}", "patch": _patch(ol1=60 + i).to_dict()}) + "\n"
            for i in range(3)
        )
    )
    one = _invoke(src, "--out", tmp_path / "one", *FAST, "--isolate", 3)
    two = _invoke(src, "--out", tmp_path / "two", *FAST, "--isolate", 3, "--workers", 2)
    assert one.exit_code == two.exit_code == 0
    for i in range(3):
        assert (tmp_path / "one" / f"v{i}.wav").read_bytes() == (
            tmp_path / "two" / f"v{i}.wav"
        ).read_bytes()
    r = _invoke(src, "--out", tmp_path / "x", *FAST, "--isolate", 3, "--ablate", 2)
    assert r.exit_code == 2 and "mutually exclusive" in r.output


def test_syx_input_and_errors(tmp_path):
    if not SYX.exists():
        pytest.skip("shared DX7 banks not available")
    r = _invoke(SYX, "--out", tmp_path / "s", *FAST, "--limit", 2, "--fidelity", "hardware")
    assert r.exit_code == 0, r.output
    m = _manifest(tmp_path / "s")
    assert list(m) == ["rom1a_01", "rom1a_02"]
    assert "/hardware/" in m["rom1a_01"]["renderer"]
    r = _invoke(SYX, "--out", tmp_path / "f", *FAST, "--limit", 1, "--sine", "fast")
    assert r.exit_code == 0, r.output
    assert _manifest(tmp_path / "f")["rom1a_01"]["renderer"].endswith("/reference/fast")
    bad = tmp_path / "x.txt"
    bad.write_text("hi")
    r = _invoke(bad, "--out", tmp_path / "t")
    assert r.exit_code == 2 and "unknown input type" in r.output
    r = _invoke(SYX, "--out", tmp_path / "t", "--fidelity", "perfect")
    assert r.exit_code == 2 and "fidelity" in r.output
    r = _invoke(SYX, "--out", tmp_path / "t", "--sine", "sloppy")
    assert r.exit_code == 2 and "sine" in r.output
