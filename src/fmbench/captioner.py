"""A rule-based captioner: measured audio descriptors → a short English caption.

:func:`describe` measures, on the first (note, velocity) segment of a render whose key is
released at ``release_at`` seconds:

- ``loudness_db``: the highest 20 ms RMS level (dBFS);
- ``attack_s``: time from the onset (RMS first above −20 dB re peak) to 90 % of the peak;
- ``sustain_db``: RMS just before the key release relative to the peak (dB, ≤ 0);
- ``decay_s``: time from the peak until the RMS first falls 20 dB below it while the key is
  held (``inf`` if it never does);
- ``release_s``: time after key-up until the RMS falls 30 dB below its level at key-up
  (``nan`` when the sound had already died before key-up);
- ``centroid_hz``: magnitude-weighted spectral centroid over the first second after onset,
  20 Hz..16 kHz, of the bins within 60 dB of the strongest (brightness);
- ``f0_hz`` and ``periodicity``: YIN fundamental (25 Hz..4 kHz) on a 170 ms frame just after
  the attack, and 1 − its cumulative-mean-normalised difference (1 = perfectly periodic);
- ``inharmonicity``: twice the magnitude-weighted mean distance of the spectrum (1 s window,
  20 Hz..16 kHz, bins within 40 dB of the strongest) from the nearest harmonic of ``f0``, in
  units of ``f0`` and capped at 0.5 per bin (0 = harmonic; randomly placed partials ≈ 0.5).

:func:`caption_from` turns them into words with fixed thresholds (docs/default-benchmark.md
lists them), instrument type first, then timbre, then envelope — the order of the original work's
captions. Phrasing variants are chosen by a hash of a key (the patch content hash), so the
caption of an item is a pure function of its audio and key.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from fmbench.audio import Audio, is_inaudible

__all__ = [
    "Descriptors",
    "VoiceCaptioner",
    "caption_audio",
    "caption_from",
    "caption_voice",
    "describe",
]

_HOP_S = 0.01
_WIN_S = 0.02

#: spectral-centroid thresholds (Hz) between "dark", "warm", "bright" and "very bright"
DARK_HZ, BRIGHT_HZ, VERY_BRIGHT_HZ = 300.0, 600.0, 1200.0
#: inharmonicity thresholds between harmonic, "slightly metallic", "metallic", "clangorous"
HARMONIC_MAX, SLIGHTLY_MAX, METALLIC_MAX = 0.05, 0.12, 0.25
#: YIN's absolute threshold: the first period whose normalised difference is below it wins
#: (tolerant, so that weak subharmonic components do not pull the pitch down an octave)
_YIN_THRESHOLD = 0.3


@dataclass(frozen=True)
class Descriptors:
    """Measured properties of one render (see the module docstring for definitions)."""

    loudness_db: float
    attack_s: float
    sustain_db: float
    decay_s: float
    release_s: float
    centroid_hz: float
    f0_hz: float
    periodicity: float
    inharmonicity: float
    inaudible: bool = False

    def to_dict(self) -> dict[str, float | bool]:
        """A plain dict (for tables and debugging)."""
        return asdict(self)


def _rms_envelope(x: np.ndarray, sr: int) -> np.ndarray:
    hop = max(1, int(round(_HOP_S * sr)))
    win = max(hop, int(round(_WIN_S * sr)))
    n = max(0, (len(x) - win) // hop + 1)
    if n == 0:
        return np.zeros(1)
    sq = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    starts = np.arange(n) * hop
    return np.sqrt(np.maximum((sq[starts + win] - sq[starts]) / win, 0.0))


def _db(x: float) -> float:
    return 20.0 * math.log10(max(x, 1e-12))


def _yin(frame: np.ndarray, sr: int, fmin: float = 25.0, fmax: float = 4000.0):
    """(f0, periodicity) of one frame with the YIN difference function (FFT-based)."""
    n = len(frame)
    tmax = min(int(sr / fmin), n // 2)
    tmin = max(2, int(sr / fmax))
    x = frame.astype(np.float64)
    w = n - tmax
    size = 1 << int(math.ceil(math.log2(n + w)))
    fx = np.fft.rfft(x, size)
    fk = np.fft.rfft(x[:w][::-1], size)
    corr = np.fft.irfft(fx * fk, size)[w - 1 : w - 1 + tmax + 1]  # sum x[j] x[j+tau], j < w
    sq = np.concatenate([[0.0], np.cumsum(x**2)])
    e0 = sq[w]
    etau = sq[np.arange(tmax + 1) + w] - sq[np.arange(tmax + 1)]
    d = np.maximum(e0 + etau - 2.0 * corr, 0.0)
    d[0] = 0.0
    cum = np.cumsum(d[1:]) / np.arange(1, tmax + 1)
    cmnd = np.ones(tmax + 1)
    cmnd[1:] = np.where(cum > 0, d[1:] / np.maximum(cum, 1e-300), 1.0)
    region = cmnd[tmin : tmax + 1]
    below = np.nonzero(region < _YIN_THRESHOLD)[0]
    if below.size:
        i = int(below[0])
        while i + 1 < region.size and region[i + 1] < region[i]:
            i += 1
    else:
        i = int(np.argmin(region))
    tau = i + tmin
    if 1 <= tau < tmax:  # parabolic interpolation
        a, b, c = cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]
        den = a - 2 * b + c
        shift = 0.5 * (a - c) / den if den > 0 else 0.0
    else:
        shift = 0.0
    return sr / (tau + shift), float(max(0.0, 1.0 - cmnd[tau]))


def describe(audio: Audio, release_at: float = 6.4, segment_s: float | None = None) -> Descriptors:
    """Measure the descriptors of ``audio`` (key released at ``release_at`` seconds).

    ``segment_s`` limits the analysis to the first segment of a multi-note render.
    """
    sr = audio.sample_rate
    x = audio.samples.astype(np.float64)
    if segment_s is not None:
        x = x[: int(round(segment_s * sr))]
    nan = math.nan
    if is_inaudible(Audio(x.astype(np.float32), sr)):
        return Descriptors(-math.inf, nan, nan, nan, nan, nan, nan, 0.0, nan, inaudible=True)
    env = _rms_envelope(x, sr)
    peak_i = int(np.argmax(env))
    peak = float(env[peak_i])
    onset_i = int(np.nonzero(env >= peak * 0.1)[0][0])
    a90_i = int(np.nonzero(env >= peak * 0.9)[0][0])
    attack = (a90_i - onset_i) * _HOP_S
    rel_i = min(int(round(release_at / _HOP_S)), len(env))
    before = env[max(0, rel_i - 30) : rel_i] if rel_i > 0 else env[:1]
    level_at_release = float(before.mean()) if before.size else 0.0
    sustain_db = max(_db(level_at_release) - _db(peak), -120.0)
    held = env[peak_i:rel_i]
    below = np.nonzero(held < peak * 0.1)[0]
    decay = float(below[0] * _HOP_S) if below.size else math.inf
    if sustain_db < -40.0 or rel_i >= len(env):
        release = nan
    else:
        after = env[rel_i:]
        gone = np.nonzero(after < level_at_release * 10 ** (-30 / 20))[0]
        release = float(gone[0] * _HOP_S) if gone.size else float(len(after) * _HOP_S)

    hop = int(round(_HOP_S * sr))
    start = onset_i * hop
    seg = x[start : start + sr]
    if len(seg) < sr:
        seg = np.concatenate([seg, np.zeros(sr - len(seg))])
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    freqs = np.fft.rfftfreq(len(seg), 1.0 / sr)
    band = (freqs >= 20.0) & (freqs <= 16000.0)
    mag, fb = spec[band], freqs[band]
    if mag.size and mag.max() > 0:
        loud = mag >= mag.max() * 1e-3  # within 60 dB of the strongest bin: no noise floor
        centroid = float((mag[loud] * fb[loud]).sum() / mag[loud].sum())
    else:
        centroid = nan

    fstart = max(start, a90_i * hop)
    frame = x[fstart : fstart + int(0.17 * sr)]
    if len(frame) < int(0.17 * sr):
        frame = x[start : start + int(0.17 * sr)]
    f0, periodicity = _yin(frame, sr) if len(frame) >= int(0.17 * sr) else (nan, 0.0)
    power = mag**2
    if math.isfinite(f0) and power.sum() > 0:
        strong = power >= power.max() * 1e-4  # within 40 dB of the strongest bin
        fs, ps = fb[strong], mag[strong]
        k = np.maximum(np.rint(fs / f0), 1.0)
        dev = np.minimum(np.abs(fs - k * f0) / f0, 0.5)
        inharm = float(2.0 * (dev * ps).sum() / ps.sum())
    else:
        inharm = nan
    return Descriptors(
        loudness_db=round(_db(peak), 6),
        attack_s=round(attack, 6),
        sustain_db=round(sustain_db, 6),
        decay_s=decay,
        release_s=release,
        centroid_hz=round(centroid, 3),
        f0_hz=round(f0, 3),
        periodicity=round(periodicity, 6),
        inharmonicity=round(inharm, 6),
    )


# -- words ------------------------------------------------------------------------------
def _variant(key: str, slot: str, options: tuple[str, ...]) -> str:
    h = hashlib.sha256(f"{key}:{slot}".encode()).digest()
    return options[h[0] % len(options)]


def register_word(f0: float) -> str:
    """Register from the fundamental: below 100 Hz "very low" … above 800 Hz "very high"."""
    if not math.isfinite(f0):
        return "indistinct"
    for limit, word in ((100, "very low"), (200, "low"), (400, "middle"), (800, "high")):
        if f0 < limit:
            return word
    return "very high"


def brightness_word(centroid: float, f0: float, inharm: float = 0.0) -> str:
    """Timbre brightness from the spectral centroid (pure when close to the fundamental)."""
    if math.isfinite(f0) and centroid < 1.4 * f0 and inharm < HARMONIC_MAX:
        return "pure"
    for limit, word in ((DARK_HZ, "dark"), (BRIGHT_HZ, "warm"), (VERY_BRIGHT_HZ, "bright")):
        if centroid < limit:
            return word
    return "very bright"


def harmonicity_word(inharm: float, periodicity: float) -> str | None:
    """None for harmonic sounds; else "slightly metallic", "metallic" or "clangorous"."""
    if not math.isfinite(inharm) or periodicity < 0.3:
        return "noisy"
    if inharm < HARMONIC_MAX:
        return None
    if inharm < SLIGHTLY_MAX:
        return "slightly metallic"
    if inharm < METALLIC_MAX:
        return "metallic"
    return "clangorous"


def attack_word(attack: float) -> str:
    """< 10 ms percussive, < 60 ms fast, < 300 ms soft, < 1 s slow, else very slow."""
    for limit, word in ((0.01, "percussive"), (0.06, "fast"), (0.3, "soft"), (1.0, "slow")):
        if attack < limit:
            return word
    return "very slow"


def instrument(d: Descriptors) -> str:
    """An instrument-like label from the descriptors alone (never from the patch)."""
    harm = harmonicity_word(d.inharmonicity, d.periodicity)
    metallic = harm in {"metallic", "clangorous", "noisy"}
    low = d.f0_hz < 200 if math.isfinite(d.f0_hz) else False
    bright = brightness_word(d.centroid_hz, d.f0_hz, d.inharmonicity) in {"bright", "very bright"}
    if d.attack_s >= 0.3:
        return "swelling pad" if d.attack_s >= 1.0 else "pad"
    if d.attack_s < 0.06 and d.sustain_db < -12:  # struck or plucked: decays while held
        if metallic:
            return "metallic percussion" if low else "bell"
        if low:
            return "plucked bass"
        if d.sustain_db < -30 and d.decay_s < 0.5:
            return "pluck"
        return "electric piano" if not bright else "bright keyboard"
    if d.attack_s >= 0.06:
        return "brass-like synth" if bright else "soft synth"
    if low:
        return "bass"
    if metallic:
        return "metallic synth"
    abrupt = math.isfinite(d.release_s) and d.release_s < 0.15
    if d.sustain_db > -6 and (
        brightness_word(d.centroid_hz, d.f0_hz, d.inharmonicity) == "pure" or abrupt
    ):
        return "organ"
    return "lead synth" if bright else "synth keyboard"


def envelope_phrase(d: Descriptors, key: str) -> str:
    """Attack, then decay/sustain, then release, as one phrase."""
    parts = [f"a {attack_word(d.attack_s)} attack"]
    if d.sustain_db > -3:
        parts.append(_variant(key, "sus", ("a steady sustain", "a constant level while held")))
    elif d.sustain_db > -12:
        parts.append("a gently fading sustain")
    elif d.sustain_db > -30:
        parts.append("a decay to a quiet sustain")
    elif d.decay_s < 0.5:
        parts.append(_variant(key, "dec", ("a short decay", "a quick decay")))
    elif d.decay_s < 2.0:
        parts.append("a medium decay")
    else:
        parts.append(_variant(key, "ring", ("a long ringing decay", "a long decay")))
    if math.isfinite(d.release_s):
        if d.release_s < 0.15:
            parts.append("an abrupt release")
        elif d.release_s < 0.8:
            parts.append("a short release")
        else:
            parts.append(_variant(key, "rel", ("a long release tail", "a lingering release")))
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def caption_from(d: Descriptors, key: str = "") -> str:
    """The caption for measured descriptors; ``key`` picks phrasing variants."""
    if d.inaudible:
        return "Silence: an inaudible patch."
    label = instrument(d)
    timbre = [brightness_word(d.centroid_hz, d.f0_hz, d.inharmonicity)]
    harm = harmonicity_word(d.inharmonicity, d.periodicity)
    if harm:
        timbre.append(harm)
    if d.loudness_db < -40:
        timbre.insert(0, "very quiet")
    elif d.loudness_db < -28:
        timbre.insert(0, "quiet")
    reg = register_word(d.f0_hz)
    where = "with no clear pitch" if reg == "indistinct" else f"in the {reg} register"
    article = "An" if label[0] in "aeiou" else "A"
    tone = _variant(key, "tone", ("tone", "sound"))
    return f"{article} {label}: {', '.join(timbre)} {tone} {where}, with {envelope_phrase(d, key)}."


#: a captioner for named voices: ``(descriptors, voice name, key) -> caption``; the built-in
#: one is :func:`caption_voice`, an LLM-backed one can be passed to
#: :func:`fmbench.corpus.build_corpus_benchmark` (docs/default-benchmark.md, "Captions")
VoiceCaptioner = Callable[[Descriptors, str, str], str]


def caption_voice(d: Descriptors, name: str = "", key: str = "") -> str:
    """The caption of a real voice: the instrument its *name* states, the rest measured.

    The instrument word comes from :func:`fmbench.voicenames.classify_name` ("E.PIANO 1"
    is an electric piano, "TROMBONE" a trombone); the measured descriptors give register,
    brightness, texture and envelope and never replace a named instrument (an organ whose
    f0 is low is "an organ … in the low register", not a bass); a noisy sound (periodicity
    below 0.3) has "no clear pitch" instead of a register. A name that states no instrument
    gives ``"A sound: …"``: the caption describes measurements only. Template::

        <A|An> <instrument|sound>: <timbre words> tone in the <register> register, with
        <attack>, <decay/sustain> and <release>.

    (plural instruments take no article: "Strings: …", "Tubular bells: …").
    """
    from fmbench.voicenames import classify_name

    if d.inaudible:
        return "Silence: an inaudible patch."
    named = classify_name(name)
    label = named.label if named is not None else "sound"
    timbre = [brightness_word(d.centroid_hz, d.f0_hz, d.inharmonicity)]
    harm = harmonicity_word(d.inharmonicity, d.periodicity)
    if harm:
        timbre.append(harm)
    if d.loudness_db < -40:
        timbre.insert(0, "very quiet")
    elif d.loudness_db < -28:
        timbre.insert(0, "quiet")
    reg = register_word(d.f0_hz) if harm != "noisy" else "indistinct"
    where = "with no clear pitch" if reg == "indistinct" else f"in the {reg} register"
    if label.endswith("s") and not label.endswith("ss"):  # plural: "Strings: …"
        head = label[0].upper() + label[1:]
    else:
        head = f"{'An' if label[0].lower() in 'aeiou' else 'A'} {label}"
    return f"{head}: {', '.join(timbre)} tone {where}, with {envelope_phrase(d, key)}."


def caption_audio(audio: Audio, key: str = "", release_at: float = 6.4) -> str:
    """Describe and caption one render."""
    return caption_from(describe(audio, release_at=release_at), key)
