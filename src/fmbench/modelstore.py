"""The local model store: weight files that model-based components need, and the
resource helpers those components share.

fmbench never downloads weights behind the user's back and never substitutes another
model: a component declares the files it needs with :class:`fmbench.components.ModelFile`
(``register(..., model_files=(ModelFile(...),))``) and resolves them here at construction
time. A missing file raises :class:`MissingModelError`, whose message names the file, the
folder to put it in, its expected size / sha256 and where to obtain it.

The store is one flat folder: ``$FMBENCH_HOME`` if set, else
``$XDG_CACHE_HOME/fmbench/models`` (``~/.cache/fmbench/models``). It is separate from the
render/embedding cache (``$FMBENCH_CACHE``, :mod:`fmbench.cache`). An entry is a file
(a ``.pt`` checkpoint) or a folder (a Hugging Face model folder); a folder's sha256 is the
hash of its files' relative paths and hashes (:func:`tree_sha256`).

The API, in one place::

    store = ModelStore()                        # or ModelStore(tmp_path)
    path = store.resolve(info, "x.pt")          # Path, or MissingModelError / ModelFileError
    store.verify(model_file)                    # FileStatus (size + streamed sha256)
    store.add("~/Downloads/x.pt", "x.pt")       # copy (or link=True) into the store, verify
    store.where("x.pt")                         # the path it lives at (existing or not)
    store.fetch(model_file)                     # download from model_file.url, atomic, verified
    check_model_files(info, options)            # problems, before a run does any work
    with loaded_model(lambda: build()) as m:    # one heavy model at a time, freed afterwards
        ...

A component whose needed files depend on its options (e.g. CLAP's ``model=`` option,
which may name a Hugging Face folder instead of the default checkpoint) attaches a
function ``model_requirements(options) -> list[ModelFile | str | Path]`` to its factory
(``factory.model_requirements = fn``); :func:`check_model_files` then checks exactly
those (a ``ModelFile`` or a bare name in the store, a ``Path`` on disk). Without it, every
declared ``model_files`` entry is required.

Verified hashes are remembered in ``<store>/.fmbench-verified/<name>.json`` together with
the file's size and modification time, so a 2 GB checkpoint is hashed once, not per run.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fmbench.components import ComponentInfo, ModelFile
from fmbench.errors import FmbenchError
from fmbench.files import sha256_file

T = TypeVar("T")

ENV_HOME = "FMBENCH_HOME"
_VERIFIED_DIR = ".fmbench-verified"
_CHUNK = 1 << 20


class MissingModelError(FmbenchError):
    """A weight file a component needs is not in the model store (or not at a given path)."""


class ModelFileError(FmbenchError):
    """A weight file exists but is wrong: size/sha256 mismatch, corrupted, truncated, or of
    the wrong architecture."""


class ModelDownloadError(FmbenchError):
    """``fetch`` could not download a file (no URL, network error, verification failure)."""


def default_model_dir() -> Path:
    """``$FMBENCH_HOME``, else ``$XDG_CACHE_HOME/fmbench/models``, else
    ``~/.cache/fmbench/models``."""
    value = os.environ.get(ENV_HOME)
    if value:
        return Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "fmbench" / "models"


# -- hashing -------------------------------------------------------------------------

_memo: dict[tuple[str, int, int], str] = {}
_memo_lock = threading.Lock()


#: the one file hash of fmbench (streamed); re-exported under the name the store uses
file_sha256 = sha256_file


def tree_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a folder: over the sorted lines ``<relative path> <file sha256>`` of every
    regular file below it (hidden entries such as ``.cache`` or ``.git`` are skipped)."""
    root = Path(path)
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        h.update(f"{rel.as_posix()} {file_sha256(p)}\n".encode())
    return h.hexdigest()


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def content_sha256(path: str | os.PathLike[str]) -> str:
    """:func:`file_sha256` for a file, :func:`tree_sha256` for a folder; memoised per
    process by (path, size, mtime) so repeated identity look-ups are free."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _memo_lock:
        if key in _memo:
            return _memo[key]
    digest = tree_sha256(p) if p.is_dir() else file_sha256(p)
    with _memo_lock:
        _memo[key] = digest
    return digest


#: the first bytes of a legacy (pre-zip) ``torch.save`` file: pickle protocol 2 + torch's
#: magic number 0x1950a86a20f9469cfc6c
_TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


def format_problem(path: Path, file: ModelFile) -> str | None:
    """Why the entry at ``path`` cannot be what ``file`` declares (``format``,
    ``members``) as a phrase to follow its path ("is not …", "lacks …"),
    without loading it; None when it plausibly is. A ``torch`` checkpoint must be
    ``torch.save``'s zip archive (with its ``data.pkl``) or its legacy pickle format."""
    if file.members:
        if not path.is_dir():
            return f"should be a folder holding {', '.join(file.members)}"
        absent = [m for m in file.members if not (path / m).is_file()]
        if absent:
            return f"lacks {', '.join(absent)}"
        return None
    if file.format != "torch" or path.is_dir():
        return None
    import zipfile

    try:
        with open(path, "rb") as f:
            head = f.read(len(_TORCH_LEGACY_MAGIC))
        if head == _TORCH_LEGACY_MAGIC:
            return None
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
            if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
                return None
            return "is a zip archive without data.pkl, not a PyTorch checkpoint"
    except (OSError, zipfile.BadZipFile) as exc:
        return f"cannot be read as a PyTorch checkpoint ({exc})"
    return (
        "is not a loadable PyTorch checkpoint: corrupted, truncated or a different file"
        " (neither torch.save's zip format nor its legacy format)"
    )


def _human(n: int | None) -> str:
    if n is None:
        return "unknown size"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


# -- status --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileStatus:
    """The state of one declared file in the store.

    ``state`` is one of ``"missing"``, ``"verified"`` (sha256 matched), ``"present"``
    (exists, size matched or unknown, no sha256 declared to check), ``"size-mismatch"``,
    ``"sha256-mismatch"``, ``"corrupt"`` (not of its declared format, see
    :func:`format_problem`).
    """

    file: ModelFile
    path: Path
    state: str
    sha256: str | None = None  # the actual hash, when computed
    size: int | None = None  # the actual size, when present
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state in ("verified", "present")

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable form (``fmbench models list --json``)."""
        return {
            "name": self.file.name,
            "path": str(self.path),
            "state": self.state,
            "ok": self.ok,
            "expected_sha256": self.file.sha256,
            "expected_size": self.file.size,
            "sha256": self.sha256,
            "size": self.size,
            "url": self.file.url,
            "description": self.file.description,
            "detail": self.detail,
        }


def _files_of(files: ComponentInfo | ModelFile | Iterable[ModelFile]) -> tuple[ModelFile, ...]:
    if isinstance(files, ComponentInfo):
        return files.model_files
    if isinstance(files, ModelFile):
        return (files,)
    return tuple(files)


class ModelStore:
    """A folder of model files (see the module docstring); ``ModelStore()`` uses
    :func:`default_model_dir`."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_model_dir()

    def __repr__(self) -> str:
        return f"ModelStore({str(self.root)!r})"

    # -- paths -----------------------------------------------------------------------
    def where(self, name: str) -> Path:
        """The path a file called ``name`` has in this store (whether or not it exists)."""
        if (
            not name
            or name in (".", "..")
            or "/" in name
            or "\\" in name
            or name.startswith(".")
            or "\x00" in name
        ):
            raise FmbenchError(f"invalid model file name {name!r}: use a plain file name")
        return self.root / name

    def _record_path(self, name: str) -> Path:
        return self.root / _VERIFIED_DIR / f"{name}.json"

    # -- messages --------------------------------------------------------------------
    def missing_message(self, file: ModelFile, component: str = "") -> str:
        """The full, actionable text for a missing file."""
        who = f" needed by {component}" if component else ""
        lines = [
            f"model file {file.name!r}{who} is missing: expected it at {self.where(file.name)}",
            f"  put it in the folder {self.root} (set ${ENV_HOME} to use another folder),",
            f"  e.g. `fmbench models add PATH --as {file.name}`",
            f"  expected size: {_human(file.size)}; sha256: {file.sha256 or 'not declared'}",
        ]
        if file.description:
            lines.append(f"  what it is: {file.description}")
        if file.url:
            lines.append(f"  obtain it from {file.url} (or `fmbench models fetch {file.name}`)")
        else:
            lines.append("  no download URL is declared: obtain it from the model's authors")
        return "\n".join(lines)

    # -- verification ----------------------------------------------------------------
    def _cached_sha(self, path: Path, name: str) -> str | None:
        try:
            rec = json.loads(self._record_path(name).read_text())
            st = path.stat()
            if rec.get("size") == _size(path) and rec.get("mtime_ns") == st.st_mtime_ns:
                return str(rec["sha256"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def _remember_sha(self, path: Path, name: str, sha: str) -> None:
        rec = {"sha256": sha, "size": _size(path), "mtime_ns": path.stat().st_mtime_ns}
        try:
            target = self._record_path(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
            with os.fdopen(fd, "w") as f:
                json.dump(rec, f)
            os.replace(tmp, target)
        except OSError:
            pass  # a read-only store still works; it just re-hashes

    def sha256(self, name: str) -> str:
        """The sha256 of a stored file or folder (remembered between runs)."""
        path = self.where(name)
        if not path.exists():
            raise MissingModelError(f"{name!r} is not in the model store {self.root}")
        sha = self._cached_sha(path, name)
        if sha is None:
            sha = content_sha256(path)
            self._remember_sha(path, name, sha)
        return sha

    def verify(self, file: ModelFile, *, hash: bool = True) -> FileStatus:
        """Check a declared file: present, size, and (when declared and ``hash``) sha256.

        The actual sha256 is computed (streamed) only when ``hash`` is true; it is
        remembered with the file's size and mtime, so re-verifying is cheap.
        """
        path = self.where(file.name)
        if not path.exists():
            return FileStatus(file, path, "missing", detail=self.missing_message(file))
        size = _size(path)
        if file.size is not None and size != file.size:
            return FileStatus(
                file,
                path,
                "size-mismatch",
                size=size,
                detail=f"{path} has {size} bytes, expected {file.size} (truncated or wrong file?)",
            )
        problem = format_problem(path, file)
        if problem:
            return FileStatus(file, path, "corrupt", size=size, detail=f"{path} {problem}")
        sha = None
        if hash:
            sha = self.sha256(file.name)
            if file.sha256 is not None and sha.lower() != file.sha256.lower():
                return FileStatus(
                    file,
                    path,
                    "sha256-mismatch",
                    sha256=sha,
                    size=size,
                    detail=f"{path} has sha256 {sha}, expected {file.sha256} (corrupted or "
                    "a different file)",
                )
        state = "verified" if (hash and file.sha256 is not None) else "present"
        return FileStatus(file, path, state, sha256=sha, size=size)

    def resolve(
        self,
        files: ComponentInfo | ModelFile | Iterable[ModelFile],
        name: str | None = None,
        *,
        verify: bool = True,
    ) -> Path:
        """The verified path of the file ``name`` among ``files`` (a component's info, one
        ModelFile or several; ``name`` may be omitted when there is exactly one).

        Raises :class:`MissingModelError` (with the full instructions) when it is absent
        and :class:`ModelFileError` when its size or sha256 does not match.
        """
        declared = _files_of(files)
        component = f"{files.kind} {files.name!r}" if isinstance(files, ComponentInfo) else ""
        if name is None:
            if len(declared) != 1:
                raise ValueError("resolve: give the file name (several files are declared)")
            file = declared[0]
        else:
            matches = [f for f in declared if f.name == name]
            file = matches[0] if matches else ModelFile(name)
        status = self.verify(file, hash=verify)
        if status.state == "missing":
            raise MissingModelError(self.missing_message(file, component))
        if not status.ok:
            raise ModelFileError(
                f"model file {file.name!r}{' for ' + component if component else ''}: "
                f"{status.detail}. Replace it (`fmbench models add PATH --as {file.name}`)."
            )
        return status.path

    # -- adding and fetching ---------------------------------------------------------
    def add(
        self,
        source: str | os.PathLike[str],
        as_name: str | None = None,
        *,
        expected: ModelFile | None = None,
        link: bool = False,
        overwrite: bool = True,
    ) -> FileStatus:
        """Copy (or symlink, ``link=True``) a file or folder into the store as ``as_name``
        (default: its own name), atomically, then verify it against ``expected`` (its
        declaration, if any). A mismatch removes the new entry and raises
        :class:`ModelFileError`; a previous entry of that name is replaced only after the
        new one has been fully written.
        """
        src = Path(source).expanduser()
        if not src.exists():
            raise FmbenchError(f"cannot add {src}: no such file or folder")
        name = as_name or src.name
        target = self.where(name)
        if target.exists() and not overwrite:
            raise FmbenchError(f"{target} already exists (pass overwrite=True to replace it)")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".part", dir=self.root))
        staged = tmp / "entry"
        try:
            if link:
                staged.symlink_to(src.resolve(), target_is_directory=src.is_dir())
            elif src.is_dir():
                shutil.copytree(src, staged, symlinks=False)
            else:
                shutil.copyfile(src, staged)
            file = expected if expected is not None else ModelFile(name)
            probe = _probe_status(staged, file)
            if not probe.ok:
                raise ModelFileError(f"refusing to add {src} as {name!r}: {probe.detail}")
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)
            os.replace(staged, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if probe.sha256:
            self._remember_sha(target, name, probe.sha256)
        return self.verify(file)

    def fetch(
        self,
        file: ModelFile,
        *,
        url: str | None = None,
        timeout: float = 60.0,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> FileStatus:
        """Download ``file`` from ``url`` (default: its declared URL) into the store.

        The download goes to a temporary file in the store, is checked against the
        declared size and sha256 while streaming, and only then renamed into place, so a
        failed or interrupted download leaves nothing behind. A folder entry (``members``)
        is fetched file by file from ``url + member``. Only ``http``, ``https`` and
        ``file`` URLs are accepted; any failure (no network, a bad URL, a mismatch) is a
        :class:`ModelDownloadError` saying what to do.
        """
        from fmbench.components import url_problem

        source = url or file.url
        if not source:
            raise ModelDownloadError(
                f"{file.name!r} declares no download URL; obtain it yourself and run "
                f"`fmbench models add PATH --as {file.name}`"
            )
        problem = url_problem(source)
        if problem:
            raise ModelDownloadError(f"refusing to fetch {file.name!r}: {source!r} {problem}")
        target = self.where(file.name)
        self.root.mkdir(parents=True, exist_ok=True)
        if file.members:
            tmp_dir = Path(tempfile.mkdtemp(prefix=f".{file.name}.", suffix=".part", dir=self.root))
            try:
                base = source if source.endswith("/") else source + "/"
                for member in file.members:
                    _download(
                        base + member,
                        tmp_dir / member,
                        ModelFile(member),
                        timeout,
                        progress,
                        add_as=file.name,
                        note=f"; PATH is a folder holding {', '.join(file.members)}",
                    )
                problem = format_problem(tmp_dir, file)
                if problem:
                    raise ModelDownloadError(f"download of {file.name!r}: the folder {problem}")
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
                os.replace(tmp_dir, target)
            finally:
                shutil.rmtree(tmp_dir, ignore_errors=True)
            return self.verify(file)
        fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".part", dir=self.root)
        os.close(fd)
        try:
            sha = _download(source, Path(tmp), file, timeout, progress)
            problem = format_problem(Path(tmp), file)
            if problem:
                raise ModelDownloadError(
                    f"download of {file.name!r} from {source} {problem}; nothing was stored"
                )
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self._remember_sha(target, file.name, sha)
        return self.verify(file)


def _download(
    source: str,
    dest: Path,
    file: ModelFile,
    timeout: float,
    progress: Callable[[int, int | None], None] | None,
    *,
    add_as: str | None = None,
    note: str = "",
) -> str:
    """Stream ``source`` into ``dest``, checking ``file.size`` / ``file.sha256``; returns
    the sha256. Every failure is a :class:`ModelDownloadError` (whose advice names the
    store entry ``add_as``, default the file's name)."""
    import http.client
    import urllib.error
    import urllib.parse
    import urllib.request

    scheme = urllib.parse.urlparse(source).scheme
    h = hashlib.sha256()
    done = 0
    try:
        with open(dest, "wb") as out:
            with urllib.request.urlopen(source, timeout=timeout) as resp:  # noqa: S310
                total = resp.headers.get("Content-Length") if scheme != "file" else None
                total_n = int(total) if total and total.isdigit() else file.size
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    h.update(chunk)
                    done += len(chunk)
                    if file.size is not None and done > file.size:
                        raise ModelDownloadError(
                            f"download of {file.name!r} from {source} exceeds the "
                            f"declared size {file.size}"
                        )
                    if progress is not None:
                        progress(done, total_n)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = exc.reason if type(exc) is urllib.error.URLError else exc
        raise ModelDownloadError(
            f"could not download {file.name!r} from {source}: {reason} (no network? download "
            f"it elsewhere and run `fmbench models add PATH --as {add_as or file.name}`{note})"
        ) from exc
    if file.size is not None and done != file.size:
        raise ModelDownloadError(
            f"download of {file.name!r} from {source} has {done} bytes, expected "
            f"{file.size}; nothing was stored"
        )
    sha = h.hexdigest()
    if file.sha256 is not None and sha != file.sha256.lower():
        raise ModelDownloadError(
            f"download of {file.name!r} from {source} has sha256 {sha}, expected "
            f"{file.sha256}; nothing was stored"
        )
    return sha


def _probe_status(path: Path, file: ModelFile) -> FileStatus:
    """Verify a staged entry (not yet under its store name) against ``file``."""
    size = _size(path)
    if file.size is not None and size != file.size:
        return FileStatus(
            file, path, "size-mismatch", size=size, detail=f"{size} bytes, expected {file.size}"
        )
    problem = format_problem(path, file)
    if problem:
        return FileStatus(file, path, "corrupt", size=size, detail=f"it {problem}")
    sha = tree_sha256(path) if path.is_dir() else file_sha256(path)
    if file.sha256 is not None and sha != file.sha256.lower():
        return FileStatus(
            file,
            path,
            "sha256-mismatch",
            sha256=sha,
            size=size,
            detail=f"sha256 {sha}, expected {file.sha256}",
        )
    return FileStatus(file, path, "verified" if file.sha256 else "present", sha, size)


# -- components ----------------------------------------------------------------------


def registered_model_files(registry: Any = None) -> dict[str, tuple[ModelFile, list[str]]]:
    """Every model file declared by a registered component: ``name → (file, components)``
    (components as ``"metric:clap"`` labels). The first declaration of a name wins."""
    if registry is None:
        from fmbench.plugins import get_registry

        registry = get_registry()
    found: dict[str, tuple[ModelFile, list[str]]] = {}
    for info in registry.all():
        for f in info.model_files:
            entry = found.setdefault(f.name, (f, []))
            entry[1].append(f"{info.kind}:{info.name}")
    return found


def model_requirements(
    info: ComponentInfo, options: Mapping[str, Any] | None = None
) -> list[ModelFile | str | Path]:
    """What ``info`` needs with these options (see the module docstring)."""
    fn = getattr(info.factory, "model_requirements", None)
    if callable(fn):
        return list(fn(dict(options or {})))
    return list(info.model_files)


def check_model_files(
    info: ComponentInfo,
    options: Mapping[str, Any] | None = None,
    *,
    store: ModelStore | None = None,
    registry: Any = None,
    hash: bool = True,
) -> list[str]:
    """Problems (one full message each) with the model files ``info`` needs; empty = ready.

    Called by the runner before any work. A metric with a string ``embedder`` option
    (``fad:clap``) also gets that embedder's files checked. Sizes and declared sha256
    values are verified (``hash=False`` checks presence and size only).
    """
    store = store or ModelStore()
    options = dict(options or {})
    problems: list[str] = []
    label = f"{info.kind} {info.name!r}"
    declared = {f.name: f for f in info.model_files}
    for req in model_requirements(info, options):
        if isinstance(req, Path):
            if not req.exists():
                problems.append(f"{label} needs {req}, which does not exist")
            continue
        file = req if isinstance(req, ModelFile) else declared.get(req, ModelFile(req))
        try:
            status = store.verify(file, hash=hash)
        except FmbenchError as exc:
            problems.append(f"{label}: {exc}")
            continue
        if status.state == "missing":
            problems.append(store.missing_message(file, label))
        elif not status.ok:
            problems.append(f"{label}: {status.detail}")
    embedder = options.get("embedder")
    if isinstance(embedder, str) and str(info.kind) == "metric":
        if registry is None:
            from fmbench.plugins import get_registry

            registry = get_registry()
        from fmbench.errors import UnknownComponentError

        try:
            einfo = registry.get("embedder", embedder)
        except UnknownComponentError:
            einfo = None  # the metric itself reports an unknown embedder
        if einfo is not None:
            problems += check_model_files(einfo, None, store=store, registry=registry, hash=hash)
    return problems


def resolve_model_option(
    value: str | os.PathLike[str] | None,
    default: ModelFile,
    *,
    store: ModelStore | None = None,
    declared: Sequence[ModelFile] = (),
    component: str = "",
) -> Path:
    """Resolve a ``model=`` option: None → ``default`` from the store; an existing path →
    that path; otherwise a name in the store (checked against its declaration in
    ``declared``, if any). Never falls back to another model."""
    store = store or ModelStore()
    if value is None:
        return store.resolve([default, *declared], default.name)
    text = os.fspath(value)
    path = Path(text).expanduser()
    if path.exists():
        return path
    looks_like_path = os.sep in text or text.startswith(("~", "."))
    if not looks_like_path:
        matches = [f for f in (default, *declared) if f.name == text]
        file = matches[0] if matches else ModelFile(text)
        try:
            return store.resolve([file], text)
        except MissingModelError as exc:
            raise MissingModelError(
                f"{component + ': ' if component else ''}model {text!r} is neither an existing "
                f"path nor in the model store.\n{exc}"
            ) from None
    raise MissingModelError(
        f"{component + ': ' if component else ''}model path {path} does not exist "
        f"(give an existing file or folder, or a name in the model store {store.root})"
    )


def model_option_requirements(
    value: str | os.PathLike[str] | None, default: ModelFile
) -> list[ModelFile | str | Path]:
    """The :func:`check_model_files` requirement for a ``model=`` option (see
    :func:`resolve_model_option`)."""
    if value is None:
        return [default]
    text = os.fspath(value)
    path = Path(text).expanduser()
    if path.exists() or os.sep in text or text.startswith(("~", ".")):
        return [path]
    return [default if text == default.name else text]


# -- resources -----------------------------------------------------------------------

#: held while a heavy model is loaded (``loaded_model``, plugin sessions): one at a time
HEAVY_MODEL_LOCK = threading.RLock()


def resolve_device(device: str | None = "auto") -> str:
    """``"auto"``/None → ``"cuda"`` when torch sees a GPU, else ``"cpu"``; an explicit
    CUDA device that is not available raises :class:`FmbenchError`."""
    import torch

    dev = (device or "auto").strip().lower()
    if dev == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if dev.startswith("cuda") and not torch.cuda.is_available():
        raise FmbenchError(f"device {device!r} requested but CUDA is not available here")
    if dev.startswith("mps") and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise FmbenchError(f"device {device!r} requested but MPS is not available here")
    try:
        torch.device(dev)
    except (RuntimeError, ValueError) as exc:
        raise FmbenchError(f"invalid device {device!r}: {exc}") from None
    return dev


def release_memory() -> None:
    """Collect garbage and empty the CUDA cache (when torch is loaded and has CUDA)."""
    gc.collect()
    torch = __import__("sys").modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001 - freeing memory must never fail a run
            pass


@contextlib.contextmanager
def loaded_model(load: Callable[[], T]) -> Iterator[T]:
    """Load a heavy model for the duration of a ``with`` block, one at a time per process.

    ``load()`` runs while holding a process-wide lock (other threads wait rather than
    load a second model); on exit the model is dropped and memory released
    (:func:`release_memory`). Do not keep references to the model after the block.
    """
    with HEAVY_MODEL_LOCK:
        holder = [load()]
        try:
            yield holder[0]
        finally:
            holder.clear()
            release_memory()


def load_torch_checkpoint(path: str | os.PathLike[str]) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)`` with failures turned
    into :class:`ModelFileError` naming the file (corrupted, truncated, not a checkpoint,
    or containing pickled code that weights-only loading refuses)."""
    import torch

    p = Path(path)
    if not p.is_file():
        raise MissingModelError(f"checkpoint {p} does not exist")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every load failure is the file's fault
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise ModelFileError(
            f"cannot load checkpoint {p}: it is corrupted, truncated or not a plain PyTorch "
            f"weights file ({type(exc).__name__}: {detail})"
        ) from None


#: how many offending keys a state-dict mismatch names
_SHOW_KEYS = 5


def check_state_dict(
    module: Any, state: Mapping[str, Any], path: str | os.PathLike[str], what: str
) -> None:
    """Raise :class:`ModelFileError` unless ``state`` has exactly ``module``'s keys and
    shapes; the message names the file and the first offending keys."""
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    shapes = [
        f"{k}: checkpoint {got[k]}, model {expected[k]}"
        for k in expected
        if k in got and got[k] != expected[k]
    ]
    if not (missing or unexpected or shapes):
        return
    parts = []
    for label, items in (
        ("missing keys", missing),
        ("unexpected keys", unexpected),
        ("shape mismatches", shapes),
    ):
        if items:
            more = f" (+{len(items) - _SHOW_KEYS} more)" if len(items) > _SHOW_KEYS else ""
            parts.append(f"{len(items)} {label}: {', '.join(items[:_SHOW_KEYS])}{more}")
    raise ModelFileError(
        f"checkpoint {path} is not a {what} checkpoint (wrong architecture): " + "; ".join(parts)
    )
