"""The content-addressed array cache."""

from __future__ import annotations

import numpy as np
import pytest

from fmbench.cache import Cache, default_cache_dir, make_key


def test_hit_returns_identical_array(tmp_path):
    cache = Cache(tmp_path)
    key = make_key("audiohash", "mfcc@1", {"hop": 160})
    a = np.random.default_rng(0).standard_normal((9, 80)).astype(np.float32)
    assert cache.get("embeddings", key) is None
    cache.put("embeddings", key, a)
    b = cache.get("embeddings", key)
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)
    assert (cache.hits, cache.misses) == (1, 1)
    assert not list(tmp_path.rglob("*.part"))  # no temporary files left behind


def test_keys_depend_on_identity_and_settings_not_dict_order():
    assert make_key("h", "mfcc@1") != make_key("h", "logmel@1")
    assert make_key("h", "mfcc@1", {"a": 1}) != make_key("h", "mfcc@1", {"a": 2})
    assert make_key("h", {"a": 1, "b": 2}) == make_key("h", {"b": 2, "a": 1})
    assert make_key("ab", "c") != make_key("a", "bc")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_corrupted_entry_is_recomputed_not_a_crash(tmp_path, damage):
    cache = Cache(tmp_path)
    key = make_key("x")
    a = np.arange(1000, dtype=np.float64)
    cache.put("emb", key, a)
    path = cache.path("emb", key)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    else:  # flip one byte inside the array data: the zip CRC catches it
        i = len(data) // 2
        path.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])
    assert cache.get("emb", key) is None
    assert not path.exists()
    calls = []
    out = cache.get_or_compute("emb", key, lambda: calls.append(1) or a)
    assert calls == [1] and np.array_equal(out, a)
    assert np.array_equal(cache.get("emb", key), a)


def test_disabled_cache_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FMBENCH_CACHE", "off")
    assert default_cache_dir() is None
    cache = Cache()
    cache.put("emb", make_key("x"), np.zeros(3))
    assert not cache.enabled and cache.get("emb", make_key("x")) is None
    monkeypatch.setenv("FMBENCH_CACHE", str(tmp_path / "c"))
    assert Cache().root == tmp_path / "c"


def test_bad_namespace_or_key_is_rejected(tmp_path):
    cache = Cache(tmp_path)
    with pytest.raises(ValueError):
        cache.path("../evil", make_key("x"))
    with pytest.raises(ValueError):
        cache.path("emb", "../../etc/passwd")
