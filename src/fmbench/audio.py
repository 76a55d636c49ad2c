"""The Audio value object, audio file I/O and resampling (the one place that resamples)."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fmbench.errors import FmbenchError


@dataclass(frozen=True, eq=False)
class Audio:
    """Mono float32 samples (nominally in [-1, 1]) at ``sample_rate`` Hz.

    Immutable: the sample array is made read-only. ``content_hash`` identifies the
    audio in caches (the samples' bytes plus the rate).
    """

    samples: np.ndarray
    sample_rate: int
    _hash: list[str] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        x = np.asarray(self.samples)
        if x.ndim == 2:  # (channels, n) or (n, channels): average to mono
            x = x.mean(axis=0 if x.shape[0] < x.shape[1] else 1)
        if x.ndim != 1:
            raise ValueError(
                f"audio must be 1-D (mono) or 2-D (multi-channel), got shape {x.shape}"
            )
        if np.issubdtype(x.dtype, np.integer):
            info = np.iinfo(x.dtype)
            x = x.astype(np.float32) / float(-info.min)
        x = np.ascontiguousarray(x, dtype=np.float32)
        x.setflags(write=False)
        if int(self.sample_rate) <= 0:
            raise ValueError(f"sample rate must be positive, got {self.sample_rate}")
        object.__setattr__(self, "samples", x)
        object.__setattr__(self, "sample_rate", int(self.sample_rate))

    @classmethod
    def from_int16(cls, samples: np.ndarray, sample_rate: int) -> Audio:
        """From int16 PCM, scaled by 1/32768 (the WAV convention)."""
        return cls(np.asarray(samples, dtype=np.int16), sample_rate)

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Audio) and self.content_hash == other.content_hash

    def __hash__(self) -> int:
        return hash(self.content_hash)

    @property
    def duration(self) -> float:
        return len(self) / self.sample_rate

    @property
    def content_hash(self) -> str:
        if not self._hash:
            h = hashlib.sha256()
            h.update(str(self.sample_rate).encode())
            h.update(self.samples.tobytes())
            self._hash.append(h.hexdigest())
        return self._hash[0]

    @property
    def peak(self) -> float:
        return float(np.max(np.abs(self.samples))) if len(self) else 0.0

    @property
    def rms(self) -> float:
        return (
            float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64)))) if len(self) else 0.0
        )

    def to_int16(self) -> np.ndarray:
        """int16 PCM by the WAV convention ``round(x * 32768)`` (clipped); exact inverse of
        :meth:`from_int16`, so int16 renders survive a write/read round trip bit for bit."""
        y = np.rint(self.samples.astype(np.float64) * 32768.0)
        return np.clip(y, -32768, 32767).astype(np.int16)

    def resample(self, sample_rate: int, quality: str = "VHQ") -> Audio:
        """This audio at another rate (soxr; the only resampler in fmbench)."""
        if sample_rate == self.sample_rate:
            return self
        import soxr

        y = soxr.resample(self.samples, self.sample_rate, sample_rate, quality=quality)
        return Audio(np.asarray(y, dtype=np.float32), sample_rate)

    def pad_or_trim(self, n: int) -> Audio:
        """Exactly ``n`` samples: zero-padded at the end or cut."""
        x = self.samples[:n]
        if len(x) < n:
            x = np.concatenate([x, np.zeros(n - len(x), dtype=np.float32)])
        return Audio(x, self.sample_rate)


#: how many decoded :class:`StoredAudio` arrays each process keeps (the most recent reads)
STORED_AUDIO_MEMORY = 8
_recent: OrderedDict[str, np.ndarray] = OrderedDict()
_recent_lock = threading.Lock()


class StoredAudio(Audio):
    """Audio whose samples stay on disk until they are read.

    It holds only its rate, length, ``content_hash`` and a CRC-32 of the samples; every
    read of ``samples`` loads them through ``load`` (a render-cache entry, an audio file)
    and checks them against the CRC (a changed file is an error, never other audio), and
    each process keeps the last :data:`STORED_AUDIO_MEMORY` reads. A run of any size
    therefore holds no audio per item, and metrics see ordinary :class:`Audio`. Only
    audio that passed :func:`audio_problem` is stored. ``load`` must be picklable to
    cross process boundaries and return what :class:`Audio` accepts (float or int16
    samples) at ``sample_rate``.
    """

    def __init__(
        self,
        load: Callable[[], np.ndarray],
        sample_rate: int,
        length: int,
        content_hash: str,
        crc: int,
        peak: float | None = None,
    ) -> None:
        object.__setattr__(self, "_load", load)
        object.__setattr__(self, "sample_rate", int(sample_rate))
        object.__setattr__(self, "_length", int(length))
        object.__setattr__(self, "_hash", [content_hash])
        object.__setattr__(self, "_crc", int(crc))
        object.__setattr__(self, "_peak", peak)

    @classmethod
    def of(cls, audio: Audio, load: Callable[[], np.ndarray]) -> StoredAudio:
        """A stored handle for ``audio`` (which must pass :func:`audio_problem`), whose
        samples ``load`` reproduces exactly."""
        problem = audio_problem(audio)
        if problem is not None:
            raise AudioFileError(f"cannot store unusable audio: {problem}")
        crc = zlib.crc32(audio.samples.data)
        # the peak is kept so that the inaudible rule needs no read
        return cls(load, audio.sample_rate, len(audio), audio.content_hash, crc, audio.peak)

    def description(self) -> np.ndarray:
        """What identifies and checks the stored samples (hash, length, CRC, peak) as
        bytes, for :meth:`described` to rebuild the handle without reading them."""
        head = bytes.fromhex(self._hash[0])
        tail = np.array([self._length, self._crc], dtype="<i8").tobytes()
        return np.frombuffer(head + tail + np.array([self.peak], "<f8").tobytes(), np.uint8)

    @classmethod
    def described(
        cls, load: Callable[[], np.ndarray], sample_rate: int, description: np.ndarray
    ) -> StoredAudio | None:
        """The handle :meth:`description` describes (None if it is malformed)."""
        raw = np.asarray(description, dtype=np.uint8).tobytes()
        if len(raw) != 56:
            return None
        length, crc = np.frombuffer(raw[32:48], "<i8")
        peak = float(np.frombuffer(raw[48:], "<f8")[0])
        return cls(load, sample_rate, int(length), raw[:32].hex(), int(crc), peak)

    @property
    def peak(self) -> float:  # noqa: D102 - Audio.peak, remembered when stored
        if self._peak is None:
            object.__setattr__(self, "_peak", float(np.max(np.abs(self.samples), initial=0.0)))
        return self._peak

    @property  # type: ignore[override]
    def samples(self) -> np.ndarray:  # noqa: D102 - Audio.samples, loaded on demand
        key = self._hash[0]
        with _recent_lock:
            cached = _recent.get(key)
            if cached is not None:
                _recent.move_to_end(key)
                return cached
        audio = Audio(self._load(), self.sample_rate)
        if len(audio) != self._length or zlib.crc32(audio.samples.data) != self._crc:
            raise AudioFileError(
                "stored audio changed on disk while the run was reading it "
                f"({self._load!r}); run again (with --resume) to recompute it"
            )
        with _recent_lock:
            _recent[key] = audio.samples
            while len(_recent) > STORED_AUDIO_MEMORY:
                _recent.popitem(last=False)
        return audio.samples

    def __len__(self) -> int:
        return self._length

    def __repr__(self) -> str:
        return f"StoredAudio({self._load!r}, {self.sample_rate} Hz, {self._length} samples)"


#: The longest audio fmbench reads or renders, in seconds (a longer clip is refused with
#: an error instead of exhausting memory: an hour at 48 kHz takes gigabytes in float).
MAX_AUDIO_SECONDS = 600.0
#: The highest sample rate fmbench accepts for audio files.
MAX_SAMPLE_RATE = 384_000
#: The most channels an audio file may have (they are averaged to mono).
MAX_CHANNELS = 64


class AudioFileError(FmbenchError, ValueError):
    """An audio file fmbench refuses to read (not a regular file, too long, ...)."""


def write_audio(path: str | os.PathLike[str], audio: Audio, *, subtype: str = "PCM_16") -> Path:
    """Write a WAV/FLAC atomically (temporary name, then rename): no partial files survive.
    The file gets the usual permissions (``0o666`` less the umask)."""
    import soundfile as sf

    from fmbench.files import atomic_path

    path = Path(path)
    fmt = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
    data = audio.to_int16() if subtype == "PCM_16" else audio.samples
    with atomic_path(path) as tmp:
        sf.write(str(tmp), data, audio.sample_rate, format=fmt, subtype=subtype)
    return path


def check_audio_file(path: str | os.PathLike[str]) -> None:
    """Raise :class:`AudioFileError` unless ``path`` is a regular audio file within the
    limits (:data:`MAX_AUDIO_SECONDS`, :data:`MAX_SAMPLE_RATE`, :data:`MAX_CHANNELS`).

    Checked before any sample is read: a FIFO or device would block or never end, and an
    hour-long clip would take gigabytes of memory.
    """
    import soundfile as sf

    try:
        st = os.stat(path)
    except OSError as exc:
        raise AudioFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (FIFO, device?)"
        raise AudioFileError(f"{path}: {kind}; audio must be a regular file")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # noqa: BLE001 - soundfile raises several types
        raise AudioFileError(f"{path}: not a readable audio file ({exc})") from None
    if not 0 < info.samplerate <= MAX_SAMPLE_RATE:
        raise AudioFileError(
            f"{path}: sample rate {info.samplerate} Hz is outside 1..{MAX_SAMPLE_RATE} Hz"
        )
    if not 0 < info.channels <= MAX_CHANNELS:
        raise AudioFileError(f"{path}: {info.channels} channels (at most {MAX_CHANNELS})")
    seconds = info.frames / info.samplerate
    if seconds > MAX_AUDIO_SECONDS:
        raise AudioFileError(
            f"{path}: {seconds:.0f} s of audio is longer than fmbench's limit of "
            f"{MAX_AUDIO_SECONDS:.0f} s (see docs/leaderboard.md#limits); cut the clip first"
        )


def read_audio(path: str | os.PathLike[str]) -> Audio:
    """Read an audio file as mono float32 at its native rate.

    Refuses (:class:`AudioFileError`) what :func:`check_audio_file` refuses: FIFOs and
    other non-regular files, clips longer than :data:`MAX_AUDIO_SECONDS`.
    """
    import soundfile as sf

    check_audio_file(path)
    max_frames = int(MAX_AUDIO_SECONDS * MAX_SAMPLE_RATE)
    data, sr = sf.read(str(path), dtype="float32", always_2d=True, frames=max_frames)
    return Audio(data.mean(axis=1) if data.shape[1] > 1 else data[:, 0], sr)


@dataclass(frozen=True)
class AudioFileSamples:
    """Loads an audio file's samples (:func:`read_audio`): a :class:`StoredAudio` loader."""

    path: str

    def __call__(self) -> np.ndarray:
        return read_audio(self.path).samples


#: the inaudible rule's threshold: peak level in dBFS (the original work never defined one)
INAUDIBLE_PEAK_DBFS = -60.0


def is_inaudible(audio: Audio, threshold_dbfs: float = INAUDIBLE_PEAK_DBFS) -> bool:
    """The one ``inaudible`` rule of fmbench: the absolute peak is below ``threshold_dbfs``
    (default −60 dBFS, i.e. |x| < 0.001, about 33 int16 LSB) or the audio is empty.

    The original datasets carry an ``inaudible`` flag without saying how it was set;
    DX7 renders peak near −6 dBFS, so −60 dBFS means "effectively silent".
    """
    return len(audio) == 0 or audio.peak < 10.0 ** (threshold_dbfs / 20.0)


def audio_problem(audio: Audio | None) -> str | None:
    """Why ``audio`` cannot be analysed (None, empty, NaN/Inf samples), or None if it can.
    A :class:`StoredAudio` is answered without reading it: only audio that passed this
    check is stored, and every read is checked against what was stored."""
    if audio is None:
        return "no audio"
    if len(audio) == 0:
        return "empty audio"
    if isinstance(audio, StoredAudio):
        return None
    if not np.isfinite(audio.samples).all():
        return "audio contains NaN or infinite samples"
    return None
