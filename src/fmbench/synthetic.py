"""The synthetic benchmark's patch prior: musically plausible DX7 patches drawn by family.

:func:`sample_patch` draws one patch from a *sound family* (pluck, pad, bass, bell, brass,
organ, keys, lead). Each family fixes:

- a weighting over the 32 algorithms (its preferred algorithms weigh 6, every other
  algorithm 1, so all 32 occur);
- the carrier frequency ratios (mostly 1, sometimes 0.5 or 2) and the modulator ratios
  (mostly small integers; a fraction get a non-zero ``fine`` or a non-integer bell ratio);
- carrier output levels (high: 85..99) and modulator output levels (spread over a
  family-specific range; modulators of modulators a little lower);
- the amplitude envelope of carriers and the "brightness" envelope of modulators
  (attack rate R1, decay rates R2/R3, sustain level L3, release rate R4);
- feedback depth, detune spread, transpose (register) and the rare fixed-frequency
  modulators (2 % of modulators, 12 % for bells).

Everything is drawn from ``numpy.random.Generator`` streams seeded by ``(seed, index)``, so
item ``i`` of a dataset depends only on the seed and ``i``: any prefix of a dataset can be
regenerated on its own, bit for bit. ``docs/synthetic-benchmark.md`` describes the prior
in prose. The operator-slot convention (docs/patch-format.md#operator-order) is handled here:
parameters are chosen per operator number and stored at slot ``6 - op``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fmbench.patch.algorithms import algorithm
from fmbench.patch.model import Patch, slot_of

__all__ = ["FAMILIES", "FAMILY_WEIGHTS", "Family", "sample_patch"]


@dataclass(frozen=True)
class Family:
    """The parameter distributions of one sound family (ranges are inclusive)."""

    name: str
    algorithms: tuple[int, ...]  # preferred algorithms (weight 6; the others weigh 1)
    carrier_ratios: tuple[tuple[float, float], ...]  # (coarse ratio, probability)
    mod_ratios: tuple[tuple[float, float], ...]
    fine_prob: float  # probability that a modulator gets a non-zero fine value
    carrier_ol: tuple[int, int]
    mod_ol: tuple[int, int]
    # carrier amplitude envelope: R1 (attack), R2, R3, R4 (release); L1, L2, L3 (sustain)
    c_rate: tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]
    c_level: tuple[tuple[int, int], tuple[int, int], tuple[int, int]]
    # modulator (brightness) envelope
    m_rate: tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]
    m_level: tuple[tuple[int, int], tuple[int, int], tuple[int, int]]
    feedback: tuple[int, int]
    detune: int  # detune values drawn from -detune..detune (0 half of the time)
    transpose: tuple[tuple[int, float], ...]  # (semitones, probability)
    fixed_prob: float  # per-modulator probability of fixed-frequency mode


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "pluck",
            (1, 2, 3, 5, 7, 9, 14, 15),
            ((1, 0.8), (2, 0.1), (0.5, 0.1)),
            ((1, 0.3), (2, 0.25), (3, 0.2), (4, 0.1), (5, 0.08), (7, 0.07)),
            0.1,
            (88, 99),
            (60, 88),
            ((88, 99), (40, 70), (25, 50), (50, 75)),
            ((95, 99), (50, 85), (0, 0)),
            ((90, 99), (45, 75), (30, 55), (50, 75)),
            ((85, 99), (30, 70), (0, 20)),
            (0, 6),
            2,
            ((0, 0.8), (12, 0.1), (-12, 0.1)),
            0.02,
        ),
        Family(
            "pad",
            (5, 6, 19, 21, 22, 23, 24, 25, 29, 31, 32),
            ((1, 0.7), (2, 0.15), (0.5, 0.15)),
            ((1, 0.45), (2, 0.3), (3, 0.12), (4, 0.08), (6, 0.05)),
            0.15,
            (85, 99),
            (40, 72),
            ((22, 50), (20, 45), (20, 40), (25, 45)),
            ((85, 99), (85, 99), (78, 95)),
            ((20, 45), (15, 40), (15, 35), (25, 45)),
            ((70, 99), (60, 90), (50, 85)),
            (0, 5),
            5,
            ((0, 0.85), (-12, 0.1), (12, 0.05)),
            0.02,
        ),
        Family(
            "bass",
            (1, 2, 3, 5, 7, 11, 13, 16, 17, 18),
            ((0.5, 0.35), (1, 0.65)),
            ((0.5, 0.15), (1, 0.45), (2, 0.25), (3, 0.1), (4, 0.05)),
            0.05,
            (90, 99),
            (62, 90),
            ((88, 99), (40, 65), (30, 50), (55, 80)),
            ((95, 99), (75, 95), (45, 80)),
            ((85, 99), (45, 70), (30, 50), (55, 80)),
            ((85, 99), (50, 80), (20, 55)),
            (0, 7),
            2,
            ((-12, 0.5), (-24, 0.25), (0, 0.25)),
            0.02,
        ),
        Family(
            "bell",
            (1, 5, 6, 9, 11, 15, 22, 28, 29, 30),
            ((1, 0.75), (2, 0.15), (0.5, 0.1)),
            ((1.41, 0.2), (3.5, 0.2), (2, 0.1), (3, 0.1), (5, 0.1), (7, 0.1), (9, 0.1), (11, 0.1)),
            0.6,
            (85, 99),
            (50, 82),
            ((92, 99), (22, 38), (18, 32), (28, 50)),
            ((97, 99), (55, 85), (0, 0)),
            ((92, 99), (25, 45), (20, 35), (28, 50)),
            ((85, 99), (40, 75), (0, 20)),
            (0, 4),
            3,
            ((0, 0.6), (12, 0.3), (24, 0.1)),
            0.12,
        ),
        Family(
            "brass",
            (1, 2, 16, 17, 18, 22, 3, 11),
            ((1, 0.9), (0.5, 0.1)),
            ((1, 0.6), (2, 0.2), (3, 0.1), (0.5, 0.1)),
            0.05,
            (88, 99),
            (70, 92),
            ((50, 72), (35, 60), (30, 50), (45, 70)),
            ((90, 99), (85, 99), (80, 95)),
            ((40, 65), (30, 55), (25, 45), (45, 70)),
            ((85, 99), (75, 95), (65, 90)),
            (4, 7),
            2,
            ((0, 0.75), (-12, 0.25)),
            0.01,
        ),
        Family(
            "organ",
            (32, 32, 31, 25, 24),
            ((1, 0.4), (2, 0.25), (0.5, 0.2), (3, 0.1), (4, 0.05)),
            ((1, 0.4), (2, 0.3), (3, 0.15), (4, 0.1), (6, 0.05)),
            0.03,
            (80, 99),
            (35, 65),
            ((95, 99), (90, 99), (90, 99), (70, 85)),
            ((97, 99), (97, 99), (95, 99)),
            ((95, 99), (90, 99), (90, 99), (70, 85)),
            ((90, 99), (85, 99), (80, 99)),
            (0, 4),
            1,
            ((0, 0.8), (12, 0.1), (-12, 0.1)),
            0.01,
        ),
        Family(
            "keys",
            (5, 6, 1, 2, 7, 28),
            ((1, 0.9), (2, 0.1)),
            ((1, 0.35), (14, 0.2), (2, 0.15), (3, 0.1), (4, 0.1), (7, 0.1)),
            0.05,
            (88, 99),
            (50, 82),
            ((92, 99), (22, 40), (18, 35), (45, 70)),
            ((97, 99), (70, 95), (0, 45)),
            ((92, 99), (35, 65), (25, 45), (45, 70)),
            ((85, 99), (30, 70), (0, 25)),
            (0, 6),
            3,
            ((0, 0.85), (12, 0.1), (-12, 0.05)),
            0.02,
        ),
        Family(
            "lead",
            (1, 2, 3, 4, 8, 16, 18, 7),
            ((1, 0.85), (2, 0.15)),
            ((1, 0.35), (2, 0.25), (3, 0.2), (4, 0.1), (5, 0.1)),
            0.1,
            (88, 99),
            (70, 95),
            ((80, 99), (40, 70), (35, 60), (50, 75)),
            ((95, 99), (85, 99), (80, 95)),
            ((80, 99), (40, 70), (35, 60), (50, 75)),
            ((85, 99), (70, 95), (60, 90)),
            (3, 7),
            3,
            ((0, 0.6), (12, 0.3), (-12, 0.1)),
            0.02,
        ),
    )
}

#: how often each family is drawn
FAMILY_WEIGHTS: dict[str, float] = {
    "pluck": 0.16,
    "pad": 0.15,
    "bass": 0.14,
    "bell": 0.12,
    "brass": 0.12,
    "organ": 0.10,
    "keys": 0.11,
    "lead": 0.10,
}


def _pick(rng: np.random.Generator, table: tuple[tuple[float, float], ...]) -> float:
    values = [v for v, _ in table]
    p = np.array([w for _, w in table], dtype=np.float64)
    return values[int(rng.choice(len(values), p=p / p.sum()))]


def _uniform(rng: np.random.Generator, lo_hi: tuple[int, int]) -> int:
    lo, hi = lo_hi
    return int(rng.integers(lo, hi + 1))


def _ratio_to_coarse_fine(ratio: float) -> tuple[int, int]:
    """The (coarse, fine) pair of a ratio: ratio = coarse' × (1 + fine/100), coarse 0 = 0.5."""
    if ratio == 0.5:
        return 0, 0
    coarse = int(ratio)
    fine = int(round((ratio / coarse - 1.0) * 100))
    return coarse, min(max(fine, 0), 99)


def _depth(alg_number: int) -> dict[int, int]:
    """Modulation depth of every operator: carriers 0, their modulators 1, and so on."""
    alg = algorithm(alg_number)
    depth = {op: 0 for op in alg.carriers}
    changed = True
    while changed:
        changed = False
        for m, c in alg.edges:
            if c in depth and m not in depth:
                depth[m] = depth[c] + 1
                changed = True
    for op in range(1, 7):
        depth.setdefault(op, 1)  # unconnected operator: treated as a modulator
    return depth


def sample_family(rng: np.random.Generator) -> str:
    """Draw a family name by :data:`FAMILY_WEIGHTS`."""
    names = list(FAMILY_WEIGHTS)
    p = np.array([FAMILY_WEIGHTS[n] for n in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def sample_patch(seed: int, index: int, family: str | None = None) -> tuple[Patch, str]:
    """Patch number ``index`` of the prior with ``seed``, and its family name.

    Depends only on ``(seed, index)`` (and ``family`` when given): the same arguments
    give the same patch on every machine (numpy's PCG64 stream, integer outputs only).
    """
    rng = np.random.default_rng([int(seed), int(index)])
    fam_name = sample_family(rng) if family is None else family
    fam = FAMILIES[fam_name]
    weights = np.array([6.0 if n in fam.algorithms else 1.0 for n in range(1, 33)])
    alg_number = int(rng.choice(32, p=weights / weights.sum())) + 1
    alg = algorithm(alg_number)
    depth = _depth(alg_number)

    fixed = [0] * 6
    coarse = [1] * 6
    fine = [0] * 6
    detune = [0] * 6
    ol = [0] * 6
    rates = [[0] * 6 for _ in range(4)]
    levels = [[0] * 6 for _ in range(4)]
    sens = [0] * 6
    base_carrier = _pick(rng, fam.carrier_ratios)
    for op in range(1, 7):
        s = slot_of(op)
        carrier = op in alg.carriers
        if carrier:
            # the first carrier takes the base ratio; organ-like stacks vary the others
            ratio = base_carrier if op == alg.carriers[0] or rng.random() < 0.6 else None
            if ratio is None:
                ratio = _pick(rng, fam.carrier_ratios)
            c, f = _ratio_to_coarse_fine(ratio)
            ol[s] = _uniform(rng, fam.carrier_ol)
            r_ranges, l_ranges = fam.c_rate, fam.c_level
        else:
            if rng.random() < fam.fixed_prob:
                fixed[s] = 1
                c, f = int(rng.integers(1, 4)), int(rng.integers(0, 100))
            else:
                c, f = _ratio_to_coarse_fine(_pick(rng, fam.mod_ratios))
                if f == 0 and rng.random() < fam.fine_prob:
                    f = int(rng.integers(1, 100))
            lo, hi = fam.mod_ol
            drop = 6 * (depth[op] - 1)  # deeper modulators a little softer
            ol[s] = _uniform(rng, (max(lo - drop, 0), max(hi - drop, lo - drop, 1)))
            r_ranges, l_ranges = fam.m_rate, fam.m_level
        coarse[s], fine[s] = c, f
        if not fixed[s] and fam.detune and rng.random() < 0.5:
            detune[s] = int(rng.integers(-fam.detune, fam.detune + 1))
        for r in range(4):
            rates[r][s] = _uniform(rng, r_ranges[r])
        l1, l2, l3 = (_uniform(rng, l_ranges[i]) for i in range(3))
        levels[0][s], levels[1][s], levels[2][s], levels[3][s] = l1, l2, l3, 0
        sens[s] = int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1]))
    patch = Patch.from_dict(
        {
            "modmatrix": [list(r) for r in alg.modmatrix],
            "outmatrix": list(alg.outmatrix),
            "feedback": _uniform(rng, fam.feedback),
            "fixed_freq": fixed,
            "coarse": coarse,
            "fine": fine,
            "detune": detune,
            "transpose": int(_pick(rng, fam.transpose)),
            "ol": ol,
            "eg_rate": rates,
            "eg_level": levels,
            "sensitivity": sens,
        }
    )
    return patch, fam_name
