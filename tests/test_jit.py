"""numba's JIT cache under fmbench (fmbench.jit): its folder, concurrent first compiles, and
corrupt cache files that are rebuilt instead of crashing the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fmbench.jit as jit

# a module with one cached numba function compiled for two signatures: the case in which
# concurrent first compiles used to pair an index entry with the other signature's code
KERNEL = textwrap.dedent(
    """
    import numba

    @numba.njit(cache=True)
    def twice(x):
        return x * 2 + 1
    """
)

# imports fmbench first (it owns the cache policy), then the kernel, calls both signatures
DRIVER = textwrap.dedent(
    """
    import json, sys, warnings
    import fmbench  # noqa: F401
    sys.path.insert(0, sys.argv[1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import kern
        out = {"int": kern.twice(20), "float": kern.twice(0.25)}
    out["warnings"] = [str(w.message) for w in caught if "numba cache entry" in str(w.message)]
    import numba.core.config
    out["cache_dir"] = numba.core.config.CACHE_DIR
    print(json.dumps(out))
    """
)


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NUMBA_CACHE_DIR", None)
    env.pop("FMBENCH_NUMBA_CACHE_DIR", None)
    env["FMBENCH_CACHE"] = str(tmp_path / "cache")
    return env


def _run(tmp_path: Path, env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(tmp_path / "src")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def kernel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "kern.py").write_text(KERNEL)
    return src


def _cache_files(tmp_path: Path, suffix: str) -> list[Path]:
    return sorted((tmp_path / "cache" / "numba").rglob(f"kern.twice-*{suffix}"))


def test_cache_lives_under_fmbench_cache_keyed_by_numba_version(tmp_path, kernel):
    out = _run(tmp_path, _env(tmp_path))
    assert out["int"] == 41 and out["float"] == 1.5 and out["warnings"] == []
    folder = Path(out["cache_dir"])
    assert folder == tmp_path / "cache" / "numba" / jit.cache_key()
    assert jit.cache_key().startswith(__import__("numba").__version__)
    assert _cache_files(tmp_path, ".nbi") and len(_cache_files(tmp_path, ".nbc")) == 2
    # nothing was written beside the source
    assert not list(kernel.rglob("*.nb[ic]"))


def test_users_numba_cache_dir_is_respected(tmp_path, kernel):
    env = _env(tmp_path)
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "mine")
    out = _run(tmp_path, env)
    assert out["cache_dir"] == str(tmp_path / "mine")
    assert list((tmp_path / "mine").rglob("kern.twice-*.nbi"))


@pytest.mark.parametrize("which", [".nbi", ".nbc"])
def test_garbage_cache_file_is_detected_and_rebuilt(tmp_path, kernel, which):
    env = _env(tmp_path)
    _run(tmp_path, env)
    for path in _cache_files(tmp_path, which):
        path.write_bytes(b"this is not a numba cache file\x00\xff" * 7)
    out = _run(tmp_path, env)
    assert out["int"] == 41 and out["float"] == 1.5
    assert out["warnings"] and "deleted" in out["warnings"][0]
    # rebuilt: the next process loads cleanly, without a warning
    again = _run(tmp_path, env)
    assert again == {**out, "warnings": []}


def test_index_pointing_at_another_signatures_code_is_detected(tmp_path, kernel):
    """The state a concurrent cold start left behind: each index entry names the data file
    of the other signature. Loading it would run int code on floats (or crash)."""
    env = _env(tmp_path)
    _run(tmp_path, env)
    first, second = _cache_files(tmp_path, ".nbc")
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b)
    second.write_bytes(a)
    out = _run(tmp_path, env)
    assert out["int"] == 41 and out["float"] == 1.5
    assert any("compiled for" in w for w in out["warnings"])
    assert _run(tmp_path, env)["warnings"] == []


def test_concurrent_cold_compiles_leave_a_consistent_cache(tmp_path, kernel):
    """Several processes compile both signatures at once on an empty cache; afterwards a
    fresh process loads both without any repair."""
    env = _env(tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(kernel)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in procs:
        stdout, stderr = p.communicate(timeout=180)
        assert p.returncode == 0, stderr[-3000:]
        out = json.loads(stdout.strip().splitlines()[-1])
        assert out["int"] == 41 and out["float"] == 1.5
    final = _run(tmp_path, env)
    assert final["warnings"] == [] and final["int"] == 41 and final["float"] == 1.5


def test_prepare_jit_before_numba_is_imported_does_not_deadlock(tmp_path):
    """prepare_jit() imports numba's caching module, which runs the import hook that
    patches it; the two must not wait on each other."""
    code = (
        "import fmbench.jit as j, sys; assert 'numba' not in sys.modules; j.prepare_jit();"
        "import numba.core.caching as c; assert c.IndexDataCacheFile.save._fmbench_guard;"
        "print('ok')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_guard_is_installed_when_numba_caching_is_imported():
    import numba.core.caching as caching

    assert jit.install_guard() is True
    assert getattr(caching.IndexDataCacheFile.save, "_fmbench_guard", False)
    assert getattr(caching.Cache.load_overload, "_fmbench_guard", False)


def _fmbench_run(tmp_path: Path, name: str, env: dict[str, str]) -> dict:
    run_dir = tmp_path / name
    proc = subprocess.run(
        [sys.executable, "-m", "fmbench", "run", "-g", "random", "--limit", "2", "-j", "2"]
        + ["-m", "timbral-fast,rms", "--run-dir", str(run_dir), "--quiet", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


def test_cold_run_with_two_workers_compiles_safely_and_its_cache_loads(tmp_path):
    """The first-hour path: an empty JIT cache, two forked workers, the numba code of the
    dx7 renderer and of timbral-fast (which no longer brings librosa's); then a second
    process that loads everything the first one left in the JIT cache (no render or
    feature cache)."""
    env = _env(tmp_path)
    env["FMBENCH_CACHE"] = str(tmp_path / "first")
    first = _fmbench_run(tmp_path, "cold", env)
    assert first["errors"] == {}
    jit_dir = tmp_path / "first" / "numba" / jit.cache_key()
    compiled = {p.name.rsplit("-", 1)[0] for p in jit_dir.rglob("*.nbi")}
    timbral = {"audiocommons._peak_kernels.locals.roughness_frames", "audiocommons._peak_scan"}
    assert {"_kernels.render_fast", *timbral} <= compiled, compiled
    assert not any("utils." in name for name in compiled), compiled  # librosa's
    env["FMBENCH_CACHE"] = str(tmp_path / "second")
    env["NUMBA_CACHE_DIR"] = str(jit_dir)  # warm JIT cache, cold everything else
    second = _fmbench_run(tmp_path, "warm", env)
    assert second["errors"] == {}
    assert second["metrics"] == first["metrics"]


def test_a_cold_cache_is_warmed_in_a_background_process(tmp_path, monkeypatch):
    monkeypatch.setattr(jit, "configure", lambda: None)  # keep this process's numba setup
    folder = tmp_path / "numba"
    folder.mkdir()
    monkeypatch.setenv(jit.ENV, str(folder))
    marker = tmp_path / "warmed"
    assert jit.cache_is_cold()
    handle = jit.warm_up_in_background(lambda: marker.write_text(str(os.getpid())))
    if handle is None:  # one usable core, or no fork
        pytest.skip("no background warm-up on this machine")
    handle.wait()
    handle.wait()  # idempotent
    assert marker.read_text() != str(os.getpid())  # it ran, in another process
    # a failing warm-up is no error for the caller
    jit.warm_up_in_background(lambda: 1 / 0).wait()  # type: ignore[union-attr]
    (folder / "sub").mkdir()
    (folder / "sub" / "f-1.py311.nbi").write_bytes(b"")
    assert not jit.cache_is_cold()
    assert jit.warm_up_in_background(lambda: None) is None


def test_a_background_warm_up_can_be_cancelled(tmp_path, monkeypatch):
    import time

    monkeypatch.setattr(jit, "configure", lambda: None)
    folder = tmp_path / "numba"
    folder.mkdir()
    monkeypatch.setenv(jit.ENV, str(folder))
    handle = jit.warm_up_in_background(lambda: time.sleep(60))
    if handle is None:
        pytest.skip("no background warm-up on this machine")
    t0 = time.perf_counter()
    handle.cancel()
    handle.cancel()  # idempotent
    handle.wait()  # nothing left to wait for
    assert time.perf_counter() - t0 < 10
