"""A small content-addressed store for numpy arrays (renders, embeddings, features).

A key is the SHA-256 of everything the value depends on — typically the audio's
``content_hash``, the component's ``identity`` and its settings — never a file name, so
a cache entry cannot go stale silently (:func:`make_key`). Values live at
``<root>/<namespace>/<key[:2]>/<key>.arr``: a short header (dtype, shape), a CRC-32 of
header and data, then the raw array (read back with one read and no archive to open:
about ten times faster than an ``.npz`` for the small entries a run reads by the
hundred). Writes are atomic (temporary file, then rename), and an unreadable or corrupted
entry (wrong format, CRC mismatch, truncation) is deleted and reported as a miss, so the
caller recomputes instead of crashing.

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
import struct
import tempfile
import zipfile
import zlib
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


#: the first bytes of a cache entry (format version 1)
_MAGIC = b"FMBARR1\n"
_SUFFIX = ".arr"
#: dtype kinds an entry may hold: numbers, booleans and fixed-width strings (no objects)
_KINDS = "biufcSU"


class CorruptEntry(ValueError):
    """A cache entry's bytes are not a well-formed, intact array."""


def encode_entry(value: np.ndarray) -> list[bytes | memoryview]:
    """The bytes of a cache entry holding ``value`` (as consecutive chunks)."""
    arr = np.asarray(value)
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")  # (ascontiguousarray would make a 0-d array 1-d)
    if arr.dtype.kind not in _KINDS:
        raise TypeError(f"cache entries hold plain arrays, not dtype {arr.dtype}")
    header = json.dumps({"dtype": arr.dtype.str, "shape": list(arr.shape)}).encode()
    data = memoryview(arr).cast("B") if arr.size else memoryview(b"")
    crc = zlib.crc32(data, zlib.crc32(header))
    return [_MAGIC, struct.pack("<II", len(header), crc), header, data]


def decode_entry(buf: bytearray) -> np.ndarray:
    """The array in a cache entry's bytes (writable, backed by ``buf``); raises
    :class:`CorruptEntry` for anything else."""
    start = len(_MAGIC) + 8
    if len(buf) < start or buf[: len(_MAGIC)] != _MAGIC:
        raise CorruptEntry("not an fmbench cache entry")
    n_header, crc = struct.unpack_from("<II", buf, len(_MAGIC))
    view = memoryview(buf)
    header, data = view[start : start + n_header], view[start + n_header :]
    if len(header) != n_header or zlib.crc32(data, zlib.crc32(header)) != crc:
        raise CorruptEntry("CRC mismatch (damaged or truncated)")
    try:
        meta = json.loads(bytes(header))
        dtype, shape = np.dtype(meta["dtype"]), tuple(int(n) for n in meta["shape"])
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptEntry(f"bad header: {exc}") from None
    count = int(np.prod(shape, dtype=np.int64))
    if dtype.kind not in _KINDS or min(shape, default=0) < 0 or count * dtype.itemsize != len(data):
        raise CorruptEntry("header and data disagree")
    return np.frombuffer(buf, dtype=dtype, count=count, offset=start + n_header).reshape(shape)


class Cache:
    """A directory of array entries addressed by ``(namespace, key)``.

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
        return self.root / namespace / key[:2] / f"{key}{_SUFFIX}"

    def keys(self, namespace: str) -> list[str]:
        """The keys stored in ``namespace`` (sorted; the shipped layer not included)."""
        if self.root is None:
            return []
        folder = self.path(namespace, "0" * 8).parent.parent
        return sorted(p.stem for p in folder.glob(f"*/*{_SUFFIX}"))

    def get(self, namespace: str, key: str) -> np.ndarray | None:
        """The stored array, or None on a miss (a corrupted entry is removed: a miss)."""
        if self.root is None:
            self.misses += 1
            return None
        path = self.path(namespace, key)
        try:
            with open(path, "rb") as f:
                buf = bytearray(os.fstat(f.fileno()).st_size)
                f.readinto(buf)
            value = decode_entry(buf)  # checks the CRC
        except FileNotFoundError:
            shipped = shipped_entries().get(shipped_member(namespace, key))
            if shipped is None:
                self.misses += 1
                return None
            value = shipped.copy()  # a caller may modify it; the layer stays as shipped
        except (OSError, CorruptEntry):
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
                f.writelines(encode_entry(np.asarray(value)))
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
