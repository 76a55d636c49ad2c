"""The ``audiobox`` metric on a tiny random WavLM predictor (audiobox_aesthetics'
own ``AesMultiOutput``; no torchaudio): outputs, windowing and weights, determinism,
cache, and checkpoint errors.

Needs ``pip install --no-deps audiobox_aesthetics==0.0.4``; skipped without it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
aes = pytest.importorskip("audiobox_aesthetics.model.aes")

from fmbench_plugins.aesthetics import AXES  # noqa: E402
from fmbench_plugins.aesthetics.audiobox import AudioboxAesthetics, windows  # noqa: E402
from fmbench_plugins.aesthetics.files import AUDIOBOX_FILE  # noqa: E402

from fmbench.audio import Audio  # noqa: E402
from fmbench.cache import Cache  # noqa: E402
from fmbench.contracts import Sample  # noqa: E402
from fmbench.modelstore import MissingModelError, ModelFileError  # noqa: E402
from fmbench.plugins import get_registry  # noqa: E402

TINY_WAVLM = {
    "extractor_mode": "default",
    "encoder_layers": 2,
    "encoder_embed_dim": 32,
    "encoder_ffn_embed_dim": 64,
    "encoder_attention_heads": 2,
    "conv_feature_layers": "[(32,10,5)] + [(32,3,2)] * 4 + [(32,2,2)] * 2",
    "conv_bias": False,
    "conv_pos": 16,
    "conv_pos_groups": 4,
    "relative_position_embedding": True,
    "num_buckets": 32,
    "max_distance": 64,
    "gru_rel_pos": True,
    "layer_norm_first": False,
    "normalize": False,
    "encoder_layerdrop": 0.0,
}
CFG = {
    "proj_num_layer": 1,
    "proj_ln": False,
    "proj_act_fn": "gelu",
    "proj_dropout": 0,
    "nth_layer": 3,
    "use_weighted_layer_sum": True,
    "precision": "32",
    "normalize_embed": True,
    "output_dim": 1,
}
TRANSFORM = {a: {"mean": 5.0 + i, "std": 1.5} for i, a in enumerate(AXES)}


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A tiny predictor checkpoint in a tmp model store (package layout)."""
    monkeypatch.setattr(aes, "DEFAULT_AUDIO_CFG", aes.WavLMConfig(TINY_WAVLM))
    home = tmp_path / "models"
    home.mkdir()
    monkeypatch.setenv("FMBENCH_HOME", str(home))
    monkeypatch.setenv("FMBENCH_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    model = aes.AesMultiOutput(**CFG, target_transform=TRANSFORM)
    ckpt = {
        "state_dict": {"model." + k: v for k, v in model.state_dict().items()},
        "model_cfg": dict(CFG),
        "target_transform": TRANSFORM,
    }
    torch.save(ckpt, home / AUDIOBOX_FILE.name)
    return home


def clip(seconds, sr=48_000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sr))) / sr
    y = 0.3 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(len(t))
    return Audio(y.astype(np.float32), sr)


def test_windows_and_weights():
    y = np.ones(int(23.5 * 16_000), np.float32)
    wavs, masks, weights = windows(y)
    assert wavs.shape == masks.shape == (3, 160_000)
    np.testing.assert_allclose(weights, [1.0, 1.0, 0.35])
    assert masks[2].sum() == 56_000 and not wavs[2, 56_000:].any()
    _, _, w = windows(np.ones(153_600))  # a 9.6 s DX7 render: one window of weight 0.96
    np.testing.assert_allclose(w, [0.96])


def test_scores_match_the_package_recipe(store):
    metric = get_registry().create("metric", "audiobox", device="cpu", cache=False)
    a, b = clip(9.6), clip(23.0, seed=1)
    res = metric.score([Sample("a", "c", audio=a), Sample("b", "c", audio=b)])
    assert set(res.per_sample) == {f"audiobox_{x.lower()}" for x in AXES}
    got = np.stack([res.per_sample[f"audiobox_{x.lower()}"] for x in AXES], axis=1)
    assert np.isfinite(got).all() and not res.reasons
    # the package's AesPredictor.forward, one window at a time, by hand
    model = metric.load()
    for row, audio in zip(got, (a, b), strict=True):
        wavs, masks, weights = windows(audio.resample(16_000).samples)
        preds = []
        with torch.inference_mode():
            for w, m in zip(wavs, masks, strict=True):
                out = model(
                    {
                        "wav": torch.from_numpy(w)[None, None],
                        "mask": torch.from_numpy(m)[None, None],
                    }
                )
                preds.append([out[x].item() * 1.5 + TRANSFORM[x]["mean"] for x in AXES])
        expected = (np.array(preds) * weights[:, None]).sum(0) / weights.sum()
        np.testing.assert_allclose(row, expected, rtol=1e-4, atol=1e-4)
    again = metric.score([Sample("a", "c", audio=a), Sample("b", "c", audio=b)])
    for col, values in res.per_sample.items():
        assert np.array_equal(values, again.per_sample[col])  # same audio → identical


def test_cache_bad_audio_and_silence(store, tmp_path):
    cache = Cache(tmp_path / "c")
    m = AudioboxAesthetics(device="cpu", cache=cache)
    samples = [
        Sample("a", "c", audio=clip(3.0)),
        Sample("z", "c", audio=Audio(np.zeros(48_000, np.float32), 48_000)),
        Sample("n", "c", audio=None),
        Sample("x", "c", audio=Audio(np.full(100, np.nan, np.float32), 48_000)),
    ]
    first = m.score(samples)
    assert (
        first.details["n_computed"] == 2 and np.isfinite(first.per_sample["audiobox_pq"][:2]).all()
    )
    assert (
        math.isnan(first.per_sample["audiobox_ce"][2])
        and first.reasons[("audiobox_ce", 2)] == "no audio"
    )
    assert "NaN" in first.reasons[("audiobox_pq", 3)]
    m2 = AudioboxAesthetics(device="cpu", cache=cache)
    m2.load = lambda: pytest.fail("a cached score must not load the model")
    second = m2.score(samples)
    assert second.details["n_computed"] == 0
    np.testing.assert_array_equal(second.per_sample["audiobox_cu"], first.per_sample["audiobox_cu"])


def test_checkpoint_errors(store, tmp_path, monkeypatch):
    path = store / AUDIOBOX_FILE.name
    good = torch.load(path, weights_only=True)
    m = AudioboxAesthetics(device="cpu", cache=False)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ModelFileError, match="corrupted, truncated"):
        m.load()
    torch.save(good["state_dict"], path)  # a bare state dict: wrong layout
    with pytest.raises(ModelFileError, match="wrong layout"):
        AudioboxAesthetics(device="cpu", cache=False).load()
    broken = dict(
        good, state_dict={k: v for k, v in good["state_dict"].items() if "proj_layer.PQ" not in k}
    )
    torch.save(broken, path)
    with pytest.raises(
        ModelFileError, match=r"wrong architecture\): 2 missing keys: proj_layer\.PQ"
    ):
        AudioboxAesthetics(device="cpu", cache=False).load()
    monkeypatch.setenv("FMBENCH_HOME", str(tmp_path / "empty"))
    with pytest.raises(MissingModelError, match=AUDIOBOX_FILE.name):
        get_registry().create("metric", "audiobox")


def test_checkpoint_precision_bf16_runs_like_the_package_in_float32(store):
    """audiobox_aesthetics 0.0.4 never enables its autocast (see the module docstring)."""
    path = store / AUDIOBOX_FILE.name
    a = clip(4.0)
    fp32 = AudioboxAesthetics(device="cpu", cache=False).score([Sample("a", "c", audio=a)])
    ckpt = torch.load(path, weights_only=True)
    ckpt["model_cfg"]["precision"] = "bf16"
    torch.save(ckpt, path)
    bf16 = AudioboxAesthetics(device="cpu", cache=False).score([Sample("a", "c", audio=a)])
    for col, values in fp32.per_sample.items():
        np.testing.assert_array_equal(values, bf16.per_sample[col])
