"""Hostile files and sizes: name collisions, long ids, symbolic links, killed renders,
FIFOs, huge durations, full or read-only disks, broken config files, file modes."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fmbench.audio import Audio, read_audio, write_audio
from fmbench.cli import main
from fmbench.patch.model import Patch
from fmbench.testing.patches import patch_dict

FAST = ["--no-progress", "--sample-rate", "8000"]


def _patch(ol1: int = 99) -> Patch:
    return Patch.from_dict(
        patch_dict(
            5,
            feedback=3,
            ol=[80, 70, 60, 90, 80, ol1],
            eg_rate=[[99] * 6, [60] * 6, [40] * 6, [70] * 6],
            eg_level=[[99] * 6, [90] * 6, [80] * 6, [0] * 6],
        )
    )


def _jsonl(path: Path, records: list[tuple[str, Patch]]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "patch": p.to_dict()}) + "\n" for i, p in records))
    return path


def _render(*args):
    return CliRunner().invoke(main, ["render", *[str(a) for a in args], *FAST])


def _manifest(out: Path) -> dict[str, dict]:
    lines = (out / "manifest.jsonl").read_text().splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


# -- fmbench render --------------------------------------------------------------------


def test_render_ids_that_clean_to_one_name_get_distinct_files(tmp_path):
    src = _jsonl(tmp_path / "p.jsonl", [("a/b", _patch(60)), ("a_b", _patch(99))])
    out = tmp_path / "out"
    r = _render(src, "--out", out)
    assert r.exit_code == 0, r.output
    m = _manifest(out)
    assert m["a_b"]["wav_path"] == "a_b.wav"  # a safe id keeps its own name
    assert m["a/b"]["wav_path"] != m["a_b"]["wav_path"]
    a, b = read_audio(out / m["a/b"]["wav_path"]), read_audio(out / m["a_b"]["wav_path"])
    assert not np.array_equal(a.samples, b.samples)  # two renders, neither overwritten


def test_render_names_differing_only_in_case_do_not_share_a_file(tmp_path):
    src = _jsonl(tmp_path / "p.jsonl", [("Voice", _patch(60)), ("voice", _patch(99))])
    r = _render(src, "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    m = _manifest(tmp_path / "out")
    assert m["Voice"]["wav_path"].casefold() != m["voice"]["wav_path"].casefold()


def test_render_two_rows_with_one_wav_path_fail_the_second(tmp_path):
    src = tmp_path / "d.csv"
    data = _patch().to_json().replace('"', '""')
    src.write_text(f'id,wav_path,patch_data\nx,same.wav,"{data}"\ny,same.wav,"{data}"\n')
    r = _render(src, "--out", tmp_path / "out")
    assert r.exit_code == 1
    assert "already written by id 'x'" in r.output
    m = _manifest(tmp_path / "out")
    assert (m["x"]["status"], m["y"]["status"]) == ("ok", "failed")


def test_render_a_5000_character_id_is_one_row_not_a_crash(tmp_path):
    long_id = "x" * 5000
    src = _jsonl(tmp_path / "p.jsonl", [(long_id, _patch()), ("short", _patch(70))])
    out = tmp_path / "out"
    r = _render(src, "--out", out)
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output
    m = _manifest(out)
    assert m[long_id]["status"] == m["short"]["status"] == "ok"
    name = m[long_id]["wav_path"]
    assert len(name.encode()) <= 100 and (out / name).is_file()


def test_render_a_long_wav_path_is_a_row_error(tmp_path):
    src = tmp_path / "d.csv"
    data = _patch().to_json().replace('"', '""')
    src.write_text(f'id,wav_path,patch_data\nx,{"y" * 300}.wav,"{data}"\nz,z.wav,"{data}"\n')
    r = _render(src, "--out", tmp_path / "out")
    assert r.exit_code == 1 and "longer than" in r.output and "Traceback" not in r.output
    assert _manifest(tmp_path / "out")["z"]["status"] == "ok"


def test_render_nul_bytes_and_non_utf8_input_are_clean_errors(tmp_path):
    src = tmp_path / "nul.csv"
    src.write_bytes(b"id,wav_path,patch_data\nx,a\0b.wav,{}\n")
    r = _render(src, "--out", tmp_path / "o1")
    assert r.exit_code == 1 and "NUL character" in r.output
    src = tmp_path / "latin1.csv"
    src.write_bytes(b"id,wav_path,patch_data\n\xff\xfe,a.wav,{}\n")
    r = _render(src, "--out", tmp_path / "o2")
    assert r.exit_code == 2 and "not UTF-8 text" in r.output and r.exception is not None
    assert isinstance(r.exception, SystemExit)


def test_render_never_writes_through_a_symlinked_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(outside, target_is_directory=True)
    src = tmp_path / "d.csv"
    data = _patch().to_json().replace('"', '""')
    src.write_text(f'id,wav_path,patch_data\nx,link/x.wav,"{data}"\nok,in/ok.wav,"{data}"\n')
    r = _render(src, "--out", out)
    assert r.exit_code == 1 and "outside --out" in r.output
    assert list(outside.iterdir()) == []
    m = _manifest(out)
    assert (m["x"]["status"], m["ok"]["status"]) == ("failed", "ok")


def test_render_cleans_temporaries_and_redoes_a_truncated_file(tmp_path):
    src = _jsonl(tmp_path / "p.jsonl", [("a", _patch()), ("b", _patch(70))])
    out = tmp_path / "out"
    assert _render(src, "--out", out).exit_code == 0
    (out / ".a.wav.k1ll3d.part").write_bytes(b"RIFF half a file")  # left by a killed render
    good = (out / "a.wav").read_bytes()
    (out / "a.wav").write_bytes(good[: len(good) // 2])  # truncated after the fact
    r = _render(src, "--out", out)
    assert r.exit_code == 0, r.output
    assert "rendered 1, skipped 1" in r.output
    assert (out / "a.wav").read_bytes() == good
    assert not list(out.rglob("*.part"))
    entry = _manifest(out)["a"]
    assert entry["size"] == len(good) and len(entry["sha256"]) == 64


# -- fmbench render: a run as input ----------------------------------------------------


def _fake_run(run_dir: Path) -> tuple[Patch, Patch]:
    from fmbench.run.rundir import RunDir

    p1, p2 = _patch(60), _patch(90)
    rows = [
        {"id": "i1", "raw_output": "x", "parse_error": None, "patch": p1.to_json(), "m": 0.5},
        {"id": "i2", "raw_output": "y", "parse_error": None, "patch": p2.to_json(), "m": 0.7},
        {"id": "i3", "raw_output": "junk", "parse_error": "no JSON object", "patch": None},
    ]
    RunDir(run_dir).write_samples(rows)
    gens = [
        {"id": "i1", "raw_output": "Here you go: " + p1.to_json(), "patch": None, "info": {}},
        {"id": "i2", "raw_output": None, "patch": p2.to_dict(), "info": {}},
        {"id": "i3", "raw_output": "no patch here", "patch": None, "info": {}},
    ]
    (run_dir / "generations.jsonl").write_text("".join(json.dumps(g) + "\n" for g in gens))
    return p1, p2


@pytest.mark.parametrize("which", ["dir", "samples.csv", "generations.jsonl"])
def test_render_accepts_a_run_directory_or_its_files(tmp_path, which):
    run = tmp_path / "run"
    run.mkdir()
    p1, p2 = _fake_run(run)
    src = run if which == "dir" else run / which
    out = tmp_path / "out"
    r = _render(src, "--out", out)
    assert r.exit_code == 1, r.output  # i3 has no patch: one failed row, not a refusal
    assert "missing column" not in r.output
    m = _manifest(out)
    assert (m["i1"]["status"], m["i2"]["status"], m["i3"]["status"]) == ("ok", "ok", "failed")
    assert m["i1"]["patch_hash"] == p1.content_hash and m["i2"]["patch_hash"] == p2.content_hash


# -- reading audio ---------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_as_audio_is_refused_instead_of_hanging(tmp_path):
    from fmbench.audio import AudioFileError

    fifo = tmp_path / "audio.wav"
    os.mkfifo(fifo)
    outcome: list[BaseException | Audio] = []

    def target() -> None:
        try:
            outcome.append(read_audio(fifo))
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # unblock the reader so the thread can end, then fail
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        t.join(5)
        pytest.fail("read_audio blocked on a FIFO")
    assert isinstance(outcome[0], AudioFileError) and "regular file" in str(outcome[0])


def test_the_outputs_generator_records_a_fifo_as_a_failed_item(tmp_path):
    from fmbench.contracts import GeneratorOutput, Sample
    from fmbench.run.runner import parse_output

    fifo = tmp_path / "x.wav"
    os.mkfifo(fifo)
    sample = Sample(id="x", caption="c")
    done = threading.Event()

    def target() -> None:
        parse_output(GeneratorOutput(audio_path=str(fifo)), sample)
        done.set()

    threading.Thread(target=target, daemon=True).start()
    if not done.wait(10):
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("parse_output blocked on a FIFO")
    assert sample.audio is None and "regular file" in (sample.parse_error or "")


def test_audio_longer_than_the_limit_is_refused(tmp_path, monkeypatch):
    import fmbench.audio as audio_mod
    from fmbench.audio import AudioFileError

    path = write_audio(tmp_path / "long.wav", Audio(np.zeros(8000 * 3, np.float32), 8000))
    monkeypatch.setattr(audio_mod, "MAX_AUDIO_SECONDS", 2.0)
    with pytest.raises(AudioFileError, match="longer than fmbench's limit"):
        read_audio(path)
    monkeypatch.setattr(audio_mod, "MAX_AUDIO_SECONDS", 4.0)
    assert len(read_audio(path)) == 8000 * 3


def test_a_huge_render_duration_is_refused_in_the_benchmark_definition(tmp_path):
    from fmbench.benchmark import BenchmarkDefinitionError, read_definition
    from fmbench.render import RenderSettings

    toml = tmp_path / "b.toml"
    toml.write_text(
        'name = "huge"\nversion = "1"\n[data]\ntest = "t.csv"\ncaptions = "c.csv"\n'
        "[render]\nhold_seconds = 100000\n"
    )
    with pytest.raises(BenchmarkDefinitionError, match=r"b\.toml: \[render\]:.*limit"):
        read_definition(toml)
    with pytest.raises(ValueError, match="limit"):
        RenderSettings(notes=tuple(range(40)), velocities=tuple(range(1, 21)))
    with pytest.raises(ValueError, match="finite"):
        RenderSettings(hold_seconds=float("inf"))
    assert RenderSettings().num_samples == 460_800  # the default is untouched


# -- the environment: full disk, read-only folder, umask ----------------------------------


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (errno.ENOSPC, "no space left on the device"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_full_disk_or_read_only_folder_is_one_clean_line(tmp_path, monkeypatch, code, text):
    import fmbench.leaderboard as lb

    def fail(path, data):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(lb, "atomic_write_text", fail)
    r = CliRunner().invoke(main, ["leaderboard", "--write", "--dir", str(tmp_path)])
    assert r.exit_code == 2
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert r.output.strip() == f"Error: {tmp_path / 'README.md'}: {text}"


def test_other_os_errors_are_not_disguised(monkeypatch, tmp_path):
    import fmbench.leaderboard as lb

    def fail(path, data):
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(lb, "atomic_write_text", fail)
    r = CliRunner().invoke(main, ["leaderboard", "--write", "--dir", str(tmp_path)])
    assert isinstance(r.exception, OSError)  # a real I/O fault stays a bug report


def test_run_files_get_the_users_umask(tmp_path):
    from fmbench.files import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "summary.json", "{}")
        write_audio(tmp_path / "a.wav", Audio(np.zeros(100, np.float32), 8000))
        os.umask(0o077)
        atomic_write_text(tmp_path / "private.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "summary.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "a.wav").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "private.json").stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.part"))


# -- config files ----------------------------------------------------------------------


@pytest.fixture
def broken_project(tmp_path, monkeypatch):
    from fmbench.plugins import get_plugins

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FMBENCH_CONFIG", "")
    monkeypatch.setenv("FMBENCH_STRICT_PLUGINS", "0")  # CI sets 1: a broken file is then fatal
    (tmp_path / "fmbench.toml").write_text('[generators.mine]\ntype = "random"\nseed = \n')
    get_plugins.cache_clear()
    yield tmp_path
    get_plugins.cache_clear()


def test_fmbench_run_reports_a_malformed_fmbench_toml(broken_project):
    r = CliRunner().invoke(main, ["run", "-g", "mine", "-q"])
    assert r.exit_code == 2
    assert "fmbench.toml: invalid TOML" in r.output and "unknown generator 'mine'" in r.output
    assert "Traceback" not in r.output
    # with another generator the run goes on, but the broken file is still named
    r = CliRunner().invoke(main, ["run", "-g", "random", "-b", "no-such.toml", "-q"])
    assert "Warning:" in r.output and "fmbench.toml: invalid TOML" in r.output
