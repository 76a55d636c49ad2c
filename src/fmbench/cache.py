"""A small content-addressed store for numpy arrays (renders, embeddings, features).

A key is the SHA-256 of everything the value depends on — typically the audio's
``content_hash``, the component's ``identity`` and its settings — never a file name, so
a cache entry cannot go stale silently (:func:`make_key`). Values live at
``<root>/<namespace>/<key[:2]>/<key>.npz``; writes are atomic (temporary file, then
rename), and an unreadable or corrupted entry (zip CRC mismatch, truncation) is deleted
and reported as a miss, so the caller recomputes instead of crashing.

The root is ``$FMBENCH_CACHE`` if set, else ``~/.cache/fmbench``; ``FMBENCH_CACHE=off``
disables caching (every ``get`` misses, ``put`` stores nothing).

Behind every enabled cache lies a read-only layer shipped with the package: the
reference-side entries of the built-in benchmarks (features, envelopes and embeddings of
their reference renders, ``fmbench/data/reference/*.npz``, built by
``fmbench data ship-reference``). Its keys are content keys like any other, so an entry
is used only for exactly the audio and component it was computed from: a reference that
renders differently on another machine simply misses it and is computed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

_DISABLED = {"off", "none", "0", "false", "no"}


def default_cache_dir() -> Path | None:
    """``$FMBENCH_CACHE`` or ``~/.cache/fmbench``; None if the variable says ``off``."""
    value = os.environ.get("FMBENCH_CACHE")
    if value is not None and value.strip().lower() in _DISABLED:
        return None
    if value:
        return Path(value).expanduser()
    return Path.home() / ".cache" / "fmbench"


def make_key(*parts: Any) -> str:
    """SHA-256 hex digest of ``parts`` (strings, numbers, and JSON-able settings).

    Example: ``make_key(audio.content_hash, embedder.identity, {"hop": 160})``.
    Dicts are serialised with sorted keys, so their order does not matter.
    """
    h = hashlib.sha256()
    for part in parts:
        text = part if isinstance(part, str) else json.dumps(part, sort_keys=True, default=str)
        h.update(text.encode())
        h.update(b"\x00")
    return h.hexdigest()


#: where the shipped read-only layer lives inside the package
SHIPPED_DIR = Path(__file__).parent / "data" / "reference"
_shipped: dict[str, np.ndarray] | None = None


def shipped_member(namespace: str, key: str) -> str:
    """The member name of an entry in a shipped layer file."""
    return f"{namespace}.{key}"


def forget_shipped() -> None:
    """Read the shipped layer's files again on next use (after one was rewritten)."""
    global _shipped
    _shipped = None


@contextlib.contextmanager
def shipped_layer_off() -> Iterator[None]:
    """Within the block, no cache reads the shipped layer (everything is computed): for
    building the layer itself and for measuring what it saves."""
    global _shipped
    saved, _shipped = _shipped, {}
    try:
        yield
    finally:
        _shipped = saved


def shipped_entries() -> dict[str, np.ndarray]:
    """Every entry of the shipped layer, by :func:`shipped_member` name (read once per
    process into memory: no file handle is shared with forked workers)."""
    global _shipped
    if _shipped is None:
        entries: dict[str, np.ndarray] = {}
        for path in sorted(SHIPPED_DIR.glob("*.npz")):
            try:
                with np.load(path, allow_pickle=False) as data:
                    entries.update({name: data[name] for name in data.files})
            except (OSError, ValueError, EOFError, zipfile.BadZipFile):
                continue  # a damaged shipped file is a miss, never a crash
        _shipped = entries
    return _shipped


class Cache:
    """A directory of ``.npz`` entries addressed by ``(namespace, key)``.

    ``Cache()`` uses :func:`default_cache_dir`; ``Cache(path)`` a given folder;
    ``Cache(None)`` or ``Cache(enabled=False)`` stores nothing.
    """

    def __init__(self, root: str | os.PathLike[str] | None | bool = True, *, enabled: bool = True):
        if root is True:
            root = default_cache_dir()
        elif root is False:
            root = None
        self.root: Path | None = Path(root) if root is not None and enabled else None
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def path(self, namespace: str, key: str) -> Path:
        """Where an entry lives (whether or not it exists)."""
        if self.root is None:
            raise RuntimeError("this cache is disabled")
        if not namespace.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"invalid cache namespace {namespace!r}")
        if len(key) < 8 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"cache keys are hex digests (see make_key), got {key!r}")
        return self.root / namespace / key[:2] / f"{key}.npz"

    def get(self, namespace: str, key: str) -> np.ndarray | None:
        """The stored array, or None on a miss (a corrupted entry is removed: a miss)."""
        if self.root is None:
            self.misses += 1
            return None
        path = self.path(namespace, key)
        try:
            with np.load(path, allow_pickle=False) as data:
                value = data["value"]  # reading the member checks its CRC
        except FileNotFoundError:
            shipped = shipped_entries().get(shipped_member(namespace, key))
            if shipped is None:
                self.misses += 1
                return None
            value = shipped.copy()  # a caller may modify it; the layer stays as shipped
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, namespace: str, key: str, value: np.ndarray) -> None:
        """Store ``value`` atomically (a reader never sees a partial file)."""
        if self.root is None:
            return
        path = self.path(namespace, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:16]}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, value=np.asarray(value))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def get_or_compute(
        self, namespace: str, key: str, compute: Callable[[], np.ndarray]
    ) -> np.ndarray:
        """The cached array, or ``compute()`` stored and returned."""
        value = self.get(namespace, key)
        if value is None:
            value = np.asarray(compute())
            self.put(namespace, key, value)
        return value
