"""numba kernels of the DX7 engine (imported lazily: importing this module compiles/loads them).

Three kernels:

- :func:`eg_gains` — the integer envelope generator of spec §2.4, one value per control frame,
  turned into linear gains ``2^(λ/2^24 − 14)``;
- :func:`render_fast` — the FM core of spec §2.6 for topologies whose modulators are all
  higher-numbered than the operators they modulate (every DX7 algorithm). It works block by
  block: phases are accumulated sequentially (bit-identical to the reference's running sum
  with wrap), gains are interpolated exactly like ``numpy.interp``, operators without
  feedback are evaluated as vectorisable loops and only a feedback operator needs a
  per-sample recurrence;
- :func:`render_general` — a direct per-sample transcription of spec §2.6 for any matrix
  (lower-numbered modulators resolved by visit order) and for the hardware feedback loops of
  algorithms 4 and 6 (feedback source ≠ destination). It is the oracle the fast kernel is
  tested against.

The fast kernel uses :func:`sin_`, a branch-free float64 sine (Cody–Waite reduction by π/2
and the classic fdlibm-style minimax polynomials on [−π/4, π/4], ≈1 ulp) that LLVM can
vectorise — the reference's libm ``sin`` is scalar and far slower — for operators outside
any feedback loop, where a last-ulp difference stays far below one int16 step. The feedback
operator and its modulators use libm ``sin`` like the reference (see ``libm``). The general
kernel uses libm throughout.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

TWO_PI = 2.0 * np.pi

# Cody–Waite split of π/2 (33 + 33 + 53 bits) and 2/π
_INV_PIO2 = 6.36619772367581382433e-01
_PIO2_1 = 1.57079632673412561417e00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_3 = 2.02226624871116645580e-21
# minimax coefficients of sin(r) = r + r³·S(r²) and cos(r) on |r| ≤ π/4
_S1 = -1.66666666666666324348e-01
_S2 = 8.33333333332248946124e-03
_S3 = -1.98412698298579493134e-04
_S4 = 2.75573137070700676789e-06
_S5 = -2.50507602534068634195e-08
_S6 = 1.58969099521155010221e-10
_C1 = 4.16666666666666019037e-02
_C2 = -1.38888888888741095749e-03
_C3 = 2.48015872894767294178e-05
_C4 = -2.75573143513906633035e-07
_C5 = 2.08757232129817482790e-09
_C6 = -1.13596475577881948265e-11

_Q24 = 16777216.0


@njit(cache=True, inline="always")
def sin_(x):
    """sin(x) for |x| < 2^19·π/2, branch-free (vectorisable), ≈1 ulp."""
    k = np.floor(x * _INV_PIO2 + 0.5)
    r = x - k * _PIO2_1
    r = r - k * _PIO2_2
    r = r - k * _PIO2_3
    z = r * r
    w = z * z
    # sin kernel
    ps = _S2 + z * (_S3 + z * _S4) + z * w * (_S5 + z * _S6)
    s = r + (z * r) * (_S1 + z * ps)
    # cos kernel (1 − z/2 evaluated with a correction term, as in fdlibm)
    pc = z * (_C1 + z * _C2 + w * _C3 + z * w * (_C4 + z * _C5 + w * _C6))
    hz = 0.5 * z
    c1 = 1.0 - hz
    c = c1 + (((1.0 - c1) - hz) + z * pc)
    q = k - 4.0 * np.floor(k * 0.25)  # quadrant 0..3
    v = s if (q == 0.0 or q == 2.0) else c
    return -v if q >= 2.0 else v


@njit(cache=True)
def sin_array(x):
    """:func:`sin_` over an array (for tests and diagnostics)."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = sin_(x[i])
    return out


@njit(cache=True)
def eg_levels(rates, levels, outlevel, frames_on, frames_off):
    """Integer EG levels λ (Q24 log2 units) per frame for 6 operators (spec §2.4).

    ``rates``/``levels``: int64 (6, 4) per operator (OP1..OP6 rows), ``outlevel``: int64 (6,)
    (``max(0, 32·S(ol) + VEL)``). Key-up happens right after frame ``frames_on``.
    """
    n = frames_on + frames_off
    out = np.zeros((6, n), dtype=np.int64)
    for k in range(6):
        level = 0
        ix = 0
        down = True
        target = 0
        inc = 0
        rising = False
        # advance(0)
        for stage in range(1):
            a = (_scale_level(levels[k, stage]) >> 1 << 6) + outlevel[k] - 4256
            if a < 16:
                a = 16
            target = a << 16
            rising = target > level
            q = (rates[k, stage] * 41) >> 6
            if q > 63:
                q = 63
            inc = (4 + (q & 3)) << (8 + (q >> 2))
        for i in range(n):
            if ix < 3 or (ix < 4 and not down):
                new_ix = -1
                if rising:
                    if level < (1716 << 16):
                        level = 1716 << 16
                    level += (((17 << 24) - level) >> 24) * inc
                    if level >= target:
                        level = target
                        new_ix = ix + 1
                else:
                    level -= inc
                    if level <= target:
                        level = target
                        new_ix = ix + 1
                if new_ix >= 0:
                    ix = new_ix
                    if ix < 4:
                        a = (_scale_level(levels[k, ix]) >> 1 << 6) + outlevel[k] - 4256
                        if a < 16:
                            a = 16
                        target = a << 16
                        rising = target > level
                        q = (rates[k, ix] * 41) >> 6
                        if q > 63:
                            q = 63
                        inc = (4 + (q & 3)) << (8 + (q >> 2))
            out[k, i] = level
            if i == frames_on and down:
                down = False
                ix = 3
                a = (_scale_level(levels[k, 3]) >> 1 << 6) + outlevel[k] - 4256
                if a < 16:
                    a = 16
                target = a << 16
                rising = target > level
                q = (rates[k, 3] * 41) >> 6
                if q > 63:
                    q = 63
                inc = (4 + (q & 3)) << (8 + (q >> 2))
    return out


_LEVEL_LUT = np.array(
    [0, 5, 9, 13, 17, 20, 23, 25, 27, 29, 31, 33, 35, 37, 39, 41, 42, 43, 45, 46], dtype=np.int64
)


@njit(cache=True, inline="always")
def _scale_level(x):
    if x >= 20:
        return x + 28
    return _LEVEL_LUT[x]


@njit(cache=True)
def eg_gains(levels_q24):
    """Linear gains ``2^(10 + λ/2^24) / 2^24`` of integer EG levels (the reference formula)."""
    out = np.empty(levels_q24.shape, dtype=np.float64)
    for k in range(levels_q24.shape[0]):
        prev = -1
        g = 0.0
        for i in range(levels_q24.shape[1]):
            lam = levels_q24[k, i]
            if lam != prev:  # levels hold for long stretches: pow only on change
                g = 2.0 ** (10.0 + float(lam) * (1.0 / _Q24)) / _Q24
                prev = lam
            out[k, i] = g
    return out


@njit(cache=True, inline="always")
def _gain_at(g, sl, t, step, last_t, last_frame):
    # exactly numpy.interp(t·step, arange(F), g) with the last sample pinned to g[F-1]
    if t == last_t:
        return g[last_frame]
    x = float(t) * step
    j = int(x)
    if j >= last_frame:
        return g[last_frame]
    return sl[j] * (x - float(j)) + g[j]


@njit(cache=True)
def _slopes(gains):
    # numpy.interp's precomputed slopes (x spacing 1.0), padded with a final 0
    slopes = np.zeros_like(gains)
    for k in range(gains.shape[0]):
        for j in range(gains.shape[1] - 1):
            slopes[k, j] = gains[k, j + 1] - gains[k, j]
    return slopes


@njit(cache=True)
def render_fast(
    active, mod_ptr, mod_src, inc, gains, fb_op, fb_c, carriers, libm, n_samples, step, block
):
    """FM core for topologies where every modulator number exceeds its target's.

    ``active``: operator indices (0 = OP1) to compute, in visit order (descending);
    ``mod_ptr``/``mod_src``: CSR lists of each operator's modulators (descending);
    ``inc``: per-sample phase increments; ``gains``: (6, F) frame gains;
    ``fb_op``: the self-feedback operator index or −1; ``fb_c``: its scale
    ``2π·2^−(9−fb)``; ``carriers``: operator indices summed into the output (ascending);
    ``libm``: per operator, use libm ``sin`` (bit-identical to the reference) instead of
    :func:`sin_` — needed where a strong feedback loop is chaotic and would amplify
    last-ulp differences into audible ones.
    Returns the un-normalised mix (float64, ``n_samples``).
    """
    last_frame = gains.shape[1] - 1
    last_t = n_samples - 1
    slopes = _slopes(gains)
    out = np.empty(n_samples, dtype=np.float64)
    ph = np.empty((6, block), dtype=np.float64)
    y = np.zeros((6, block), dtype=np.float64)
    th = np.empty(block, dtype=np.float64)
    gb = np.empty(block, dtype=np.float64)
    fj = np.empty(block, dtype=np.int64)
    ff = np.empty(block, dtype=np.float64)
    p0 = p1 = p2 = p3 = p4 = p5 = 0.0
    d0, d1, d2, d3, d4, d5 = inc[0], inc[1], inc[2], inc[3], inc[4], inc[5]
    y1 = 0.0  # feedback history y[t-1], y[t-2]
    y2 = 0.0
    n_act = active.shape[0]
    for b0 in range(0, n_samples, block):
        n = min(block, n_samples - b0)
        # 1. phases: the reference's running sum with wrap, six chains interleaved
        for i in range(n):
            p0 += d0
            while p0 >= TWO_PI:
                p0 -= TWO_PI
            p1 += d1
            while p1 >= TWO_PI:
                p1 -= TWO_PI
            p2 += d2
            while p2 >= TWO_PI:
                p2 -= TWO_PI
            p3 += d3
            while p3 >= TWO_PI:
                p3 -= TWO_PI
            p4 += d4
            while p4 >= TWO_PI:
                p4 -= TWO_PI
            p5 += d5
            while p5 >= TWO_PI:
                p5 -= TWO_PI
            ph[0, i] = p0
            ph[1, i] = p1
            ph[2, i] = p2
            ph[3, i] = p3
            ph[4, i] = p4
            ph[5, i] = p5
        # 2. interpolation position (frame j, fraction) shared by all operators
        for i in range(n):
            x = float(b0 + i) * step
            j = int(x)
            fj[i] = j
            ff[i] = x - float(j)
        if b0 + n - 1 == last_t:  # numpy.interp pins the last sample to the last frame
            fj[n - 1] = last_frame
            ff[n - 1] = 0.0
        # 3. operators in visit order (modulators first)
        for a in range(n_act):
            k = active[a]
            g = gains[k]
            sl = slopes[k]
            for i in range(n):
                j = fj[i]
                gb[i] = sl[j] * ff[i] + g[j]
            if k == fb_op:
                if libm[k]:
                    for i in range(n):
                        t = ph[k, i] + (y1 + y2) * fb_c
                        for e in range(mod_ptr[k], mod_ptr[k + 1]):
                            t += y[mod_src[e], i] * TWO_PI
                        v = math.sin(t) * gb[i]
                        y[k, i] = v
                        y2 = y1
                        y1 = v
                else:
                    for i in range(n):
                        t = ph[k, i] + (y1 + y2) * fb_c
                        for e in range(mod_ptr[k], mod_ptr[k + 1]):
                            t += y[mod_src[e], i] * TWO_PI
                        v = sin_(t) * gb[i]
                        y[k, i] = v
                        y2 = y1
                        y1 = v
            else:
                for i in range(n):
                    th[i] = ph[k, i]
                for e in range(mod_ptr[k], mod_ptr[k + 1]):
                    m = mod_src[e]
                    for i in range(n):
                        th[i] += y[m, i] * TWO_PI
                if libm[k]:
                    for i in range(n):
                        y[k, i] = math.sin(th[i]) * gb[i]
                else:
                    for i in range(n):
                        y[k, i] = sin_(th[i]) * gb[i]
        # 4. mix carriers in ascending operator order
        for i in range(n):
            out[b0 + i] = 0.0
        for c in range(carriers.shape[0]):
            k = carriers[c]
            for i in range(n):
                out[b0 + i] += y[k, i]
    return out


@njit(cache=True)
def render_general(modmatrix, inc, gains, fb_src, fb_dst, fb_c, outmatrix, n_samples, step):
    """Per-sample transcription of spec §2.6 for any 6×6 matrix (slow, exact semantics).

    Feedback: ``θ[fb_dst] += 2π·((y[fb_src][t−1] + y[fb_src][t−2])/2)/2^(8−fb)`` (the reference
    has ``fb_src == fb_dst``; the hardware loops of algorithms 4/6 do not); −1 = none.
    """
    last_frame = gains.shape[1] - 1
    last_t = n_samples - 1
    slopes = _slopes(gains)
    out = np.empty(n_samples, dtype=np.float64)
    phi = np.zeros(6)
    th = np.zeros(6)
    g = np.zeros(6)
    prev0 = np.zeros(6)
    prev1 = np.zeros(6)
    for t in range(n_samples):
        for k in range(6):
            p = phi[k] + inc[k]
            while p >= TWO_PI:
                p -= TWO_PI
            phi[k] = p
            th[k] = p
            g[k] = _gain_at(gains[k], slopes[k], t, step, last_t, last_frame)
        if fb_dst >= 0:
            th[fb_dst] += (prev0[fb_src] + prev1[fb_src]) * fb_c
        for m in range(5, -1, -1):
            u = math.sin(th[m]) * g[m] * TWO_PI
            for c in range(6):
                if c != m and modmatrix[c, m] == 1:
                    th[c] += u
        acc = 0.0
        for k in range(6):
            v = math.sin(th[k]) * g[k]
            prev1[k] = prev0[k]
            prev0[k] = v
            acc += outmatrix[k] * v
        out[t] = acc
    return out
