"""The DX7 engine: patch → float64 mix, reproducing the original renderer exactly.

What it computes: docs/renderer.md.

Everything that is per patch and cheap (frequencies, velocity/output-level scaling, the
operator graph) is plain Python/numpy here; the per-frame envelope and the per-sample FM
core are numba kernels in :mod:`fmbench_plugins.dx7._kernels`, imported on first use so that
``import fmbench`` never pays for numba.

Operator indices in this module are 0-based *operator numbers minus one* (0 = OP1), i.e.
the matrix convention; per-operator patch arrays are OP6-first and are read through
``slot = 5 − k`` (docs/patch-format.md#operator-order).

Sine modes (``sine=``): ``"exact"`` evaluates a chaotic feedback loop (feedback ≥ 5, until
its gain falls below :data:`CONTRACTING_LOOP_GAIN`) and its modulators with libm ``sin`` in
the reference's operation order; everything else, and all of ``"fast"``, uses the kernels'
own deterministic sines (see :mod:`fmbench_plugins.dx7._kernels`).

Fidelity modes:

- ``"reference"`` — the original renderer, int16-identical (last-ulp differences of ``sin``
  outside chaotic feedback loops stay far below one int16 step);
- ``"hardware"`` — follows the DX7/MSFA behaviour where the reference simplifies
  (docs/renderer.md#fidelity-modes): exponential fixed frequencies
  ``10^(coarse mod 4 + fine/100)`` Hz, a pitch-dependent detune (MSFA's documented
  approximation of the hardware: the shift in octaves per detune step is
  ``0.0209/7 · e^(−0.396·log2 f) · log2 f0`` with ``f`` the operator frequency and ``f0``
  the note frequency, i.e. ≈1.2 cents/step at middle C and less for higher partials), and
  the multi-operator feedback loops of algorithms 4 and 6 (the output of OP4, resp. OP5,
  feeds OP6). Everything else is shared with the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fmbench.patch.model import Patch
from fmbench_plugins.dx7 import ENGINE_VERSION  # noqa: F401  (re-exported; defined once)

FIDELITIES = ("reference", "hardware")

#: sine evaluation modes (see the module docstring)
SINES = ("exact", "fast")

#: a feedback loop counts as contracting (last-ulp sine differences decay instead of
#: growing) from the frame on which ``2·c·g`` stays ≤ this for the rest of the render, with
#: ``c = 2π·2^−(9−fb)`` and ``g`` the feedback operator's gain: the linearised loop gain,
#: so a perturbation is at most doubled
CONTRACTING_LOOP_GAIN = 0.5

VELOCITY_TABLE = (
    0, 70, 86, 97, 106, 114, 121, 126, 132, 138, 142, 148, 152, 156, 160, 163,
    166, 170, 173, 174, 178, 181, 184, 186, 189, 190, 194, 196, 198, 200, 202, 205,
    206, 209, 211, 214, 216, 218, 220, 222, 224, 225, 227, 229, 230, 232, 233, 235,
    237, 238, 240, 241, 242, 243, 244, 246, 246, 248, 249, 250, 251, 252, 253, 254,
)  # fmt: skip

_LEVEL_LUT = (0, 5, 9, 13, 17, 20, 23, 25, 27, 29, 31, 33, 35, 37, 39, 41, 42, 43, 45, 46)

#: samples per block of the fast kernel (fits the working set in L1/L2)
BLOCK = 256


def scale_output_level(x: int) -> int:
    """``S(x)``: the MSFA output-level curve (0..99 → 0..127)."""
    return x + 28 if x >= 20 else _LEVEL_LUT[x]


def velocity_offset(velocity: int, sensitivity: int) -> int:
    """``VEL(v, s)``: the velocity offset in EG units (+16 at v=100 for any s ≥ 1)."""
    v = VELOCITY_TABLE[max(0, min(127, int(velocity))) >> 1] - 239
    return ((sensitivity * v + 7) >> 3) << 4


def operator_out_level(ol: int, velocity: int, sensitivity: int) -> int:
    """Operator base level ``OUT = max(0, 32·S(ol) + VEL)``."""
    return max(0, (scale_output_level(ol) << 5) + velocity_offset(velocity, sensitivity))


def note_frequency(note: int) -> float:
    """``440·2^((note − 69)/12)`` Hz, computed exactly as the reference does (numpy)."""
    return float((440 * 2 ** ((np.array([note], dtype=np.float64) - 69) / 12))[0])


def frequencies(patch: Patch, fidelity: str = "reference", note: int = 60) -> np.ndarray:
    """Per-operator values OP1..OP6: the multiplier of f0 (ratio mode) or Hz (fixed mode).

    Reference mode evaluates the formulas of docs/renderer.md#operator-frequencies in the
    original operation order (``note`` is unused); hardware mode needs ``note`` for the
    pitch-dependent detune.
    """
    coarse = np.array(patch.coarse[::-1], dtype=np.float64)
    fine = np.array(patch.fine[::-1], dtype=np.float64)
    detune = np.array(patch.detune[::-1], dtype=np.float64)
    fixed = np.array(patch.fixed_freq[::-1], dtype=bool)
    if fidelity == "reference":
        ratio = np.where(coarse == 0, 0.5, coarse)
        ratio = ratio * (1.0 + fine / 100.0)
        ratio = ratio * 2.0 ** (detune / 1200.0)
        ratio = 2 ** (np.int64(patch.transpose) / 12) * ratio
        fixed_hz = 10.0 ** (coarse % 4) * (1.0 + 0.08861 * fine)
        return np.where(fixed, fixed_hz, ratio)
    if fidelity != "hardware":
        raise ValueError(f"unknown fidelity {fidelity!r}; choose one of {FIDELITIES}")
    f0 = note_frequency(note)
    ratio = np.where(coarse == 0, 0.5, coarse) * (1.0 + fine / 100.0)
    ratio = ratio * 2.0 ** (patch.transpose / 12.0)
    # MSFA-style detune: shift in octaves depends on the operator's own frequency
    f_op = np.maximum(f0 * ratio, 1e-3)
    octaves = detune * (0.0209 / 7.0) * np.exp(-0.396 * np.log2(f_op)) * math.log2(f0)
    ratio = ratio * 2.0**octaves
    fixed_hz = 10.0 ** ((coarse % 4) + fine / 100.0)
    return np.where(fixed, fixed_hz, ratio)


@dataclass(frozen=True)
class Voice:
    """Everything about a patch that the kernels need, independent of note and velocity."""

    modmatrix: np.ndarray  # (6, 6) int64, OP1-first, diagonal cleared
    outmatrix: np.ndarray  # (6,) float64
    fr: np.ndarray  # (6,) ratio (× f0) or fixed Hz, OP1..OP6
    fixed: np.ndarray  # (6,) bool
    rates: np.ndarray  # (6, 4) int64, OP1..OP6 rows
    levels: np.ndarray  # (6, 4) int64
    ol: tuple[int, ...]  # OP1..OP6
    sensitivity: tuple[int, ...]  # OP1..OP6
    fb_src: int  # operator index whose output is fed back, −1 = none
    fb_dst: int  # operator index whose phase receives it
    fb_c: float  # 2π·2^−(9−fb)
    active: np.ndarray  # operators that reach the output, visit order (descending)
    carriers: np.ndarray  # carrier indices ascending
    n_carriers: int
    fast: bool  # True if the block kernel applies
    libm: np.ndarray  # (6,) bool: feedback op and its upstream closure (exact libm sin)
    mod_ptr: np.ndarray  # CSR lists of each operator's modulators (descending), block kernel
    mod_src: np.ndarray


def prepare(patch: Patch, fidelity: str = "reference", note: int = 60) -> Voice:
    """Translate a patch into kernel inputs (operator-number order, OP1 first).

    ``note`` matters only in hardware mode (pitch-dependent detune).
    """
    if fidelity not in FIDELITIES:
        raise ValueError(f"unknown fidelity {fidelity!r}; choose one of {FIDELITIES}")
    mm = np.array(patch.modmatrix, dtype=np.int64)
    out = np.array(patch.outmatrix, dtype=np.float64)
    diag = [k for k in range(6) if mm[k, k] == 1]
    fb = int(patch.feedback)
    fb_src = fb_dst = -1
    if fb > 0 and diag:
        fb_src = fb_dst = diag[0]
        if fidelity == "hardware":
            alg = patch.algorithm
            if alg == 4:
                fb_src, fb_dst = 3, 5  # OP4 → OP6
            elif alg == 6:
                fb_src, fb_dst = 4, 5  # OP5 → OP6
    for k in diag:
        mm[k, k] = 0
    fr = frequencies(patch, fidelity, note)
    fixed = np.array(patch.fixed_freq[::-1], dtype=bool)
    rates = np.array([[patch.eg_rate[r][5 - k] for r in range(4)] for k in range(6)], np.int64)
    levels = np.array([[patch.eg_level[r][5 - k] for r in range(4)] for k in range(6)], np.int64)
    carriers = np.array([k for k in range(6) if out[k] != 0], dtype=np.int64)
    # upstream closure of the carriers (+ the feedback loop): the only operators that matter
    needed = set(carriers.tolist())
    stack = list(needed)
    while stack:
        c = stack.pop()
        srcs = [m for m in range(6) if mm[c, m] == 1]
        if c == fb_dst and fb_src >= 0:
            srcs.append(fb_src)
        for m in srcs:
            if m not in needed:
                needed.add(m)
                stack.append(m)
    # libm sin where feedback can be chaotic: the linearised loop gain 2·c·g_max with
    # c = 2π·2^−(9−fb) and g_max ≈ 2.09 is < 1 (errors decay) only for fb ≤ 4
    libm = np.zeros(6, dtype=np.bool_)
    if fb_dst >= 0 and fb >= 5:
        stack = [fb_dst]
        while stack:
            c = stack.pop()
            if not libm[c]:
                libm[c] = True
                stack.extend(m for m in range(6) if mm[c, m] == 1)
    back_edge = any(mm[c, m] == 1 and m < c for c in range(6) for m in range(6))
    fast = not back_edge and fb_src == fb_dst
    ptr = [0]
    src: list[int] = []
    for k in range(6):
        src.extend(m for m in range(5, -1, -1) if mm[k, m] == 1)
        ptr.append(len(src))
    return Voice(
        modmatrix=mm,
        outmatrix=out,
        fr=fr,
        fixed=fixed,
        rates=rates,
        levels=levels,
        ol=tuple(patch.ol[::-1]),
        sensitivity=tuple(patch.sensitivity[::-1]),
        fb_src=fb_src,
        fb_dst=fb_dst,
        fb_c=(2 * np.pi) / 2.0 ** (9 - fb) if fb_src >= 0 else 0.0,
        active=np.array(sorted(needed, reverse=True), dtype=np.int64),
        carriers=carriers,
        n_carriers=max(1, int(out.sum())),
        fast=fast,
        libm=libm,
        mod_ptr=np.array(ptr, dtype=np.int64),
        mod_src=np.array(src, dtype=np.int64),
    )


def frame_gains(
    voice: Voice, velocity: int, frames_on: int, frames_off: int
) -> tuple[np.ndarray, np.ndarray]:
    """(levels λ int64, linear gains float64), both (6, frames_on + frames_off)."""
    from fmbench_plugins.dx7 import _kernels as K

    outlevel = np.array(
        [operator_out_level(voice.ol[k], velocity, voice.sensitivity[k]) for k in range(6)],
        dtype=np.int64,
    )
    lam = K.eg_levels(voice.rates, voice.levels, outlevel, frames_on, frames_off)
    return lam, K.eg_gains(lam)


def phase_increments(voice: Voice, note: int, sample_rate: int, fidelity: str) -> np.ndarray:
    """Per-sample phase steps, evaluated in the reference's operation order."""
    f0 = note_frequency(note)
    tstep = 1.0 / sample_rate
    inc = np.empty(6)
    for k in range(6):
        if voice.fixed[k]:
            inc[k] = tstep * 2 * np.pi * float(voice.fr[k])
        else:
            inc[k] = tstep * 2 * np.pi * f0 * float(voice.fr[k])
    return inc


def exact_until(voice: Voice, gains: np.ndarray, n_samples: int, step: float) -> int:
    """First sample from which the chaotic feedback loop of ``voice`` is contracting.

    Before it the exact mode evaluates the loop (and its modulators) with libm ``sin`` in the
    reference's operation order; from it on the gain of the feedback operator stays so low
    (``2·c·g ≤`` :data:`CONTRACTING_LOOP_GAIN` for every later frame, hence for every
    interpolated sample) that sine differences of a few ulp stay a few ulp and the fast
    short-latency sine is used. 0 for voices without a chaotic loop, ``n_samples`` when it
    never becomes contracting.
    """
    if not voice.libm.any():
        return 0
    g = gains[voice.fb_dst]
    tail_max = np.maximum.accumulate(g[::-1])[::-1]
    ok = 2.0 * voice.fb_c * tail_max <= CONTRACTING_LOOP_GAIN
    if not ok[-1]:
        return n_samples
    first = int(np.argmax(ok))  # ok is monotone: False … False True … True
    if first == 0:
        return 0
    # the first sample whose interpolation interval starts at frame ≥ first
    t = min(n_samples - 1, int(math.ceil(first / step)))
    while t > 0 and int(float(t - 1) * step) >= first:
        t -= 1
    while t < n_samples - 1 and int(float(t) * step) < first:
        t += 1
    return t


_KINDS = {np.dtype(np.float64): 0, np.dtype(np.int16): 1, np.dtype(np.float32): 2}


def render_segment(
    voice: Voice,
    *,
    note: int,
    velocity: int,
    sample_rate: int,
    frames_on: int,
    frames_off: int,
    block_size: int,
    fidelity: str = "reference",
    sine: str = "exact",
    out: np.ndarray | None = None,
    offset: int = 0,
) -> np.ndarray:
    """One key-down/key-up segment → ``out[offset:offset + n]`` (allocated when ``None``).

    ``out``'s dtype selects the output: float64 = the normalised mix before quantisation,
    int16 = the reference's ``trunc(x·32767)``, float32 = that int16 / 32768 (what
    :meth:`fmbench.audio.Audio.from_int16` stores). Returns ``out``.
    """
    from fmbench_plugins.dx7 import _kernels as K

    if sine not in SINES:
        raise ValueError(f"unknown sine mode {sine!r}; choose one of {SINES}")
    n_frames = frames_on + frames_off
    n = block_size * n_frames
    if out is None:
        out = np.empty(n, dtype=np.float64)
        offset = 0
    kind = _KINDS[out.dtype]
    _, gains = frame_gains(voice, velocity, frames_on, frames_off)
    inc = phase_increments(voice, note, sample_rate, fidelity)
    step = float(n_frames - 1) / float(n - 1)
    denom = 4.0 * voice.n_carriers
    if voice.fast:
        exact = sine == "exact"
        libm = voice.libm if exact else np.zeros(6, dtype=np.bool_)
        n_bad = K.render_fast(
            voice.active,
            voice.mod_ptr,
            voice.mod_src,
            inc,
            gains,
            voice.fb_dst,
            voice.fb_c,
            voice.carriers,
            libm,
            exact_until(voice, gains, n, step) if exact else 0,
            n,
            step,
            BLOCK,
            denom,
            out,
            offset,
            kind,
        )
    else:
        mix = K.render_general(
            voice.modmatrix,
            inc,
            gains,
            voice.fb_src,
            voice.fb_dst,
            voice.fb_c,
            voice.outmatrix,
            n,
            step,
            sine == "fast",
        )
        x = mix / denom
        n_bad = int(np.count_nonzero(~np.isfinite(x)))
        if kind == 0:
            out[offset : offset + n] = x
        else:
            q = (x * 32767).astype(np.int16)
            out[offset : offset + n] = q if kind == 1 else q.astype(np.float32) / 32768.0
    if n_bad:  # pragma: no cover - guarded by construction
        raise FloatingPointError(f"dx7 engine produced {n_bad} non-finite samples")
    return out
