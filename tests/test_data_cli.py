"""`fmbench data …`: synthetic benchmark regeneration, SysEx import, the captioner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fmbench.audio import Audio, is_inaudible, write_audio
from fmbench.captioner import attack_word, brightness_word, caption_from, describe
from fmbench.cli import main
from fmbench.datagen import caption_dataset, import_syx, make_default
from fmbench.dataset import read_captions, read_dataset
from fmbench.patch.algorithms import algorithm
from fmbench.patch.model import Patch
from fmbench.render import RenderSettings, resolve_renderer
from fmbench.testing.patches import patch_dict

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "src" / "fmbench" / "data" / "synthetic"
SYX = ROOT / ".." / "shared" / "data" / "dx7" / "syx"
BANKS = sorted(SYX.glob("*.syx"))


def _invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# -- the synthetic benchmark is regenerable bit for bit -----------------------------------
def test_make_synthetic_prefix_matches_committed_data(tmp_path):
    r = _invoke(
        "data", "make-synthetic", "--out", tmp_path, "--max-candidates", 24, "--no-progress"
    )
    assert r.exit_code == 0, r.output
    assert "candidates 24" in r.output
    for name in ("train.csv", "test.csv", "captions.csv"):
        new = (tmp_path / name).read_text().splitlines()
        committed = (SYNTHETIC / name).read_text().splitlines()
        if name == "captions.csv":  # one file for both splits, in id order
            committed = [committed[0]] + [
                line for line in committed[1:] if int(line.split(",")[1]) < 24
            ]
            new = [new[0]] + [line for line in new[1:]]
            assert [ln.split(",", 1)[1] for ln in new] == [ln.split(",", 1)[1] for ln in committed]
        else:
            assert len(new) > 1
            assert new == committed[: len(new)], name  # byte-identical prefix


@pytest.mark.slow
def test_make_synthetic_full_regeneration_is_bit_for_bit(tmp_path):
    report = make_default(tmp_path, seed=0)
    assert (report.n_train, report.n_test) == (1000, 100)
    for name in ("train.csv", "test.csv", "captions.csv"):
        assert (tmp_path / name).read_bytes() == (SYNTHETIC / name).read_bytes(), name


def test_other_seed_gives_other_data(tmp_path):
    make_default(tmp_path, seed=1, max_candidates=8)
    rows = read_dataset(tmp_path / "train.csv")
    committed = {r.id: r.patch_data for r in read_dataset(SYNTHETIC / "train.csv")}
    assert any(committed.get(r.id) != r.patch_data for r in rows)


# -- the captioner -----------------------------------------------------------------------
def _patch(alg: int, *, mod_ol: int, r1: int, l3: int, ratio_mod: int = 1) -> Patch:
    a = algorithm(alg)
    ol, coarse = [0] * 6, [1] * 6
    for op in range(1, 7):
        s = 6 - op
        ol[s] = 99 if op in a.carriers else mod_ol
        coarse[s] = 1 if op in a.carriers else ratio_mod
    return Patch.from_dict(
        patch_dict(
            alg,
            coarse=coarse,
            ol=ol,
            eg_rate=[[r1] * 6, [50] * 6, [50] * 6, [60] * 6],
            eg_level=[[99] * 6, [90] * 6, [l3] * 6, [0] * 6],
        )
    )


@pytest.fixture(scope="module")
def renderer():
    return resolve_renderer("dx7")


def test_captioner_tells_bright_pluck_from_dark_pad(renderer):
    s = RenderSettings()
    bright = _patch(1, mod_ol=95, r1=99, l3=0, ratio_mod=3)  # OP2 modulates OP1 hard
    dark = _patch(32, mod_ol=0, r1=25, l3=95)  # single sine carrier, slow attack
    dark = dark.replace(ol=[0, 0, 0, 0, 0, 99])  # only OP1 (slot 5) sounds
    db, dd = describe(renderer.render(bright, s)), describe(renderer.render(dark, s))
    assert db.attack_s < 0.06 < 0.3 <= dd.attack_s
    assert db.centroid_hz > 3 * dd.centroid_hz
    assert abs(dd.f0_hz - 261.63) < 1.0 and dd.inharmonicity < 0.05
    assert db.sustain_db < -30 < -3 < dd.sustain_db
    assert attack_word(db.attack_s) in {"percussive", "fast"}
    assert attack_word(dd.attack_s) in {"slow", "very slow"}
    assert brightness_word(db.centroid_hz, db.f0_hz, db.inharmonicity) in {"bright", "very bright"}
    assert brightness_word(dd.centroid_hz, dd.f0_hz, dd.inharmonicity) in {"pure", "dark"}
    cb, cd = caption_from(db, "k"), caption_from(dd, "k")
    assert "pad" in cd.split(":")[0] and "pad" not in cb.split(":")[0]
    assert "steady sustain" in cd or "constant level" in cd
    assert "middle register" in cd


def test_captioner_is_deterministic(renderer):
    p = _patch(5, mod_ol=80, r1=90, l3=50, ratio_mod=2)
    a1 = renderer.render(p, RenderSettings())
    a2 = renderer.render(p, RenderSettings())
    assert describe(a1) == describe(a2)
    assert caption_from(describe(a1), p.content_hash) == caption_from(describe(a2), p.content_hash)


def test_captioner_on_silence():
    silent = Audio(np.zeros(48000, dtype=np.float32), 48000)
    assert is_inaudible(silent)
    d = describe(silent)
    assert d.inaudible and caption_from(d) == "Silence: an inaudible patch."
    assert not is_inaudible(Audio(np.full(10, 0.01, dtype=np.float32), 48000))


def test_caption_command_reproduces_synthetic_captions(tmp_path):
    # the first three test rows, captioned again from fresh renders and from WAV files
    lines = (SYNTHETIC / "test.csv").read_text().splitlines()
    (tmp_path / "d.csv").write_text("\n".join(lines[:4]) + "\n")
    committed = read_captions(SYNTHETIC / "captions.csv")
    r = _invoke(
        "data", "caption", tmp_path / "d.csv", "--render", "-o", tmp_path / "c.csv", "--no-progress"
    )
    assert r.exit_code == 0, r.output
    caps = read_captions(tmp_path / "c.csv")
    assert len(caps) == 3 and all(caps[k] == committed[k] for k in caps)

    renderer = resolve_renderer("dx7")
    from fmbench.patch.canonical import strip_metadata

    for row in read_dataset(tmp_path / "d.csv"):
        audio = renderer.render(Patch.from_dict(strip_metadata(row.patch_data)), RenderSettings())
        write_audio(tmp_path / "wav" / row.wav_path, audio)
    assert caption_dataset(tmp_path / "d.csv", audio_dir=tmp_path / "wav") == caps


def test_caption_command_bad_input(tmp_path):
    lines = (SYNTHETIC / "test.csv").read_text().splitlines()
    (tmp_path / "d.csv").write_text("\n".join(lines[:3]) + "\n")
    r = CliRunner().invoke(
        main,
        ["data", "caption", str(tmp_path / "d.csv"), "--audio-dir", str(tmp_path), "-o", "x.csv"],
    )
    assert r.exit_code == 2
    assert "line 2 (id" in r.output and "audio file not found" in r.output
    assert "Traceback" not in r.output
    r = CliRunner().invoke(main, ["data", "caption", str(tmp_path / "d.csv"), "-o", "x.csv"])
    assert r.exit_code == 2 and "exactly one of --audio-dir DIR or --render" in r.output
    (tmp_path / "empty.csv").write_text("")
    r = CliRunner().invoke(
        main, ["data", "caption", str(tmp_path / "empty.csv"), "--render", "-o", "x"]
    )
    assert r.exit_code == 2 and "empty.csv: empty file" in r.output


# -- SysEx import --------------------------------------------------------------------------
pytestmark_banks = pytest.mark.skipif(len(BANKS) != 8, reason="shared DX7 banks not available")


@pytestmark_banks
def test_import_syx_all_shared_banks(tmp_path):
    r = _invoke(
        "data", "import-syx", *BANKS, "--out", tmp_path, "--collection", "DX7_TEST",
        "--captions", "placeholder", "--no-progress",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["n_candidates"] == 256
    assert report["n_duplicates"] == 0  # the eight banks share no voice
    assert report["n_train"] + report["n_test"] == 256
    assert report["n_inaudible"] == 0
    assert report["n_fixed"] == 72  # fixed voices per bank: 4+1+1+2+9+13+27+15
    rows = read_dataset(tmp_path / "train.csv") + read_dataset(tmp_path / "test.csv")
    by_path = {r.wav_path: r for r in rows}
    assert "DX7_TEST/rom1a/0_BRASS   1.wav" in by_path
    brass = by_path["DX7_TEST/rom1a/0_BRASS   1.wav"]
    assert brass.name == "BRASS   1" and brass.has_fixed_freqs is False
    assert brass.patch_data["ol"] == [82, 98, 99, 99, 86, 98]  # rom1a voice 1, golden
    assert sum(r.has_fixed_freqs for r in rows) == 72
    assert all("/" not in r.wav_path.rsplit("/", 1)[1] for r in rows)
    assert len(read_captions(tmp_path / "captions.csv")) == 256
    # the split is a pure function of the content: importing in another order agrees
    again = import_syx(
        list(reversed(BANKS)), tmp_path / "b", collection="DX7_TEST", captions="none", render=False
    )
    assert again.n_test == report["n_test"]
    test_paths = {r.wav_path for r in read_dataset(tmp_path / "test.csv")}
    assert {r.wav_path for r in read_dataset(tmp_path / "b" / "test.csv")} == test_paths


@pytestmark_banks
def test_import_syx_dedups_by_content_and_flags_silence(tmp_path):
    from fmbench.patch.syx import read_syx, write_syx

    bank = read_syx(SYX / "rom1a.syx")
    renamed = [v.replace(name=f"COPY{i:02d}    ") for i, v in enumerate(bank.voices)]
    silent = renamed[0].to_patch().replace(ol=[0] * 6)
    from fmbench.patch.syx import Voice

    renamed[5] = Voice.from_patch(silent, name="SILENT    ")
    (tmp_path / "copy.syx").write_bytes(write_syx(renamed))
    report = import_syx(
        [SYX / "rom1a.syx", tmp_path / "copy.syx"], tmp_path / "out", captions="auto"
    )
    assert report.n_candidates == 64
    assert report.n_duplicates == 31  # names ignored; the silent voice is new
    assert report.n_inaudible == 1
    rows = read_dataset(tmp_path / "out" / "train.csv") + read_dataset(
        tmp_path / "out" / "test.csv"
    )
    assert len(rows) == 33
    (silent_row,) = [r for r in rows if r.inaudible]
    assert silent_row.name == "SILENT   " and silent_row.wav_path.endswith("copy/5_SILENT   .wav")
    caps = read_captions(tmp_path / "out" / "captions.csv")
    assert caps[silent_row.id].startswith("Silence")
    assert all(c.endswith(".") for c in caps.values())
    dup = report.duplicates[0]
    assert dup == {"voice": "copy.syx voice 1", "duplicate_of": "rom1a.syx voice 1"}


def test_import_syx_bad_input(tmp_path):
    (tmp_path / "junk.syx").write_bytes(b"\xf0\x43hello")
    r = CliRunner().invoke(
        main, ["data", "import-syx", str(tmp_path / "junk.syx"), "--out", str(tmp_path / "o")]
    )
    assert r.exit_code == 2 and "junk.syx" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(
        main,
        ["data", "import-syx", str(tmp_path / "junk.syx"), "--out", "o", "--test-fraction", "2"],
    )
    assert r.exit_code == 2 and "--test-fraction must be in [0, 1]" in r.output
