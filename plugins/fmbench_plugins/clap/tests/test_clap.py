"""CLAP plugin: preprocessing, HF and LAION backends on tiny random weights, caching,
determinism, bad input, and equivalence with the laion_clap package itself."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fmbench_plugins.clap.metrics import ClapAudioAudio, ClapEmbedder, ClapTextAudio
from fmbench_plugins.clap.preprocess import (
    CLIP_SAMPLES,
    SilentAudio,
    peak_normalize,
    preprocess,
    quantize_int16,
)

from fmbench.audio import Audio
from fmbench.cache import Cache
from fmbench.contracts import Sample
from fmbench.errors import FmbenchError
from fmbench.modelstore import MissingModelError, ModelFileError

SR = 48_000


def tone(freq=440.0, seconds=9.6, sr=SR, amp=0.4):
    t = np.arange(int(seconds * sr)) / sr
    return Audio((amp * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr)


def noise(seed=0, seconds=9.6, sr=SR, amp=0.3):
    return Audio(np.random.default_rng(seed).uniform(-amp, amp, int(seconds * sr)), sr)


# -- preprocessing -------------------------------------------------------------------


def test_peak_normalisation_and_int16_truncation():
    x = np.array([0.0, 0.25, -0.5, 0.1])
    y = peak_normalize(x)
    assert np.isclose(np.abs(y).max(), 10 ** (-1 / 20))
    assert np.allclose(y / y[2], x / x[2])
    q = quantize_int16(np.array([0.99999, -0.99999, 0.5, -0.5, 1.5, -1.5, 1e-5]))
    assert np.allclose(q * 32767, [32766, -32766, 16383, -16383, 32767, -32767, 0])
    with pytest.raises(SilentAudio, match="silent audio"):
        peak_normalize(np.zeros(10))


def test_preprocess_pads_and_cuts_deterministically():
    short, longer = preprocess(tone(seconds=9.6))
    assert short.shape == (CLIP_SAMPLES,) and not longer
    assert np.all(short[460_800:] == 0) and np.isclose(np.abs(short).max(), 0.8912, atol=1e-4)
    assert np.allclose(short[:460_800] * 32767, np.round(short[:460_800] * 32767))  # int16 grid
    long_clip = tone(seconds=12.5)
    a, was_longer = preprocess(long_clip)
    b, _ = preprocess(long_clip)
    assert was_longer and a.shape == (CLIP_SAMPLES,) and np.array_equal(a, b)
    assert np.array_equal(a, preprocess(Audio(long_clip.samples[:CLIP_SAMPLES], SR))[0])
    up, _ = preprocess(tone(seconds=2.0, sr=16_000))  # resampled to 48 kHz first
    assert np.count_nonzero(up[: 2 * SR - 100]) > 0 and np.all(up[2 * SR + 100 :] == 0)


# -- Hugging Face backend ------------------------------------------------------------


@pytest.fixture
def hf_store(store, tiny_models):
    store.add(tiny_models["hf"], "tiny-clap")
    return store


def _samples(*audios, captions=None):
    captions = captions or [f"caption {i}" for i in range(len(audios))]
    return [
        Sample(id=str(i), caption=c, audio=a, reference_audio=a)
        for i, (a, c) in enumerate(zip(audios, captions, strict=True))
    ]


def test_clap_scores_shapes_determinism_and_cache(hf_store, tmp_path):
    samples = _samples(tone(), noise(), tone(880.0))
    m1 = ClapTextAudio(model="tiny-clap", cache=False)
    r1 = m1.score(samples)
    v1 = r1.per_sample["clap"]
    assert v1.shape == (3,) and np.all(np.isfinite(v1)) and np.all(np.abs(v1) <= 1.0 + 1e-6)
    assert r1.details["backend"] == "hf" and r1.details["n_nan"] == 0
    # the same audio scored twice, by a fresh model load, gives the identical number
    v2 = ClapTextAudio(model="tiny-clap", cache=False).score(samples).per_sample["clap"]
    assert np.array_equal(v1, v2)
    # through the cache: identical, and nothing recomputed the second time
    cache = Cache(tmp_path / "c")
    m3 = ClapTextAudio(model="tiny-clap", cache=cache)
    v3 = m3.score(samples).per_sample["clap"]
    misses = cache.misses
    v4 = ClapTextAudio(model="tiny-clap", cache=cache).score(samples).per_sample["clap"]
    assert np.allclose(v3, v1, atol=1e-6) and np.array_equal(v3, v4)
    assert cache.misses == misses and cache.hits >= 6  # 3 audio + 3 text entries
    # identity names the model by content hash
    assert m1.identity.startswith("clap@") and "hf:" in m1.identity


def test_clap_synth_prefix_and_alias(hf_store):
    from fmbench.plugins import get_registry

    reg = get_registry()
    info = reg.get("metric", "clap_synth")
    assert info.name == "clap_text_synth_prefix" and "NOT audio–audio" in info.summary
    samples = _samples(tone(), noise())
    plain = reg.create("metric", "clap", model="tiny-clap", cache=False).score(samples)
    synth = info.factory(model="tiny-clap", cache=False).score(samples)
    prefixed = ClapTextAudio(prefix="Synthesized ", model="tiny-clap", cache=False)
    manual = [Sample(id=s.id, caption="Synthesized " + s.caption, audio=s.audio) for s in samples]
    expect = ClapTextAudio(model="tiny-clap", cache=False).score(manual).per_sample["clap"]
    got = synth.per_sample["clap_text_synth_prefix"]
    assert np.allclose(got, expect, atol=1e-6)
    assert np.allclose(prefixed.score(samples).per_sample["clap"], got, atol=1e-6)
    assert not np.allclose(got, plain.per_sample["clap"])


def test_silence_long_text_missing_caption_and_long_clip(hf_store):
    silent = Audio(np.zeros(SR * 2, np.float32), SR)
    samples = _samples(
        tone(),
        silent,
        noise(seconds=12.0),
        tone(),
        captions=["bell", "pad", "bass", "x" * 10_000],
    )
    samples.append(Sample(id="nocap", caption="", audio=tone()))
    samples.append(Sample(id="noaudio", caption="a", audio=None))
    r = ClapTextAudio(model="tiny-clap", cache=False).score(samples)
    v = r.per_sample["clap"]
    assert np.isfinite(v[[0, 2, 3]]).all()
    assert np.isnan(v[[1, 4, 5]]).all()
    assert r.reasons[("clap", 1)] == "silent audio"
    assert r.reasons[("clap", 4)] == "no caption" and r.reasons[("clap", 5)] == "no audio"
    assert r.details["n_silent"] == 1 and r.details["n_nan"] == 3
    assert r.details["n_longer_than_10s_cut_to_first_10s"] == 1
    assert r.value("clap") == pytest.approx(np.nanmean(v))


def test_clap_audio_pairs(hf_store):
    a, b = tone(), noise()
    samples = [
        Sample(id="same", caption="", audio=a, reference_audio=a),
        Sample(id="diff", caption="", audio=a, reference_audio=b),
        Sample(id="silent", caption="", audio=a, reference_audio=Audio(np.zeros(100), SR)),
    ]
    r = ClapAudioAudio(model="tiny-clap", cache=False).score(samples)
    v = r.per_sample["clap_audio"]
    assert v[0] == pytest.approx(1.0, abs=1e-6) and v[1] < 1.0 - 1e-6 and np.isnan(v[2])
    assert r.reasons[("clap_audio", 2)] == "reference: silent audio"


def test_embedder_rows_and_fad(hf_store):
    from fmbench_plugins.embeddings.distribution import FrechetAudioDistance

    emb = ClapEmbedder(model="tiny-clap", cache=False)
    e = emb.embed(tone())
    assert e.shape == (1, 16) and e.dtype == np.float32 and emb.dim == 16
    assert np.isclose(np.linalg.norm(e), 1.0, atol=1e-5)
    assert np.array_equal(e, emb.embed(tone()))
    with pytest.raises(FmbenchError, match="silent audio"):
        emb.embed(Audio(np.zeros(10), SR))
    fad = FrechetAudioDistance(embedder=emb, cache=False)
    clips = [noise(seed=i, seconds=1.0) for i in range(4)]
    samples = [
        Sample(id=str(i), caption="", audio=clips[i], reference_audio=clips[(i + 1) % 4])
        for i in range(4)
    ]
    samples.append(Sample(id="s", caption="", audio=Audio(np.zeros(10), SR), reference_audio=None))
    r = fad.score(samples)
    assert np.isfinite(r.set_values["fad"]) and r.details["n_generated_failed"] == 1
    emb.close()
    assert emb.engine._loaded is None


def test_fused_hf_folder_is_deterministic(store, tiny_models):
    samples = _samples(tone(), noise())
    v1 = ClapTextAudio(model=str(tiny_models["hf_fused"]), cache=False).score(samples)
    v2 = ClapTextAudio(model=str(tiny_models["hf_fused"]), cache=False).score(samples)
    assert np.isfinite(v1.per_sample["clap"]).all()
    assert np.array_equal(v1.per_sample["clap"], v2.per_sample["clap"])


def test_device_option(hf_store):
    import torch

    m = ClapTextAudio(model="tiny-clap", device="auto", cache=False)
    m.score(_samples(tone()))
    if not torch.cuda.is_available():
        with pytest.raises(FmbenchError, match="CUDA is not available"):
            ClapTextAudio(model="tiny-clap", device="cuda", cache=False).score(_samples(tone()))
    with pytest.raises(FmbenchError, match="unknown CLAP option"):
        ClapTextAudio(model="tiny-clap", colour="red")


# -- missing and broken weights ------------------------------------------------------


def test_missing_default_checkpoint_names_file_and_folder(store):
    with pytest.raises(MissingModelError) as err:
        ClapTextAudio()
    msg = str(err.value)
    assert "music_audioset_epoch_15_esc_90.14.pt" in msg and str(store.root) in msg
    assert "fmbench models add" in msg and "huggingface.co/lukewys/laion_clap" in msg


def test_runner_refuses_to_start_without_weights(store, tiny_models):
    from fmbench.plugins import get_registry
    from fmbench.run.runner import RunError, plan_metrics

    reg = get_registry()
    with pytest.raises(RunError) as err:
        plan_metrics(reg, ["clap"])
    assert "music_audioset_epoch_15_esc_90.14.pt" in str(err.value)
    assert "roberta-base" in str(err.value)
    with pytest.raises(RunError, match="music_audioset"):
        plan_metrics(reg, ["fad:clap"])
    # a HF folder given as the metric's argument needs no tokenizer folder
    assert plan_metrics(reg, [f"clap:{tiny_models['hf']}"])[0].options == {
        "model": str(tiny_models["hf"])
    }


def test_corrupted_truncated_and_wrong_checkpoints(store, tiny_models, tmp_path):
    import torch

    store.add(tiny_models["tokenizer"], "roberta-base")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x80\x02not a checkpoint at all" * 10)
    with pytest.raises(ModelFileError, match="garbage.pt.*corrupted"):
        ClapTextAudio(model=str(garbage), cache=False).score(_samples(tone()))
    good = tmp_path / "ok.pt"
    torch.save({"state_dict": {"module.x": torch.zeros(1000)}}, good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="truncated.pt"):
        ClapTextAudio(model=str(truncated), cache=False).score(_samples(tone()))
    with pytest.raises(ModelFileError, match="ok.pt.*wrong architecture"):
        ClapTextAudio(model=str(good), cache=False).score(_samples(tone()))
    fused = tmp_path / "fused.pt"
    torch.save({"state_dict": {"module.audio_branch.fusion_model.w": torch.zeros(2)}}, fused)
    with pytest.raises(ModelFileError, match="fusion"):
        ClapTextAudio(model=str(fused), cache=False).score(_samples(tone()))
    pickled = tmp_path / "code.pt"
    torch.save({"state_dict": {"f": Path("x")}}, pickled)  # an arbitrary object: refused
    with pytest.raises(ModelFileError, match="code.pt"):
        ClapTextAudio(model=str(pickled), cache=False).score(_samples(tone()))
    broken_hf = tmp_path / "broken-hf"
    broken_hf.mkdir()
    (broken_hf / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="broken-hf"):
        ClapTextAudio(model=str(broken_hf), cache=False).score(_samples(tone()))


# -- LAION-CLAP checkpoints: equivalence with laion_clap itself ------------------------

_HAS_LAION = importlib.util.find_spec("laion_clap") is not None


@pytest.mark.skipif(
    not _HAS_LAION,
    reason="laion-clap not installed (pip install --no-deps laion-clap==1.1.7 torchlibrosa "
    "ftfy braceexpand webdataset wget h5py pillow)",
)
def test_laion_checkpoint_matches_laion_clap_oracle(store, tiny_models, tmp_path):
    work = tmp_path / "oracle"
    work.mkdir()
    import shutil

    shutil.copytree(tiny_models["tokenizer"], work / "roberta-base")
    raw = [tone(seconds=9.6), noise(seed=3, seconds=10.0), tone(330.0, seconds=4.0, amp=0.05)]
    clips = np.stack(
        [np.pad(peak_normalize(a.samples), (0, CLIP_SAMPLES - len(a))) for a in raw]
    ).astype(np.float32)
    np.save(work / "clips.npy", clips)
    texts = ["a bright bell", "Synthesized warm pad", "bass " * 2000]
    (work / "texts.json").write_text(json.dumps(texts))
    env = {**os.environ, "HF_HOME": str(work / "hf"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("laion_oracle.py")), str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    oracle = np.load(work / "oracle.npz")
    store.add(work / "laion.pt", "music_audioset_epoch_15_esc_90.14.pt")
    store.add(tiny_models["tokenizer"], "roberta-base")
    emb = ClapEmbedder(cache=False)  # the default checkpoint, from the store
    ours = np.concatenate(emb.embed_batch(raw))
    assert ours.shape == oracle["audio"].shape
    # laion computes the log-mel with float32 torchlibrosa, transformers in float64 numpy:
    # measured max |diff| ~2e-6 on full clips, ~4e-4 on the clip that is 60 % digital
    # silence (log10 of near-zero power amplifies rounding); cosine ≥ 0.99999 on all
    assert np.abs(ours[:2] - oracle["audio"][:2]).max() < 1e-4
    assert np.abs(ours - oracle["audio"]).max() < 2e-3
    assert np.all(np.sum(ours * oracle["audio"], axis=1) > 0.99999)
    text = np.stack(emb.engine.text_embeddings(texts))
    assert np.abs(text - oracle["text"]).max() < 1e-5
    r = ClapTextAudio(cache=False).score(_samples(*raw, captions=texts))
    expect = [float(o @ t) for o, t in zip(oracle["audio"], oracle["text"], strict=True)]
    assert np.allclose(r.per_sample["clap"], expect, atol=1e-3)
    assert r.details["backend"] == "laion"
