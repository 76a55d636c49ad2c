"""Zwicker's loudness (ISO 532 B) as the AudioCommons models compute it, one window at a
time in plain Python: the oracle for timbral-fast's compiled version (it was timbral-fast's
own implementation before that)."""

from __future__ import annotations

import bisect
import math

import numpy as np
from fmbench_plugins.timbral.audiocommons import _A0, _DCB, _DLL, _LTQ, _RAP, _RNS, _USL, _ZUP

_ZUP_L, _RNS_L, _USL_L = _ZUP.tolist(), _RNS.tolist(), _USL.tolist()


def _arange(start: float, stop: float, step: float) -> list[float]:
    """``np.arange(start, stop, step).tolist()`` for floats, value for value (numpy fills
    ``start + i · ((start + step) − start)``), without the array overhead."""
    n = math.ceil((stop - start) / step)
    if n <= 0:
        return []
    if n == 1:
        return [start]
    delta = (start + step) - start
    return [start] + [start + i * delta for i in range(1, n)]


def zwicker_window(P: np.ndarray) -> tuple[float, np.ndarray]:
    """Total loudness N (sone) and the 240-point specific loudness (0.1 Bark steps)
    from 28 third-octave levels, by Zwicker's method (ISO 532 B) as the models do it."""
    Ti = np.zeros(11)
    for i in range(11):
        j = 0
        while P[i] > _RAP[j] - _DLL[j, i] and j < 7:
            j += 1
        Ti[i] = 10.0 ** ((P[i] + _DLL[j, i]) / 10.0)
    Gi = np.array([Ti[0:6].sum(), Ti[6:9].sum(), Ti[9:11].sum()])
    with np.errstate(divide="ignore"):
        fngi = 10 * np.log10(Gi) if Gi.max() > 0.0 else np.full(3, -np.inf)
    lcb = np.where(Gi > 0, fngi, 0.0)
    le = P[8:28].astype(np.float64).copy()
    le[:3] = lcb
    lk = le - _A0
    Nm = np.zeros(21)
    above = le > _LTQ
    le2 = lk - _DCB
    mp1 = 0.0635 * 10.0 ** (0.025 * _LTQ)
    with np.errstate(over="ignore", invalid="ignore"):
        mp2 = (1 - 0.25 + 0.25 * 10 ** (0.1 * (le2 - _LTQ))) ** 0.25 - 1
    nm = np.where(above, mp1 * mp2, 0.0)
    nm[nm <= 0] = 0
    Nm[:20] = nm
    korry = min(0.4 + 0.32 * Nm[0] ** 0.2, 1.0)
    Nm[0] *= korry

    # the band walk below is scalar and data-dependent: plain Python floats and lists
    # (numpy scalars cost several times more per operation here)
    nm_l = Nm.tolist()
    zup, rns, usl = _ZUP_L, _RNS_L, _USL_L
    N = 0.0
    z1 = 0.0
    n1 = 0.0
    n2 = 0.0
    z2 = 0.0
    j = 17
    iz = 0
    z = 0.1
    ns: list[float] = []
    k = z  # like the reference, an empty band range keeps the previous band's last k

    def put(ks: list[float], values: list[float], z2: float) -> int:
        """The reference's per-step loop: value j goes to slot iz + j while k < z2 − 0.05
        (a prefix of the ascending ks); later steps overwrite one slot. Returns new iz."""
        m = bisect.bisect_left(ks, z2 - 0.05)
        ns[iz : iz + m] = values[:m]  # iz <= len(ns): overwrites, then extends
        if m < len(ks):
            if iz + m == len(ns):
                ns.append(values[-1])
            else:
                ns[iz + m] = values[-1]
        return iz + m

    for i in range(21):
        ig = min(i - 1, 7)
        first = True
        nmi = nm_l[i]
        while z1 < zup[i] or first:
            first = False
            if n1 < nmi:
                j = 0
                while rns[j] > nmi:
                    j += 1
            if n1 <= nmi:
                z2 = zup[i]
                n2 = nmi
                N += n2 * (z2 - z1)
                ks = _arange(z, z2 + 0.01, 0.1)
                if ks:
                    iz = put(ks, [n2] * len(ks), z2)
                    k = ks[-1]
                z = round(k * 10) * 0.1
            if n1 > nmi:
                n2 = max(rns[j], nmi)
                slope = usl[j][ig]
                dz = round((n1 - n2) / slope * 10) * 0.1
                if dz == 0:
                    dz = 0.1
                z2 = z1 + dz
                if z2 > zup[i]:
                    z2 = zup[i]
                    dz = z2 - z1
                    n2 = n1 - dz * slope
                N += dz * (n1 + n2) / 2.0
                ks = _arange(z, z2 + 0.01, 0.1)
                if ks:
                    iz = put(ks, [n1 - (kk - z1) * slope for kk in ks], z2)
                    k = ks[-1]
                z = round(k * 10) * 0.1
            if n2 == rns[j]:
                j += 1
            j = min(j, 17)
            n1 = n2
            z1 = round(z2 * 10) * 0.1
    N = max(N, 0.0)
    N = np.floor(N * 1000 + 0.5) / 1000.0 if N <= 16 else np.floor(N * 100 + 0.05) / 100.0
    return float(N), np.asarray(ns[:240], dtype=np.float64)
