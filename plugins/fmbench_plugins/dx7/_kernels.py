"""numba kernels of the DX7 engine (imported lazily: importing this module compiles/loads them).

Three kernels:

- :func:`eg_gains` — the integer envelope generator (docs/renderer.md#envelope-generator),
  one value per control frame, turned into linear gains ``2^(λ/2^24 − 14)``;
- :func:`render_fast` — the FM core (docs/renderer.md#fm-core) for topologies whose
  modulators are all higher-numbered than the operators they modulate (every DX7
  algorithm). It works block by
  block: phases are accumulated sequentially (bit-identical to the reference's running sum
  with wrap), gains are interpolated exactly like ``numpy.interp`` (per run of equal frame,
  no gather), operators without feedback are evaluated as vectorised loops, only a feedback
  operator needs a per-sample recurrence, and the mix is normalised and quantised into the
  caller's output array in the same pass;
- :func:`render_general` — a direct per-sample transcription of the FM core for any matrix
  (lower-numbered modulators resolved by visit order) and for the hardware feedback loops of
  algorithms 4 and 6 (feedback source ≠ destination). It is the oracle the fast kernel is
  tested against.

Sines. :func:`sin_` is a branch-free float64 sine (Cody–Waite reduction by π and one odd
Chebyshev-fit polynomial on [−π/2, π/2], ≤ 2 ulp) that LLVM vectorises — the reference's
libm ``sin`` is scalar and far slower — used for every operator outside the feedback
recurrence, where a last-ulp difference stays far below one int16 step. In the recurrence
one sine's *latency* is the cost of a sample, so it uses :func:`sin_turn`, a 1024-entry
table plus short polynomials, with a shorter dependency chain. Both are plain IEEE
arithmetic (no FMA contraction, no libm): the same bytes on every IEEE-754 platform. While a
feedback loop is chaotic (``libm`` flags, samples before ``t_exact``), the exact mode
evaluates the loop and its modulators with libm ``sin`` in the reference's operation order
instead, since there last-ulp differences grow into audible ones. The general kernel uses
libm, or :func:`sin_` in the fast mode.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

TWO_PI = 2.0 * np.pi

# Cody–Waite split of π (33 + 33 + 53 bits: k·_PI_1 and k·_PI_2 are exact for |k| < 2^20)
_INV_PI = 3.18309886183790671538e-01
_PI_1 = 3.14159265346825122833e00
_PI_2 = 1.21542010126079319532e-10
_PI_3 = 4.04453249742233291160e-21
# sin(r) = r + r³·G(r²) on |r| ≤ π/2: G is the degree-7 Chebyshev fit of (sin(r)/r − 1)/r²
# in r² (mpmath.chebyfit at 200 bits; fit error 3.4e−19, so ≲ 2e−18 after the r³ factor)
_G0 = -0.16666666666666666
_G1 = 0.008333333333333316
_G2 = -0.00019841269841254974
_G3 = 2.7557319219163234e-06
_G4 = -2.5052107616996182e-08
_G5 = 1.6058977312464087e-10
_G6 = -7.643970296798572e-13
_G7 = 2.7314447669863995e-15

_Q24 = 16777216.0


@njit(cache=True, inline="always")
def sin_(x):
    """sin(x) for |x| < 2^20·π, branch-free (vectorisable), abs. error ≤ 2.3e−16 (≤ 2 ulp).

    Reduction ``x = k·π + r`` (Cody–Waite, three parts), one odd polynomial on
    ``|r| ≤ π/2``, sign ``(−1)^k``.
    """
    k = np.rint(x * _INV_PI)
    r = x - k * _PI_1
    r = r - k * _PI_2
    r = r - k * _PI_3
    h = k * 0.5
    sign = 1.0 - 4.0 * (h - np.floor(h))  # +1 for even k, −1 for odd k
    z = r * r
    p = _G6 + z * _G7
    p = _G5 + z * p
    p = _G4 + z * p
    p = _G3 + z * p
    p = _G2 + z * p
    p = _G1 + z * p
    p = _G0 + z * p
    return (r + (r * z) * p) * sign


@njit(cache=True)
def sin_array(x):
    """:func:`sin_` over an array (for tests and diagnostics)."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = sin_(x[i])
    return out


@njit(cache=True)
def eg_levels(rates, levels, outlevel, frames_on, frames_off):
    """Integer EG levels λ (Q24 log2 units) per frame for 6 operators.

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


# ---- the feedback recurrence's sine: a short-latency table sine in "turn" units ----
#: table resolution of :func:`sin_turn` (entries per cycle)
TURN_N = 1024
_TURN_MASK = TURN_N - 1
_INV_H = TURN_N / TWO_PI  # radians → table units
_H = TWO_PI / TURN_N
# sin(f·h) = f·A1 + f³·A3 + f⁵·A5 and cos(f·h) − 1 = f²·B2 + f⁴·B4 for |f| ≤ ½ (Taylor; the
# first omitted terms are < 1e−18)
_A1 = _H
_A3 = -(_H**3) / 6.0
_A5 = _H**5 / 120.0
_B2 = -(_H**2) / 2.0
_B4 = _H**4 / 24.0


def _turn_table(n: int) -> np.ndarray:
    """(n, 2) table of sin and cos of 2π·j/n, correctly rounded and independent of the C
    library (Taylor series in 40-digit decimal arithmetic on the first quadrant, the rest by
    exact symmetry), so that the fast sine gives the same bytes on every platform."""
    from decimal import Decimal, getcontext

    getcontext().prec = 40
    pi = Decimal("3.141592653589793238462643383279502884197")
    q = n // 4
    s = np.empty(n, dtype=np.float64)
    for j in range(q + 1):
        x = 2 * pi * j / n
        term, acc, k = x, x, 1
        while abs(term) > Decimal(10) ** -45:
            term = -term * x * x / ((2 * k) * (2 * k + 1))
            acc += term
            k += 1
        s[j] = float(acc)
    for j in range(q + 1, 2 * q + 1):
        s[j] = s[2 * q - j]
    for j in range(2 * q + 1, n):
        s[j] = -s[j - 2 * q]
    tab = np.empty((n, 2), dtype=np.float64)
    tab[:, 0] = s
    tab[:, 1] = np.roll(s, -q)  # cos(2πj/n) = sin(2π(j + n/4)/n)
    return tab


_TURN_TAB = _turn_table(TURN_N)


@njit(cache=True, inline="always")
def sin_turn(u):
    """sin(2π·u/TURN_N) for |u| < 2^62: table lookup + short polynomials (abs. error ≲ 3e−16).

    Short latency for the sequential feedback recurrence, where the latency of one sine is
    the cost of one sample; plain IEEE operations, hence the same bytes on every machine.
    """
    k = np.rint(u)
    f = u - k  # exact, |f| ≤ ½
    j = int(k) & _TURN_MASK
    z = f * f
    sr = f * _A1 + (f * z) * (_A3 + z * _A5)
    cm = z * (_B2 + z * _B4)
    s = _TURN_TAB[j, 0]
    return s + (s * cm + _TURN_TAB[j, 1] * sr)


@njit(cache=True)
def sin_turn_array(x):
    """:func:`sin_turn` of radians ``x`` (for tests and diagnostics)."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = sin_turn(x[i] * _INV_H)
    return out


@njit(cache=True)
def render_fast(
    active,
    mod_ptr,
    mod_src,
    inc,
    gains,
    fb_op,
    fb_c,
    carriers,
    libm,
    t_exact,
    n_samples,
    step,
    block,
    denom,
    out,
    offset,
    kind,
):
    """FM core for topologies where every modulator number exceeds its target's.

    ``active``: operator indices (0 = OP1) to compute, in visit order (descending);
    ``mod_ptr``/``mod_src``: CSR lists of each operator's modulators (descending);
    ``inc``: per-sample phase increments; ``gains``: (6, F) frame gains;
    ``fb_op``: the self-feedback operator index or −1; ``fb_c``: its scale
    ``2π·2^−(9−fb)``; ``carriers``: operator indices summed into the output (ascending).

    Sines: operators outside the feedback recurrence use the vectorisable :func:`sin_`; the
    recurrence uses the short-latency :func:`sin_turn`, except that operators flagged in
    ``libm`` (a chaotic feedback loop and its modulators) use the C library's ``sin`` in the
    reference's exact operation order for samples ``t < t_exact`` — bit-identical to the
    reference there, where last-ulp differences would grow into audible ones.

    The mix of the carriers (ascending order) divided by ``denom`` is written to
    ``out[offset:offset + n_samples]``: ``kind`` 0 as float64, 1 as int16 by the
    reference's truncation ``trunc(x·32767)``, 2 as float32 of that int16 / 32768.
    Returns the number of non-finite samples (0 by construction).
    """
    last_frame = gains.shape[1] - 1
    last_t = n_samples - 1
    slopes = _slopes(gains)
    ph2 = np.empty((2, 6, block), dtype=np.float64)  # this block's phases and the next's
    y = np.zeros((6, block), dtype=np.float64)
    th = np.empty(block + 1, dtype=np.float64)
    gb = np.empty(block, dtype=np.float64)
    sb = np.empty(block, dtype=np.float64)
    gs = np.empty(block, dtype=np.float64)
    ff = np.empty(block, dtype=np.float64)
    mixb = np.empty(block, dtype=np.float64)
    fj = np.empty(block, dtype=np.int64)
    run_at = np.empty(block + 1, dtype=np.int64)
    run_frame = np.empty(block + 1, dtype=np.int64)
    p0 = p1 = p2 = p3 = p4 = p5 = 0.0
    d0, d1, d2, d3, d4, d5 = inc[0], inc[1], inc[2], inc[3], inc[4], inc[5]
    # one conditional subtraction wraps exactly like the reference's loop when every step < π
    single_wrap = True
    for k in range(6):
        if not inc[k] < np.pi:
            single_wrap = False
    y1 = 0.0  # feedback history y[t-1], y[t-2]
    y2 = 0.0
    w1 = 0.0  # the same in table units of sin_turn: y·fb_c/h
    w2 = 0.0
    c_turn = fb_c * _INV_H
    n_act = active.shape[0]
    n_bad = 0
    cur = 0
    have_phases = False
    for b0 in range(0, n_samples, block):
        n = min(block, n_samples - b0)
        ph = ph2[cur]
        # 1. phases: the reference's running sum with wrap, six chains interleaved (unless the
        #    feedback recurrence of the previous block computed them in its shadow)
        if have_phases:
            have_phases = False
        elif single_wrap:
            for i in range(n):
                p0 += d0
                p0 = p0 - TWO_PI if p0 >= TWO_PI else p0
                p1 += d1
                p1 = p1 - TWO_PI if p1 >= TWO_PI else p1
                p2 += d2
                p2 = p2 - TWO_PI if p2 >= TWO_PI else p2
                p3 += d3
                p3 = p3 - TWO_PI if p3 >= TWO_PI else p3
                p4 += d4
                p4 = p4 - TWO_PI if p4 >= TWO_PI else p4
                p5 += d5
                p5 = p5 - TWO_PI if p5 >= TWO_PI else p5
                ph[0, i] = p0
                ph[1, i] = p1
                ph[2, i] = p2
                ph[3, i] = p3
                ph[4, i] = p4
                ph[5, i] = p5
        else:
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
        # 2. interpolation (numpy.interp): frame and fraction per sample, then the runs of
        #    equal frame (≈64 samples) so that gains need no gather
        for i in range(n):
            x = float(b0 + i) * step
            j = int(x)
            fj[i] = j
            ff[i] = x - float(j)
        if b0 + n - 1 == last_t:  # numpy.interp pins the last sample to the last frame
            fj[n - 1] = last_frame
            ff[n - 1] = 0.0
        n_runs = 0
        prev = -1
        for i in range(n):
            if fj[i] != prev:
                prev = fj[i]
                run_at[n_runs] = i
                run_frame[n_runs] = prev
                n_runs += 1
        run_at[n_runs] = n
        n_exact = min(n, max(0, t_exact - b0))  # samples of this block in the libm stretch
        # 3. operators in visit order (modulators first). Loops over views that start at 0:
        #    numba then knows the index is non-negative and LLVM vectorises them
        for a in range(n_act):
            k = active[a]
            g = gains[k]
            sl = slopes[k]
            for r in range(n_runs):
                j = run_frame[r]
                s_j = sl[j]
                g_j = g[j]
                r0 = run_at[r]
                gv = gb[r0:]
                fv = ff[r0:]
                for i in range(run_at[r + 1] - r0):
                    gv[i] = s_j * fv[i] + g_j
            n_lib = n_exact if libm[k] else 0
            if k == fb_op:
                if n_lib == n and single_wrap and b0 + n + block <= n_samples:
                    # reference arithmetic with libm sin, the next block's phases alongside
                    pn = ph2[1 - cur]
                    for i in range(n):
                        t = ph[k, i] + (y1 + y2) * fb_c
                        for e in range(mod_ptr[k], mod_ptr[k + 1]):
                            t += y[mod_src[e], i] * TWO_PI
                        v = math.sin(t) * gb[i]
                        y[k, i] = v
                        y2 = y1
                        y1 = v
                        p0 += d0
                        p0 = p0 - TWO_PI if p0 >= TWO_PI else p0
                        p1 += d1
                        p1 = p1 - TWO_PI if p1 >= TWO_PI else p1
                        p2 += d2
                        p2 = p2 - TWO_PI if p2 >= TWO_PI else p2
                        p3 += d3
                        p3 = p3 - TWO_PI if p3 >= TWO_PI else p3
                        p4 += d4
                        p4 = p4 - TWO_PI if p4 >= TWO_PI else p4
                        p5 += d5
                        p5 = p5 - TWO_PI if p5 >= TWO_PI else p5
                        pn[0, i] = p0
                        pn[1, i] = p1
                        pn[2, i] = p2
                        pn[3, i] = p3
                        pn[4, i] = p4
                        pn[5, i] = p5
                    have_phases = True
                else:
                    for i in range(n_lib):  # reference arithmetic with libm sin
                        t = ph[k, i] + (y1 + y2) * fb_c
                        for e in range(mod_ptr[k], mod_ptr[k + 1]):
                            t += y[mod_src[e], i] * TWO_PI
                        v = math.sin(t) * gb[i]
                        y[k, i] = v
                        y2 = y1
                        y1 = v
                if n_lib < n:
                    if n_lib > 0 or b0 == t_exact:  # leaving the libm stretch for good
                        w1 = y1 * c_turn
                        w2 = y2 * c_turn
                    m_n = n - n_lib
                    th_v = th[n_lib:]
                    gs_v = gs[n_lib:]
                    sb_v = sb[n_lib:]
                    gb_v = gb[n_lib:]
                    ph_v = ph[k, n_lib:]
                    y_v = y[k, n_lib:]
                    # off the recurrence: phase (+ modulation) in table units, scaled gains
                    for i in range(m_n):
                        th_v[i] = ph_v[i]
                    for e in range(mod_ptr[k], mod_ptr[k + 1]):
                        ym_v = y[mod_src[e], n_lib:]
                        for i in range(m_n):
                            th_v[i] += ym_v[i] * TWO_PI
                    for i in range(m_n):
                        th_v[i] *= _INV_H
                        gs_v[i] = gb_v[i] * c_turn
                    # the recurrence itself, u_i = (θ_i + w_{i−2}) + w_{i−1}: one sin_turn
                    # latency per sample; the gain is applied to the table values off the
                    # critical path. With a whole block in it and a full block to follow,
                    # the next block's phases are accumulated in the recurrence's shadow.
                    th_v[m_n] = 0.0
                    a_next = th_v[0] + w2
                    if n_lib == 0 and single_wrap and b0 + n + block <= n_samples:
                        pn = ph2[1 - cur]
                        for i in range(m_n):
                            u = a_next + w1
                            kk = np.rint(u)
                            f = u - kk
                            jj = int(kk) & _TURN_MASK
                            z = f * f
                            sr = f * _A1 + (f * z) * (_A3 + z * _A5)
                            cm = z * (_B2 + z * _B4)
                            st = _TURN_TAB[jj, 0]
                            ct = _TURN_TAB[jj, 1]
                            sb_v[i] = st + (st * cm + ct * sr)
                            sg = st * gs_v[i]
                            a_next = th_v[i + 1] + w1
                            w2 = w1
                            w1 = (sg + sg * cm) + (ct * gs_v[i]) * sr
                            p0 += d0
                            p0 = p0 - TWO_PI if p0 >= TWO_PI else p0
                            p1 += d1
                            p1 = p1 - TWO_PI if p1 >= TWO_PI else p1
                            p2 += d2
                            p2 = p2 - TWO_PI if p2 >= TWO_PI else p2
                            p3 += d3
                            p3 = p3 - TWO_PI if p3 >= TWO_PI else p3
                            p4 += d4
                            p4 = p4 - TWO_PI if p4 >= TWO_PI else p4
                            p5 += d5
                            p5 = p5 - TWO_PI if p5 >= TWO_PI else p5
                            pn[0, i] = p0
                            pn[1, i] = p1
                            pn[2, i] = p2
                            pn[3, i] = p3
                            pn[4, i] = p4
                            pn[5, i] = p5
                        have_phases = True
                    else:
                        for i in range(m_n):
                            u = a_next + w1
                            kk = np.rint(u)
                            f = u - kk
                            jj = int(kk) & _TURN_MASK
                            z = f * f
                            sr = f * _A1 + (f * z) * (_A3 + z * _A5)
                            cm = z * (_B2 + z * _B4)
                            st = _TURN_TAB[jj, 0]
                            ct = _TURN_TAB[jj, 1]
                            sb_v[i] = st + (st * cm + ct * sr)
                            sg = st * gs_v[i]
                            a_next = th_v[i + 1] + w1
                            w2 = w1
                            w1 = (sg + sg * cm) + (ct * gs_v[i]) * sr
                    for i in range(m_n):
                        y_v[i] = sb_v[i] * gb_v[i]
            else:
                for i in range(n):
                    th[i] = ph[k, i]
                for e in range(mod_ptr[k], mod_ptr[k + 1]):
                    m = mod_src[e]
                    for i in range(n):
                        th[i] += y[m, i] * TWO_PI
                if n_lib == 0:
                    for i in range(n):
                        y[k, i] = sin_(th[i]) * gb[i]
                else:
                    for i in range(n_lib):
                        y[k, i] = math.sin(th[i]) * gb[i]
                    th_v = th[n_lib:]
                    gb_v = gb[n_lib:]
                    y_v = y[k, n_lib:]
                    for i in range(n - n_lib):
                        y_v[i] = sin_(th_v[i]) * gb_v[i]
        # 4. mix carriers in ascending operator order, normalise, quantise
        for i in range(n):
            mixb[i] = 0.0
        for c in range(carriers.shape[0]):
            k = carriers[c]
            for i in range(n):
                mixb[i] += y[k, i]
        for i in range(n):
            v = mixb[i] / denom
            n_bad += v - v != 0.0  # NaN or ±Inf
        if kind == 0:
            for i in range(n):
                out[offset + b0 + i] = mixb[i] / denom
        elif kind == 1:
            for i in range(n):
                out[offset + b0 + i] = np.int16(np.int64(mixb[i] / denom * 32767.0))
        else:
            for i in range(n):
                q = np.int16(np.int64(mixb[i] / denom * 32767.0))
                out[offset + b0 + i] = np.float32(q) / np.float32(32768.0)
        if have_phases:
            cur = 1 - cur
    return n_bad


@njit(cache=True)
def render_general(
    modmatrix, inc, gains, fb_src, fb_dst, fb_c, outmatrix, n_samples, step, fast_sin=False
):
    """Per-sample transcription of the FM core for any 6×6 matrix (slow, exact semantics).

    Sine: libm ``sin``, or :func:`sin_` when ``fast_sin`` (the renderer's ``sine="fast"``:
    no libm ``sin`` in the output).

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
            u = (sin_(th[m]) if fast_sin else math.sin(th[m])) * g[m] * TWO_PI
            for c in range(6):
                if c != m and modmatrix[c, m] == 1:
                    th[c] += u
        acc = 0.0
        for k in range(6):
            v = (sin_(th[k]) if fast_sin else math.sin(th[k])) * g[k]
            prev1[k] = prev0[k]
            prev0[k] = v
            acc += outmatrix[k] * v
        out[t] = acc
    return out
