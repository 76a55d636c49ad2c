"""Small file helpers shared by every module that writes: atomic writes, hashing, names."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

#: longest file-name component fmbench creates (most file systems allow 255 bytes)
MAX_NAME_BYTES = 200


def _temp_name(path: Path) -> Path:
    stem = path.name.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore")
    return path.parent / f".{stem}.{secrets.token_hex(4)}.part"


def create_temp(path: str | os.PathLike[str]) -> tuple[int, Path]:
    """A new empty temporary file next to ``path`` (``.<name>.<random>.part``), opened for
    writing: ``(fd, temp_path)``.

    Created with mode ``0o666`` filtered by the process umask, like any file the user
    creates (``tempfile.mkstemp`` would make it ``0600``, and :func:`os.replace` keeps that
    mode on the final file).
    """
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = _temp_name(path)
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file next to {path}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` for a writer that takes a file name (e.g.
    soundfile); on success it atomically replaces ``path``, on any error it is removed.

    The temporary file exists (empty, with the umask's mode) when the block starts.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(path)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, fsync,
    then :func:`os.replace` (readers see the old file or the new one, never a torn one).
    The file gets the usual permissions (``0o666`` less the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_sha(path: str | os.PathLike[str] | None = None) -> str | None:
    """The HEAD commit of the git work tree containing ``path`` (cwd by default), or None
    outside a git repository or without git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", sha) else None


def slugify(text: str) -> str:
    """A file-name-safe version of a component name (``outputs:preds.csv`` → ``outputs_preds.csv``)."""
    slug = re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("._")
    return slug or "x"


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds (for ``created``)."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
