"""The real-voice benchmark: corpus build, packaged data, regeneration, name-aware captions."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fmbench.benchmark import load_benchmark
from fmbench.captioner import Descriptors, caption_voice, describe
from fmbench.cli import main
from fmbench.corpus import (
    DEFAULT_THRESHOLD,
    build_corpus_benchmark,
    cluster_voices,
    dataset_overlap,
    nearest_distances,
    patch_distance_matrix,
    read_corpus,
)
from fmbench.dataset import read_captions, read_dataset
from fmbench.patch.distance import patch_similarity
from fmbench.patch.syx import read_syx
from fmbench.render import RenderSettings, resolve_renderer

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ROOT / "src" / "fmbench" / "data" / "dx7"
SHARED = ROOT / ".." / "shared" / "data" / "dx7"
CORPUS = SHARED / "corpus"
ROM1A = SHARED / "syx" / "rom1a.syx"
needs_rom = pytest.mark.skipif(not ROM1A.is_file(), reason="shared DX7 banks not available")
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared DX7 corpus not available")
FAST = RenderSettings(hold_seconds=0.5, release_seconds=0.25)


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# -- distances ---------------------------------------------------------------------------
@needs_rom
def test_distance_matrix_is_one_minus_dx7_dist():
    patches = read_syx(ROM1A).to_patches()
    d = patch_distance_matrix(patches)
    for i, j in [(0, 1), (3, 17), (8, 30), (12, 12), (31, 2)]:
        assert d[i, j] == pytest.approx(1 - patch_similarity(patches[i], patches[j]), abs=1e-12)
    assert np.allclose(d, d.T) and np.all(np.diag(d) == 0)
    dist, idx = nearest_distances(patches[:5], patches[5:])
    assert np.allclose(dist, d[:5, 5:].min(axis=1)) and list(idx) == list(d[:5, 5:].argmin(1))


def test_single_linkage_clusters():
    d = np.array([[0, 0.01, 0.5, 0.5], [0.01, 0, 0.02, 0.5], [0.5, 0.02, 0, 0.5], [0.5] * 3 + [0]])
    assert list(cluster_voices(d, 0.015)) == [0, 0, 2, 3]
    assert list(cluster_voices(d, 0.02)) == [0, 0, 0, 3]  # chained through voice 1
    assert list(cluster_voices(d, 0.0)) == [0, 1, 2, 3]


# -- a small build -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    if not ROM1A.is_file():
        pytest.skip("shared DX7 banks not available")
    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / "a").mkdir()
    shutil.copy(ROM1A, corpus / "a" / "rom1a.syx")
    shutil.copy(ROM1A, corpus / "copy.syx")  # every voice twice: de-duplicated by parameters
    out = tmp_path_factory.mktemp("out")
    report = build_corpus_benchmark(corpus, out, settings=FAST, test_fraction=0.3)
    return corpus, out, report


def test_small_build_deduplicates_and_keeps_provenance(small):
    corpus, out, report = small
    assert (report.n_voices, report.n_unique) == (64, 32)
    with gzip.open(out / "voices.csv.gz", "rt") as fh:
        lines = fh.read().splitlines()
    assert lines[0] == ",bank,voice,name,content_hash,id,clamped"
    assert len(lines) == 65
    assert lines[1].startswith("0,a/rom1a.syx,1,BRASS   1 ,") and lines[33].startswith(
        "32,copy.syx,1,"
    )
    assert lines[1].split(",")[5] == lines[33].split(",")[5] == "0"  # same item id
    rows = read_dataset(out / "train.csv.gz") + read_dataset(out / "test.csv.gz")
    assert sorted(int(r.id) for r in rows) == list(range(32))
    assert all(r.extra["copies"] == "2" for r in rows)
    assert json.loads((out / "report.json").read_text())["n_unique"] == 32


def test_small_build_splits_by_cluster(small):
    _, out, report = small
    train, test = read_dataset(out / "train.csv.gz"), read_dataset(out / "test.csv.gz")
    assert train and test and report.n_test == len(test)
    assert not {r.extra["cluster"] for r in train} & {r.extra["cluster"] for r in test}
    from fmbench.corpus import load_patches

    ov = dataset_overlap(
        load_patches(out / "test.csv.gz"), load_patches(out / "train.csv.gz"), threshold=0.03
    )
    assert ov["near"] == 0 and ov["median_nearest"] > DEFAULT_THRESHOLD
    ranks = [r.extra["cluster"] for r in test]
    first = ranks[: len(set(ranks))]
    assert len(set(first)) == len(first)  # one voice per cluster comes first


def test_small_build_is_byte_reproducible(small, tmp_path):
    corpus, out, _ = small
    build_corpus_benchmark(corpus, tmp_path, settings=FAST, test_fraction=0.3)
    for name in ("train.csv.gz", "test.csv.gz", "captions.csv.gz", "voices.csv.gz", "report.json"):
        if name == "report.json":
            continue  # names the output folder's files only; equal too, but checked below
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
    a = json.loads((tmp_path / "report.json").read_text())
    assert a == json.loads((out / "report.json").read_text())


def test_small_build_captions_name_the_instrument(small):
    _, out, _ = small
    caps = read_captions(out / "captions.csv.gz")
    rows = {r.name.strip(): r.id for r in read_dataset(out / "train.csv.gz")}
    rows.update({r.name.strip(): r.id for r in read_dataset(out / "test.csv.gz")})
    assert caps[rows["E.PIANO 1"]].startswith("An electric piano: ")
    assert caps[rows["BASS    1"]].startswith("A bass: ")
    assert caps[rows["E.ORGAN 1"]].startswith("An electric organ: ")
    assert caps[rows["TUB BELLS"]].startswith("Tubular bells: ")
    assert caps[rows["STRINGS 1"]].startswith("Strings: ")
    assert caps[rows["TAKE OFF"]].startswith("A sound: ")  # the name says no instrument


def test_make_corpus_cli_and_custom_captioner(tmp_path, monkeypatch):
    if not ROM1A.is_file():
        pytest.skip("shared DX7 banks not available")
    corpus = tmp_path / "c"
    corpus.mkdir()
    shutil.copy(ROM1A, corpus)
    (tmp_path / "my_captions.py").write_text(
        "from fmbench.captioner import caption_voice\n"
        "def shout(d, name, key):\n"
        "    return caption_voice(d, name, key).upper()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    r = _invoke("data", "make-corpus", corpus, "--out", tmp_path / "o", "--no-progress",
                "--captioner", "my_captions:shout")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "distinct 32" in r.output and "threshold 0.03" in r.output
    caps = read_captions(tmp_path / "o" / "captions.csv.gz")
    assert all(c.isupper() for c in caps.values())
    bad = CliRunner().invoke(main, ["data", "make-corpus", str(corpus), "--out", "x",
                                    "--captioner", "nocolon"])  # fmt: skip
    assert bad.exit_code != 0 and "MODULE:FUNCTION" in bad.output


def test_read_corpus_errors(tmp_path):
    from fmbench.errors import FmbenchError

    with pytest.raises(FmbenchError, match="no .syx files"):
        read_corpus(tmp_path)
    with pytest.raises(FmbenchError, match="not a folder"):
        read_corpus(tmp_path / "missing")


# -- captions ----------------------------------------------------------------------------
def _d(**kw) -> Descriptors:
    base = dict(
        loudness_db=-10.0, attack_s=0.005, sustain_db=-1.0, decay_s=float("inf"),
        release_s=0.1, centroid_hz=400.0, f0_hz=130.8, periodicity=0.9, inharmonicity=0.01,
    )  # fmt: skip
    base.update(kw)
    return Descriptors(**base)


def test_named_instrument_is_never_overridden_by_measurements():
    low = _d(f0_hz=65.0)  # measured alone, this sound would be called a bass
    assert caption_voice(low, "ORGAN A", "k").startswith("An organ: ")
    assert "low register" in caption_voice(low, "ORGAN A", "k")
    assert caption_voice(low, "TROMBONE", "k").startswith("A trombone: ")
    assert caption_voice(_d(attack_s=1.5), "E.PIANO 5", "k").startswith("An electric piano: ")
    assert caption_voice(_d(attack_s=0.2), "STRINGS A", "k").startswith("Strings: ")
    assert caption_voice(low, "TEQUILA", "k").startswith("A sound: ")
    assert caption_voice(_d(inaudible=True), "BRASS 1", "k") == "Silence: an inaudible patch."


# -- the packaged data -------------------------------------------------------------------
@pytest.fixture(scope="module")
def default():
    return load_benchmark("default")


def test_packaged_default_benchmark(default):
    assert default.identity == "default@2"
    assert len(default.test) == 100 and len(default.train) > 2500
    rows = {r.id: r for r in read_dataset(PACKAGED / "test.csv.gz")}
    clusters = [rows[i.id].extra["cluster"] for i in default.test]
    assert len(set(clusters)) == 100  # one voice per near-duplicate cluster
    train_rows = read_dataset(PACKAGED / "train.csv.gz")
    assert not set(clusters) & {r.extra["cluster"] for r in train_rows}
    dist, _ = nearest_distances(
        [i.reference_patch for i in default.test], [i.reference_patch for i in default.train]
    )
    assert dist.min() > DEFAULT_THRESHOLD  # no test voice has a twin in train
    assert all(i.caption.endswith(".") for i in default.test)
    smoke = load_benchmark("smoke")
    assert [i.id for i in smoke.test] == [i.id for i in default.test[:10]]
    full = load_benchmark("dx7-full")
    assert [i.id for i in full.test[:100]] == [i.id for i in default.test]
    assert len(full.test) > 300 and full.train == default.train


def test_packaged_provenance_covers_every_voice():
    with gzip.open(PACKAGED / "voices.csv.gz", "rt") as fh:
        lines = fh.read().splitlines()
    report = json.loads((PACKAGED / "report.json").read_text())
    assert len(lines) - 1 == report["n_voices"] == 4768
    assert report["threshold"] == DEFAULT_THRESHOLD
    total = sum(v["train"] + v["test"] for v in report["families"].values())
    assert total == report["n_unique"] == report["n_train"] + report["n_test"]


def test_packaged_captions_agree_with_names(default):
    from fmbench.voicenames import classify_name

    agree = named = 0
    for item in default.test + default.train:
        c = classify_name(item.name)
        if c is None:
            assert item.caption.startswith(("A sound: ", "Silence"))
        else:
            named += 1
            label = c.label.lower()
            agree += item.caption.lower().startswith((f"a {label}:", f"an {label}:", f"{label}:"))
    assert named > 1000 and agree == named


def test_packaged_captions_reproduce_from_renders(default):
    """A fast regeneration check: re-render and re-caption the first test items."""
    renderer = resolve_renderer("dx7")
    s = default.render
    for item in default.test[:3]:
        audio = renderer.render(item.reference_patch, s)
        d = describe(audio, release_at=s.hold_seconds, segment_s=s.segment_samples / s.sample_rate)
        assert caption_voice(d, item.name, item.reference_patch.content_hash) == item.caption


@pytest.mark.slow
@needs_corpus
def test_full_regeneration_is_byte_for_byte(tmp_path):
    build_corpus_benchmark(CORPUS, tmp_path, workers=2)
    for name in ("train.csv.gz", "test.csv.gz", "captions.csv.gz", "voices.csv.gz"):
        new = gzip.decompress((tmp_path / name).read_bytes())
        assert new == gzip.decompress((PACKAGED / name).read_bytes()), name
        assert (tmp_path / name).read_bytes() == (PACKAGED / name).read_bytes(), name
    assert (tmp_path / "report.json").read_text() == (PACKAGED / "report.json").read_text()


# -- overlap -----------------------------------------------------------------------------
def test_overlap_command(tmp_path):
    r = _invoke("data", "overlap", "dx7-full:test", "default:train", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["n_a"] > 300 and out["exact"] == 0 and out["near"] == 0
    r = _invoke("data", "overlap", "default:train", PACKAGED / "train.csv.gz")
    assert r.exit_code == 0 and "exact copies in B:" in r.output and "(100.0%)" in r.output
    bad = CliRunner().invoke(main, ["data", "overlap", "nosplit", "default:train"])
    assert bad.exit_code != 0 and "BENCHMARK:SPLIT" in bad.output
