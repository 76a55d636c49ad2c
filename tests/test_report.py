"""The HTML report, audio export and the leaderboard page (fmbench.report)."""

from __future__ import annotations

import csv
import io
import json
import struct
import zlib

import numpy as np
import pytest
from click.testing import CliRunner

from fmbench.audio import Audio, read_audio
from fmbench.benchmark import load_benchmark
from fmbench.cache import Cache
from fmbench.report import encode, figures
from fmbench.report.leaderboard_page import (
    check_index,
    coverage,
    leaderboard_html,
    report_path,
    row_mismatches,
    write_index,
)
from fmbench.report.site import build_report, patch_diff_html
from fmbench.report.sources import ReportError, RunAudio, export_audio, safe_name
from fmbench.run.rundir import RunDir
from fmbench.testing.patches import patch_dict
from fmbench.testing.reports import tiny_benchmark, tone, write_audio_run


@pytest.fixture
def bench():
    return tiny_benchmark(4)


@pytest.fixture
def cache(tmp_path):
    return Cache(tmp_path / "cache")


@pytest.fixture
def two_runs(tmp_path, bench, cache):
    a = write_audio_run(tmp_path / "runs" / "a", bench, cache, generator="good", shift=1)
    b = write_audio_run(
        tmp_path / "runs" / "b",
        bench,
        cache,
        generator="bad",
        shift=2,
        failures={"i1": "parse", "i2": "invalid"},
    )
    return a, b


# -- file names, pictures, encoding -------------------------------------------------------


def test_safe_name_is_collision_free_and_keeps_safe_ids():
    assert safe_name("item_01") == "item_01"
    assert (
        safe_name("smoke-retrieval-20260101-000000-abcdef")
        == "smoke-retrieval-20260101-000000-abcdef"
    )
    names = {safe_name(i) for i in ("a/b", "a_b", "a b", "a\\b", "../x", "x")}
    assert len(names) == 6
    assert all("/" not in n and "\\" not in n and not n.startswith(".") for n in names)
    assert safe_name("a/b") != safe_name("a_b") == "a_b"
    assert len(safe_name("é" * 300)) < 100


def _png_rows(png: bytes) -> tuple[int, int, np.ndarray]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        crc = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])[0]
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", data[:10])
            assert (depth, ctype) == (8, 3)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, w + 1)
    assert (raw[:, 0] == 0).all()
    return w, h, raw[:, 1:]


def test_png_palette_round_trips():
    idx = (np.arange(35 * 7) % 256).astype(np.uint8).reshape(7, 35)
    w, h, back = _png_rows(figures.png_palette(idx))
    assert (w, h) == (35, 7) and np.array_equal(back, idx)
    with pytest.raises(ValueError):
        figures.png_palette(np.zeros((0, 3), dtype=np.uint8))


def _sine(freq: float, amp: float, seconds: float = 1.0, sr: int = 48_000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_spectrogram_has_one_fixed_scale():
    full = figures.spectrogram_indices(_sine(1000, 1.0), 48_000)
    quiet = figures.spectrogram_indices(_sine(1000, 0.1), 48_000)
    assert full.shape == (figures.SPEC_HEIGHT, 40) and full.dtype == np.uint8
    mid = full.shape[1] // 2
    row = int(np.argmax(full[:, mid]))
    # the row of 1 kHz on the log axis (row 0 is the top)
    frac = np.log(1000 / figures.F_MIN) / np.log(figures.F_MAX / figures.F_MIN)
    assert abs(row - (1 - frac) * figures.SPEC_HEIGHT) <= 2
    step = 255 / -figures.DB_FLOOR  # palette steps per dB
    assert abs(int(full[row, mid]) - 255) <= 2 * step  # a full-scale sine is ~0 dBFS
    assert abs(int(full[row, mid]) - int(quiet[row, mid]) - 20 * step) <= 2 * step
    assert full[5, mid] < 40  # far from the partial: near the floor
    # the same duration at another rate has the same width (pixels per second)
    assert figures.spectrogram_indices(_sine(1000, 1.0, sr=32_000), 32_000).shape[1] == 40


def test_rms_envelope_in_dbfs():
    env = figures.rms_envelope(_sine(440, 1.0), 48_000)
    assert len(env) == 20 and np.allclose(env, 0.0, atol=0.1)
    silent = figures.rms_envelope(np.zeros(48_000, dtype=np.float32), 48_000)
    assert (silent == figures.DB_FLOOR).all()
    svg = figures.envelope_svg([("ref <x>", env, 1.0, "ref"), ("A", env - 20, 1.0, "gen-A")])
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 and "ref &lt;x&gt;" in svg


def test_mp3_is_supported_and_keeps_the_duration():
    assert encode.mp3_supported()
    data = encode.encode_mp3(Audio(_sine(440, 0.5, seconds=0.75), 48_000))
    assert data[:3] == b"ID3" or data[0] == 0xFF
    import soundfile as sf

    y, sr = sf.read(io.BytesIO(data))
    assert sr == encode.MP3_RATE
    assert abs(len(y) / sr - 0.75) < 0.08
    assert 0.2 < np.abs(y).max() < 0.7


# -- audio from the run directory ----------------------------------------------------------


def test_run_audio_comes_from_the_render_cache(two_runs, bench, cache):
    a, b = two_runs
    items = RunAudio(b, cache=cache, benchmark=bench).load()
    by_id = {it.id: it for it in items}
    assert by_id["i0"].generated is not None and by_id["i0"].generated_note == ""
    ref = bench.test[0].reference_patch
    assert by_id["i0"].reference == tone(ref)
    assert by_id["i0"].reference_patch == ref
    assert by_id["i1"].generated is None and "no patch" in by_id["i1"].generated_note
    assert by_id["i1"].reference is not None  # failed items still have their reference
    assert by_id["i0"].generated.duration == pytest.approx(0.768)


def test_run_audio_flags_audio_that_differs_from_what_was_scored(two_runs, bench, cache):
    a, _ = two_runs
    store = RunDir(a)
    rows = store.read_samples()
    rows[0]["audio_hash"] = "0" * 64
    store.write_samples(rows)
    it = RunAudio(a, cache=cache, benchmark=bench).load()[0]
    assert "differs from the audio the run scored" in it.generated_note


def test_run_audio_without_a_loadable_benchmark_says_why(two_runs, cache):
    a, _ = two_runs  # benchmark "tiny" is not registered: no reference audio
    src = RunAudio(a, cache=cache)
    it = src.load()[0]
    assert it.generated is not None and it.reference is None
    assert "benchmark 'tiny' cannot be loaded" in it.reference_note


def test_run_audio_reads_direct_audio_outputs(tmp_path, bench, cache):
    """Text-to-audio generators hand over audio files: the report plays those."""
    from fmbench.audio import write_audio

    run = write_audio_run(tmp_path / "r", bench, cache)
    store = RunDir(run)
    rows = store.read_samples()
    wav = write_audio(tmp_path / "gen.wav", Audio(_sine(330, 0.5, seconds=0.5), 16_000))
    rows[0].update(patch=None, direct_audio=True, audio_hash=read_audio(wav).content_hash)
    store.write_samples(rows)
    (run / "generations.jsonl").write_text(
        json.dumps({"id": "i0", "raw_output": None, "audio_path": str(wav)}) + "\n"
    )
    it = RunAudio(run, cache=cache, benchmark=bench).load(["i0"])[0]
    assert it.generated == read_audio(wav) and it.generated_note == ""
    from fmbench.report.site import item_status

    assert item_status(RunDir(run).read_samples()[0]) == ("ok", "audio")
    wav.unlink()
    it = RunAudio(run, cache=cache, benchmark=bench).load(["i0"])[0]
    assert it.generated is None and "cannot read the generator's audio file" in it.generated_note


def test_run_audio_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(ReportError, match="not a finished run directory"):
        RunAudio(tmp_path)


def test_export_audio_writes_flac_and_keeps_the_run_complete(tmp_path, bench, cache):
    run = write_audio_run(tmp_path / "r", bench, cache, failures={"i3": "parse"})
    store = RunDir(run)
    rows = store.read_samples()
    rows[0]["id"], rows[1]["id"] = "a/b", "a_b"  # ids that slugify alike
    store.write_samples(rows)
    store.write_manifest()
    renamed = _rename(bench, {"i0": "a/b", "i1": "a_b"})
    folder = export_audio(run, cache=cache, benchmark=renamed)
    assert folder == run / "audio"
    index = list(csv.DictReader((folder / "index.csv").open()))
    assert [r["id"] for r in index] == ["a/b", "a_b", "i2", "i3"]
    files = [r["file"] for r in index]
    assert len(set(files[:3])) == 3 and files[3] == "" and "no patch" in index[3]["note"]
    assert all((folder / r["reference_file"]).is_file() for r in index)
    assert read_audio(folder / files[1]) == tone(_patch_of_row(rows[1]))
    assert read_audio(folder / index[1]["reference_file"]) == tone(bench.test[1].reference_patch)
    assert store.is_complete(), store.problems()
    listed = json.loads(store.manifest_path.read_text())["files"]
    assert any(e["path"].startswith("audio/reference/") for e in listed)
    # saved audio is what the report uses afterwards, even without the cache
    again = RunAudio(run, cache=Cache(None), benchmark=renamed).load()
    assert again[1].generated == read_audio(folder / files[1])


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def _patch_of_row(row):
    from fmbench.patch.model import Patch

    return Patch.from_dict(json.loads(row["patch"]))


def _rename(bench, mapping):
    import dataclasses

    items = tuple(dataclasses.replace(it, id=mapping.get(it.id, it.id)) for it in bench.test)
    return dataclasses.replace(bench, test=items)


# -- the site ------------------------------------------------------------------------------


def test_report_site_files_and_contents(tmp_path, two_runs, bench, cache):
    a, b = two_runs
    index = build_report([a, b], tmp_path / "rep", cache=cache, benchmark=bench)
    root = index.parent
    html = index.read_text()
    assert html.startswith("<!DOCTYPE html>") and 'href="assets/report.css"' in html
    assert "http://" not in html and "https://" not in html  # nothing from the network
    for text in ("Accounting", "Timings", "Paired differences", "Metric values", "tiny@1"):
        assert text in html
    assert html.count('<tr data-failed="1">') == 2 and html.count('<tr data-failed="0">') == 2
    doc = json.loads((root / "report.json").read_text())
    assert [r["label"] for r in doc["runs"]] == ["A", "B"]
    # 4 references + 4 from A + 2 from B (two failed) = 10 distinct clips
    assert doc["clips"] == 10
    assert len(list((root / "media").glob("*.mp3"))) == 10
    assert len(list((root / "media").glob("*.png"))) == 11  # + the colour bar
    page = (root / doc["items"]["i1"]).read_text()
    assert "Why it failed: unparsed" in page and "no JSON object found in the reply" in page
    assert "Sorry, I cannot make that sound." in page
    page2 = (root / doc["items"]["i2"]).read_text()
    assert "Why it failed: invalid" in page2 and "out of range" in page2 and "0..7" in page2
    page0 = (root / doc["items"]["i0"]).read_text()
    assert page0.count("<audio ") == 4  # A/B player + reference + A + B
    assert page0.count('data-src="../media/') == 3 and "algorithm" in page0
    assert 'data-duration="0.768"' in page0
    for rel in ("assets/report.js", "assets/report.css"):
        assert (root / rel).is_file()
    assert not list(tmp_path.glob(".rep.*"))  # no temporary folder left behind
    assert root.stat().st_mode & 0o055 == (0o755 & ~_umask()) & 0o055  # readable by others


def test_report_reuses_encoded_media_from_the_cache(tmp_path, two_runs, bench, cache):
    a, b = two_runs
    logs: list[str] = []
    build_report([a, b], tmp_path / "r1", cache=cache, benchmark=bench, log=logs.append)
    assert "10 distinct clips: 10 encoded, 0 from the cache" in logs
    logs.clear()
    build_report([a, b], tmp_path / "r2", cache=cache, benchmark=bench, log=logs.append)
    assert "10 distinct clips: 0 encoded, 10 from the cache" in logs
    for p in (tmp_path / "r1" / "media").iterdir():  # byte-identical media
        assert p.read_bytes() == (tmp_path / "r2" / "media" / p.name).read_bytes()
    # a damaged entry is encoded again
    entries = sorted((cache.root / "report-media").rglob("*.arr"))
    assert len(entries) == 10
    entries[0].write_bytes(b"garbage")
    logs.clear()
    build_report([a, b], tmp_path / "r3", cache=cache, benchmark=bench, log=logs.append)
    assert "10 distinct clips: 1 encoded, 9 from the cache" in logs


def test_report_replaces_an_earlier_report_but_not_other_folders(tmp_path, two_runs, bench, cache):
    a, _ = two_runs
    out = tmp_path / "rep"
    build_report([a], out, cache=cache, benchmark=bench)
    (out / "stale.txt").write_text("x")
    build_report([a], out, cache=cache, benchmark=bench)
    assert not (out / "stale.txt").exists() and (out / "index.html").is_file()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(ReportError, match="not an fmbench report"):
        build_report([a], other, cache=cache, benchmark=bench)
    assert (other / "notes.txt").read_text() == "keep"


def test_report_refuses_runs_of_different_benchmarks_and_duplicates(tmp_path, bench, cache):
    a = write_audio_run(tmp_path / "a", bench, cache)
    other = tiny_benchmark(3, name="other")
    b = write_audio_run(tmp_path / "b", other, cache)
    with pytest.raises(ReportError, match="a report compares runs of one benchmark"):
        build_report([a, b], tmp_path / "rep", cache=cache, benchmark=bench)
    with pytest.raises(ReportError, match="are the same run"):
        build_report([a, a], tmp_path / "rep", cache=cache, benchmark=bench)
    with pytest.raises(ReportError, match="no such run directory"):
        build_report([tmp_path / "nope"], tmp_path / "rep", cache=cache, benchmark=bench)


def test_patch_diff_highlights_differences_and_names_the_algorithm():
    from fmbench.patch.model import Patch

    ref = Patch.from_dict(patch_dict(5))
    gen = Patch.from_dict(patch_dict(5, coarse=[1, 1, 1, 1, 1, 7], feedback=3))
    html = patch_diff_html(gen, ref)
    assert "algorithm 5 (carriers OP1, OP3, OP5)" in html
    assert "2 differing values" in html  # OP1's coarse and the feedback
    assert html.count('class="diff"') == 2
    custom = patch_diff_html(Patch.from_dict(patch_dict(1, outmatrix=[1] * 6)), None)
    assert "custom topology (not a DX7 algorithm" in custom
    assert "reference patch only" in patch_diff_html(None, ref)


# -- the leaderboard page ------------------------------------------------------------------


def _board(tmp_path):
    from fmbench import leaderboard as lb
    from fmbench.testing.runs import make_summary

    folder = tmp_path / "lb"
    (folder / "runs").mkdir(parents=True)
    s1 = make_summary("run-a", {"rms": (0.8, 0.7, 0.9), "kad": 2.0}, generator="model")
    s2 = make_summary("run-b", {"rms": (0.6, 0.5, 0.7), "kad": 1.0}, generator="base")
    s2.metrics["kad"].metric_identity = "kad:passt"  # a different embedder
    s2.metrics["rms"].n = 7  # scored only 7 of 10 items
    s3 = make_summary("run-c", {"rms": 0.5, "kad": 3.0}, generator="other")
    s3.renderer.identity = "dx7/9.9.9"
    for s in (s1, s2, s3):
        (folder / "runs" / lb.submission_name(s)).write_text(s.to_json())
    return folder


def test_leaderboard_page_flags_mismatches_and_shows_coverage(tmp_path):
    from fmbench import leaderboard as lb

    folder = _board(tmp_path)
    tables = lb.build_tables(lb.load_submissions(folder))
    # another renderer is another table, never a row beside the others
    assert sorted(len(t.rows) for t in tables) == [1, 2]
    table = next(t for t in tables if len(t.rows) == 2)
    mism = row_mismatches(table)
    name = {s.run_id: fname for fname, s in table.rows}
    assert [w for w, _ in mism[name["run-b"]]] == ["metric:kad"]
    assert mism[name["run-a"]] == []
    s2 = dict(table.rows)[name["run-b"]]
    assert coverage(s2, 10) == (7, 10)
    html = leaderboard_html(folder)
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "<script>" in html
    assert "Identity mismatches" in html and "dx7/9.9.9" in html and "kad:passt" in html
    assert "7/10" in html and "n = 7/10" in html
    assert "0.700 – 0.900" in html  # intervals
    assert 'class="report-link"' not in html
    rp = report_path(folder, "run-a")
    rp.parent.mkdir(parents=True)
    rp.write_text("<html></html>")
    html = leaderboard_html(folder)
    assert html.count('class="report-link"') == 1 and 'href="reports/run-a/index.html"' in html


def test_leaderboard_index_write_and_check(tmp_path):
    from fmbench import leaderboard as lb

    folder = _board(tmp_path)
    with pytest.raises(lb.StaleLeaderboardError, match="missing"):
        check_index(folder)
    write_index(folder)
    check_index(folder)
    report_path(folder, "run-b").parent.mkdir(parents=True)
    report_path(folder, "run-b").write_text("x")  # a new report changes the page
    with pytest.raises(lb.StaleLeaderboardError, match="stale"):
        check_index(folder)


def test_leaderboard_cli_writes_and_checks_the_page(tmp_path):
    from fmbench.cli import main

    folder = _board(tmp_path)
    runner = CliRunner()
    r = runner.invoke(main, ["leaderboard", "--dir", str(folder), "--write"])
    assert (
        r.exit_code == 0 and (folder / "index.html").is_file() and (folder / "README.md").is_file()
    )
    assert runner.invoke(main, ["leaderboard", "--dir", str(folder), "--check"]).exit_code == 0
    out = tmp_path / "site" / "board.html"
    r = runner.invoke(
        main, ["leaderboard", "--dir", str(folder), "--format", "html", "-o", str(out)]
    )
    assert r.exit_code == 0 and "<!DOCTYPE html>" in out.read_text()
    report_path(folder, "run-a").parent.mkdir(parents=True)
    report_path(folder, "run-a").write_text("x")
    runner.invoke(main, ["leaderboard", "--dir", str(folder), "--format", "html", "-o", str(out)])
    assert 'href="../lb/reports/run-a/index.html"' in out.read_text()
    r = runner.invoke(main, ["leaderboard", "--dir", str(folder), "--check"])
    assert r.exit_code == 1 and "index.html is stale" in r.output


# -- end to end ----------------------------------------------------------------------------


def test_run_save_audio_then_report_end_to_end(tmp_path, monkeypatch):
    """The real pipeline: a 2-item smoke run with --save-audio, then `fmbench report`."""
    from fmbench.cli import main

    monkeypatch.setenv("FMBENCH_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    r = CliRunner().invoke(
        main,
        ["run", "-g", "retrieval", "--benchmark", "smoke", "--limit", "2", "--metrics",
         "parse_rate,rms", "--run-dir", str(run), "--save-audio", "-q"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    index = list(csv.DictReader((run / "audio" / "index.csv").open()))
    assert len(index) == 2 and all(row["file"] and row["reference_file"] for row in index)
    audio = read_audio(run / "audio" / index[0]["file"])
    assert audio.sample_rate == 48_000 and audio.duration == pytest.approx(9.6)
    assert RunDir(run).is_complete()
    rows = RunDir(run).read_samples()
    assert audio.content_hash == rows[0]["audio_hash"]  # exactly what the run scored
    r = CliRunner().invoke(main, ["report", str(run), "-o", str(tmp_path / "rep"), "-q", "-j", "1"])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "rep" / "index.html").read_text()
    smoke = load_benchmark("smoke")
    assert f"smoke@{smoke.version}" in html and "retrieval" in html
    assert len(list((tmp_path / "rep" / "media").glob("*.mp3"))) == 4


def test_report_cli_errors_are_one_line(tmp_path):
    from fmbench.cli import main

    r = CliRunner().invoke(main, ["report", str(tmp_path / "nope"), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "Error:" in r.output and "Traceback" not in r.output
