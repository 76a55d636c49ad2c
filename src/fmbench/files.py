"""Small file helpers shared by every module that writes: atomic writes, hashing, names."""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, fsync,
    then :func:`os.replace` (readers see the old file or the new one, never a torn one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
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
