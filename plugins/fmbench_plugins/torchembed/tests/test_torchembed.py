"""vggish / passt embedders on random weights: shapes, determinism, framing, cache,
model-store errors, wrong architectures, and FAD/KAD through the registry.

Fast tests use reduced networks with the official key layout (the embedders read the
sizes from the checkpoint); the full-size random networks are marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fmbench_plugins.torchembed import passt as P  # noqa: E402
from fmbench_plugins.torchembed import vggish as V  # noqa: E402
from fmbench_plugins.torchembed.passt import PasstEmbedder  # noqa: E402
from fmbench_plugins.torchembed.vggish import VggishEmbedder  # noqa: E402

from fmbench.audio import Audio  # noqa: E402
from fmbench.cache import Cache, make_key  # noqa: E402
from fmbench.contracts import Sample  # noqa: E402
from fmbench.modelstore import MissingModelError, ModelFileError, check_model_files  # noqa: E402
from fmbench.plugins import get_registry  # noqa: E402

TINY_VGGISH = {"channels": (4, 8, 8, 8, 16, 16), "hidden": (32, 32)}
TINY_PASST = {"embed_dim": 64, "depth": 2, "num_heads": 1, "mlp_hidden": 128}


def _state(net, seed):
    torch.manual_seed(seed)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.05)
    return net.state_dict()


def tiny_vggish(seed=0):
    return _state(V.make_vggish(**TINY_VGGISH), seed)


def tiny_passt(seed=0):
    return _state(P.make_passt(**TINY_PASST), seed)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """FMBENCH_HOME / FMBENCH_CACHE in tmp, with tiny vggish and passt checkpoints."""
    home = tmp_path / "models"
    home.mkdir()
    monkeypatch.setenv("FMBENCH_HOME", str(home))
    monkeypatch.setenv("FMBENCH_CACHE", str(tmp_path / "cache"))
    torch.save(tiny_vggish(), home / V.VGGISH_FILE.name)
    torch.save(tiny_passt(), home / P.PASST_FILE.name)
    return home


def clip(seconds=9.6, sr=48_000, seed=0, f0=220.0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sr))) / sr
    y = 0.3 * np.sin(2 * np.pi * f0 * t) * np.exp(-t / 3) + 0.02 * rng.standard_normal(len(t))
    return Audio(y.astype(np.float32), sr)


# -- VGGish --------------------------------------------------------------------------


def test_vggish_shapes_raw_output_and_determinism(store):
    e = VggishEmbedder(device="cpu")
    a = clip()
    x = e.embed(a)
    assert x.shape == (9, 128) and x.dtype == np.float32 and e.dim == 128
    assert (x < 0).any()  # raw linear output: no final ReLU
    assert np.array_equal(x, e.embed(clip()))
    # another batch size may change the BLAS blocking, not the result beyond rounding
    np.testing.assert_allclose(x, VggishEmbedder(device="cpu", batch_size=2).embed(a), atol=1e-5)
    assert e.sample_rate == 16_000 and e.checkpoint_sha256 in e.identity


def test_vggish_framing_partial_tail_dropped_and_short_clip(store):
    e = VggishEmbedder(device="cpu")
    a = clip(9.6, 16_000)
    assert V.n_examples(len(a)) == 9
    exact = V.EXAMPLE_SAMPLES + 8 * 96 * V.HOP  # samples that make exactly 9 examples
    head = Audio(a.samples[:exact], 16_000)
    assert np.array_equal(e.embed(a), e.embed(head))  # the 0.94 s tail changed nothing
    assert (
        V.n_examples(exact - 1) == 8
        and e.embed(Audio(a.samples[: exact - 1], 16_000)).shape[0] == 8
    )
    short = e.embed(Audio(a.samples[:4000], 16_000))  # < 0.975 s: zero-padded to one example
    assert short.shape == (1, 128) and np.isfinite(short).all()
    silent = e.embed(Audio(np.zeros(16_000 * 3, np.float32), 16_000))
    assert silent.shape == (3, 128) and np.isfinite(silent).all()


def test_vggish_front_end_constants():
    m = V.mel_matrix()
    assert m.shape == (257, 64) and not m[0].any() and m.max() <= 1.0
    hz = np.linspace(0, 8000, 257)
    assert not m[hz < 125].any() and not m[hz > 7500].any()
    ex = V.examples(np.zeros(153_600))
    assert ex.shape == (9, 96, 64) and np.allclose(ex, np.log(0.01))


# -- PaSST ---------------------------------------------------------------------------


def test_passt_one_row_logits_then_embedding(store):
    e = PasstEmbedder(device="cpu")
    assert e.dim == 1295  # the official size, before any checkpoint is loaded
    x = e.embed(clip())
    assert x.shape == (1, 527 + 64) and x.dtype == np.float32 and e.dim == 591
    net = e.load()
    y = P.fix_length(clip().resample(32_000).to_int16() / 32768.0).astype(np.float32)
    with torch.no_grad():
        logits, features = net(P.mel_spectrogram(torch.from_numpy(y)[None]))
    np.testing.assert_allclose(x[0, :527], logits[0].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x[0, 527:], features[0].numpy(), rtol=1e-5, atol=1e-5)
    assert np.array_equal(x, e.embed(clip()))


def test_passt_pads_and_cuts_to_exactly_10_s(store):
    e = PasstEmbedder(device="cpu")
    a = clip(9.6, 32_000)
    padded = Audio(np.concatenate([a.samples, np.zeros(12_800, np.float32)]), 32_000)
    assert len(padded) == P.CLIP_SAMPLES
    assert np.array_equal(e.embed(a), e.embed(padded))
    long = clip(12.0, 32_000, seed=3)
    first10 = Audio(long.samples[: P.CLIP_SAMPLES], 32_000)
    x = e.embed(long)
    assert np.array_equal(x, e.embed(first10))  # cut, not cropped at random
    assert np.array_equal(x, e.embed(long))
    assert P.mel_spectrogram(torch.zeros(1, P.CLIP_SAMPLES)).shape == (1, 1, 128, 1000)
    banks = P.mel_banks()
    assert banks.shape == (128, 513) and not banks[:, -1].any()


# -- cache, sessions, identity -------------------------------------------------------


def test_embedding_cache_hit_on_second_call(store, tmp_path):
    e = VggishEmbedder(device="cpu")
    loads = []
    original = e.load
    e.load = lambda: loads.append(1) or original()
    registry = get_registry()
    samples = [
        Sample(
            str(i),
            "c",
            audio=clip(2.0, seed=i, f0=200 + 40 * i),
            reference_audio=clip(2.0, seed=10 + i),
        )
        for i in range(3)
    ]
    cache = Cache(tmp_path / "c1")
    m1 = registry.create("metric", "fad", embedder=e, cache=cache)
    v1 = m1.score(samples).set_values["fad"]
    assert len(loads) == 2  # once per side (session), not once per clip
    assert cache.misses == 6 and cache.hits == 0
    m2 = registry.create("metric", "fad", embedder=e, cache=cache)
    assert m2.score(samples).set_values["fad"] == v1
    assert cache.hits == 6 and len(loads) == 2  # all from the cache: no model load
    key = make_key(samples[0].audio.content_hash, e.identity)
    assert np.array_equal(cache.get("embeddings", key), e.embed(samples[0].audio))


def test_identity_follows_the_checkpoint(store, tmp_path):
    other = tmp_path / "other.pth"
    torch.save(tiny_vggish(seed=1), other)
    a, b = VggishEmbedder(device="cpu"), VggishEmbedder(model=str(other), device="cpu")
    assert a.identity != b.identity and a.checkpoint_sha256 != b.checkpoint_sha256
    assert not np.array_equal(a.embed(clip(1.0)), b.embed(clip(1.0)))


# -- errors --------------------------------------------------------------------------


def test_missing_file_names_file_folder_and_source(tmp_path, monkeypatch):
    monkeypatch.setenv("FMBENCH_HOME", str(tmp_path / "empty"))
    registry = get_registry()
    for name, file in (("vggish", V.VGGISH_FILE), ("passt", P.PASST_FILE)):
        with pytest.raises(MissingModelError) as err:
            registry.create("embedder", name)
        text = str(err.value)
        assert file.name in text and str(tmp_path / "empty") in text and file.url in text
    info, options = registry.resolve_spec("metric", "kad:vggish")
    problems = check_model_files(info, options, registry=registry)
    assert len(problems) == 1 and V.VGGISH_FILE.name in problems[0]


def test_corrupted_and_truncated_checkpoints(store):
    import zipfile

    path = store / V.VGGISH_FILE.name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    # a truncated download is caught by the model store's format check, before loading
    with pytest.raises(ModelFileError, match="corrupted, truncated") as err:
        VggishEmbedder(device="cpu").embed(clip(1.0))
    assert str(path) in str(err.value)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ModelFileError, match=str(path)):
        VggishEmbedder(device="cpu").embed(clip(1.0))
    # ... and stops a metric over that embedder before any clip
    with pytest.raises(ModelFileError, match="not a loadable PyTorch checkpoint"):
        get_registry().create("metric", "kad", embedder="vggish")
    # torch.save's layout with a broken pickle inside passes that check but fails to load
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"garbage")
    e = VggishEmbedder(device="cpu")
    with pytest.raises(ModelFileError, match="corrupted, truncated") as err:
        e.embed(clip(1.0))
    assert str(path) in str(err.value)
    with pytest.raises(ModelFileError, match="corrupted, truncated"):  # remembered, not re-read
        e.embed(clip(1.0))
    # a failing clip inside a metric is a recorded reason, never a crash
    m = get_registry().create("metric", "kad", embedder="vggish")
    s = [Sample(str(i), "c", audio=clip(1.0, seed=i), reference_audio=clip(1.0)) for i in range(2)]
    res = m.score(s)
    assert np.isnan(res.set_values["kad"]) and "ModelFileError" in res.reasons[("kad", 0)]


def test_wrong_architecture_errors_name_file_and_keys(store, tmp_path):
    vgg = store / V.VGGISH_FILE.name
    with pytest.raises(ModelFileError, match="not a PaSST checkpoint") as err:
        PasstEmbedder(model=str(vgg), device="cpu").embed(clip(1.0))
    assert str(vgg) in str(err.value) and "cls_token" in str(err.value)
    state = tiny_vggish()
    state["features.0.weight"] = torch.zeros(4, 1, 5, 5)
    state["pproc.pca_means"] = torch.zeros(128)
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    with pytest.raises(ModelFileError) as err:
        VggishEmbedder(model=str(bad), device="cpu").embed(clip(1.0))
    text = str(err.value)
    assert str(bad) in text and "wrong architecture" in text
    assert "unexpected keys: pproc.pca_means" in text
    assert "features.0.weight: checkpoint (4, 1, 5, 5), model (4, 1, 3, 3)" in text
    state = tiny_passt()
    del state["head_dist.weight"]
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}}, bad)
    with pytest.raises(ModelFileError, match="1 missing keys: head_dist.weight"):
        PasstEmbedder(model=str(bad), device="cpu").embed(clip(1.0))


# -- through the registry ------------------------------------------------------------


@pytest.mark.parametrize("spec", ["kad:vggish", "fad:passt", "kl:passt"])
def test_distribution_metrics_through_the_registry(store, spec):
    registry = get_registry()
    info, options = registry.resolve_spec("metric", spec)
    assert check_model_files(info, options, registry=registry) == []
    metric = registry.create("metric", info.name, **options)
    samples = [
        Sample(
            str(i),
            "c",
            audio=clip(2.0, seed=i, f0=300 + 50 * i),
            reference_audio=clip(2.0, seed=20 + i, f0=200 + 30 * i),
        )
        for i in range(4)
    ]
    result = metric.score(samples)
    column = info.name
    value = result.value(column)
    # unbiased KAD, and KL with its +1e-6 inside the log, may dip just below 0
    assert np.isfinite(value) and not result.reasons
    if column == "fad":
        assert value >= 0
    assert result.details["n_reference"] == result.details["n_generated"] == 4
    if column != "kl":
        rows = 2 if "vggish" in spec else 1  # 2 s → 2 VGGish rows; PaSST: 1 row per clip
        assert result.details["rows_reference"] == 4 * rows
    assert metric.score(samples).value(column) == value


# -- full size (slow) ----------------------------------------------------------------


@pytest.mark.slow
def test_full_size_random_vggish(tmp_path):
    path = tmp_path / "vggish.pth"
    torch.save(_state(V.make_vggish(), 0), path)
    e = VggishEmbedder(model=str(path), device="cpu")
    x = e.embed(clip(9.6))
    assert x.shape == (9, 128) and np.isfinite(x).all() and np.array_equal(x, e.embed(clip(9.6)))


@pytest.mark.slow
def test_full_size_random_passt(tmp_path):
    path = tmp_path / "passt.pt"
    net = P.make_passt()
    assert sum(p.numel() for p in net.parameters()) > 85_000_000
    torch.save(_state(net, 0), path)
    e = PasstEmbedder(model=str(path), device="cpu")
    x = e.embed(clip(9.6))
    assert x.shape == (1, 1295) and e.dim == 1295 and np.isfinite(x).all()
    assert np.array_equal(x, e.embed(clip(9.6)))
