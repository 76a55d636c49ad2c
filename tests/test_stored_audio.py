"""StoredAudio (samples read from disk on use, checked against the hash, a bounded
memory of recent reads) and the streaming render path a run uses."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from fmbench import audio as audio_mod
from fmbench.audio import (
    Audio,
    AudioFileError,
    AudioFileSamples,
    StoredAudio,
    audio_problem,
    write_audio,
)
from fmbench.cache import Cache
from fmbench.executor import LocalExecutor
from fmbench.patch.model import Patch
from fmbench.render import CachedRender, RenderSettings, render_with_cache
from fmbench.testing.patches import patch_dict

SHORT = RenderSettings(hold_seconds=0.08, release_seconds=0.04)


class CountingLoad:
    """A picklable loader that counts its calls (in this process)."""

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = samples
        self.calls = 0

    def __call__(self) -> np.ndarray:
        self.calls += 1
        return self.samples


@pytest.fixture(autouse=True)
def _forget_recent_reads():
    audio_mod._recent.clear()
    yield
    audio_mod._recent.clear()


def _audio(seed: int, n: int = 1000) -> Audio:
    return Audio(np.random.default_rng(seed).uniform(-1, 1, n).astype(np.float32), 16000)


def test_stored_audio_is_the_audio_it_stands_for_without_holding_samples():
    real = _audio(0)
    load = CountingLoad(real.samples.copy())
    stored = StoredAudio.of(real, load)
    # length, rate, hash and equality need no read
    assert (len(stored), stored.sample_rate, stored.content_hash) == (
        1000,
        16000,
        real.content_hash,
    )
    assert stored == real and hash(stored) == hash(real)
    assert stored.duration == pytest.approx(1000 / 16000)
    assert audio_problem(stored) is None  # checked when stored: no read
    assert load.calls == 0 and "samples" not in vars(stored)
    np.testing.assert_array_equal(stored.samples, real.samples)
    assert not stored.samples.flags.writeable
    assert stored.peak == real.peak and stored.rms == real.rms
    assert load.calls == 1  # later reads come from the per-process memory


def test_only_usable_audio_is_stored():
    bad = Audio(np.array([0.0, np.nan], dtype=np.float32), 16000)
    with pytest.raises(AudioFileError, match="NaN"):
        StoredAudio.of(bad, CountingLoad(bad.samples))


def test_recent_reads_are_bounded():
    loads = []
    for i in range(audio_mod.STORED_AUDIO_MEMORY + 5):
        real = _audio(i)
        load = CountingLoad(real.samples.copy())
        loads.append((StoredAudio.of(real, load), load))
        _ = loads[-1][0].samples
    assert len(audio_mod._recent) == audio_mod.STORED_AUDIO_MEMORY
    first, first_load = loads[0]
    _ = first.samples  # evicted: read again
    assert first_load.calls == 2


def test_changed_samples_on_disk_are_an_error_not_a_silent_swap():
    real = _audio(1)
    stored = StoredAudio.of(real, CountingLoad(_audio(2).samples))
    with pytest.raises(AudioFileError, match="changed on disk"):
        _ = stored.samples


def test_stored_audio_pickles_as_a_handle():
    real = _audio(3)
    stored = StoredAudio.of(real, CountingLoad(real.samples.copy()))
    copy = pickle.loads(pickle.dumps(stored))
    assert isinstance(copy, StoredAudio) and copy == real
    np.testing.assert_array_equal(copy.samples, real.samples)


def test_audio_file_samples_reads_the_file(tmp_path):
    real = Audio.from_int16(np.arange(-500, 500, dtype=np.int16), 22050)
    path = write_audio(tmp_path / "a.wav", real)
    stored = StoredAudio.of(real, AudioFileSamples(str(path)))
    np.testing.assert_array_equal(stored.samples, real.samples)
    audio_mod._recent.clear()
    write_audio(path, Audio.from_int16(np.arange(500, -500, -1, dtype=np.int16), 22050))
    with pytest.raises(AudioFileError, match="changed on disk"):
        _ = stored.samples


def _patches() -> list[Patch]:
    return [
        Patch.from_dict(patch_dict(alg, feedback=3, coarse=[1, 2, 3, 1, 2, 1]))
        for alg in (1, 5, 9, 17)
    ]


def test_streamed_renders_equal_loaded_renders_and_come_from_the_cache(tmp_path):
    from fmbench.plugins import get_registry

    renderer = get_registry().create("renderer", "dx7")
    cache = Cache(tmp_path / "cache")
    executor = LocalExecutor(1)
    patches = _patches()
    streamed, failures = render_with_cache(patches, renderer, SHORT, cache, executor, stream=True)
    assert not failures
    loaded, _ = render_with_cache(patches, renderer, SHORT, cache, executor)
    for p in patches:
        s, a = streamed[p.content_hash], loaded[p.content_hash]
        assert isinstance(s, StoredAudio) and not isinstance(a, StoredAudio)
        assert isinstance(s._load, CachedRender)
        np.testing.assert_array_equal(s.samples, a.samples)
    # warm: the handles come straight from the cache, with the same hashes
    again, _ = render_with_cache(patches, renderer, SHORT, cache, executor, stream=True)
    assert {k: v.content_hash for k, v in again.items()} == {
        k: v.content_hash for k, v in loaded.items()
    }
    # a disabled cache has nowhere to read from: plain audio
    plain, _ = render_with_cache(patches, renderer, SHORT, Cache(None), executor, stream=True)
    assert not any(isinstance(v, StoredAudio) for v in plain.values())


def test_a_render_removed_from_the_cache_is_a_clear_error(tmp_path):
    from fmbench.plugins import get_registry

    renderer = get_registry().create("renderer", "dx7")
    cache = Cache(tmp_path / "cache")
    p = _patches()[0]
    streamed, _ = render_with_cache([p], renderer, SHORT, cache, LocalExecutor(1), stream=True)
    audio_mod._recent.clear()
    for f in (tmp_path / "cache" / "render").rglob("*.arr"):
        f.unlink()
    with pytest.raises(AudioFileError, match="no longer in the cache.*--resume"):
        _ = streamed[p.content_hash].samples


def test_a_run_holds_no_audio_per_item(tmp_path, monkeypatch):
    from fmbench.run.runner import RunConfig, Runner

    monkeypatch.setenv("FMBENCH_CACHE", str(tmp_path / "cache"))
    config = RunConfig(
        benchmark="smoke", generator="prior", metrics=("rms", "dx7_dist"), workers=1, n_boot=50
    )
    result = Runner(config, run_dir=tmp_path / "run", cache=Cache(tmp_path / "cache")).run()
    rendered = [s for s in result.samples if s.patch is not None]
    assert rendered
    for s in rendered:
        assert isinstance(s.audio, StoredAudio) and isinstance(s.reference_audio, StoredAudio)
        assert "samples" not in vars(s.audio) and "samples" not in vars(s.reference_audio)
    assert np.isfinite(result.summary.metrics["rms"].value)


def test_a_warm_render_is_described_without_being_read(tmp_path, monkeypatch):
    from fmbench.plugins import get_registry
    from fmbench.render import RENDER_DESCRIPTIONS

    renderer = get_registry().create("renderer", "dx7")
    cache = Cache(tmp_path / "cache")
    patches = _patches()
    cold, _ = render_with_cache(patches, renderer, SHORT, cache, LocalExecutor(1), stream=True)
    reads = []
    real_get = Cache.get

    def counting_get(self, namespace, key):
        reads.append(namespace)
        return real_get(self, namespace, key)

    monkeypatch.setattr(Cache, "get", counting_get)
    warm, _ = render_with_cache(patches, renderer, SHORT, cache, LocalExecutor(1), stream=True)
    assert set(reads) == {RENDER_DESCRIPTIONS}
    for p in patches:
        w, c = warm[p.content_hash], cold[p.content_hash]
        assert w.content_hash == c.content_hash and len(w) == len(c) and w.peak == c.peak
        np.testing.assert_array_equal(w.samples, c.samples)
    # a malformed description is not trusted: the render is read again
    key = cold[patches[0].content_hash]._load.key
    cache.put(RENDER_DESCRIPTIONS, key, np.zeros(3, np.uint8))
    again, _ = render_with_cache(patches, renderer, SHORT, cache, LocalExecutor(1), stream=True)
    assert again[patches[0].content_hash].content_hash == cold[patches[0].content_hash].content_hash
