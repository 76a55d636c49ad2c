"""The 32 DX7 algorithms and the algorithm ↔ (modmatrix, outmatrix) mapping.

The table: docs/patch-format.md#algorithms.

Matrices are OP1-first: ``modmatrix[c][m] = 1`` means OP(m+1) modulates OP(c+1) and
``outmatrix[k] = 1`` means OP(k+1) is a carrier. Algorithms 4 and 6 have a feedback loop
through several operators on the hardware; like the reference, we encode them as
self-feedback on OP4 (algorithm 4) and OP5 (algorithm 6) — an approximation.
"""

from __future__ import annotations

from dataclasses import dataclass

Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Algorithm:
    """One DX7 algorithm: carriers, modulation edges (modulator → carrier) and feedback op."""

    number: int  # 1..32
    carriers: tuple[int, ...]  # operator numbers 1..6
    edges: tuple[tuple[int, int], ...]  # (modulator, modulated), operator numbers
    feedback_op: int  # operator with the diagonal 1

    @property
    def modmatrix(self) -> Matrix:
        rows = [[0] * 6 for _ in range(6)]
        for m, c in self.edges:
            rows[c - 1][m - 1] = 1
        rows[self.feedback_op - 1][self.feedback_op - 1] = 1
        return tuple(tuple(r) for r in rows)

    @property
    def outmatrix(self) -> tuple[int, ...]:
        return tuple(1 if op in self.carriers else 0 for op in range(1, 7))


def _alg(number: int, carriers: str, edges: str, fb: int) -> Algorithm:
    pairs = tuple((int(e.split(">")[0]), int(e.split(">")[1])) for e in edges.split() if e)
    return Algorithm(number, tuple(int(c) for c in carriers.split(",")), pairs, fb)


# number, carriers, edges "m>c", feedback operator (table in docs/patch-format.md#algorithms)
ALGORITHMS: tuple[Algorithm, ...] = (
    _alg(1, "1,3", "2>1 4>3 5>4 6>5", 6),
    _alg(2, "1,3", "2>1 4>3 5>4 6>5", 2),
    _alg(3, "1,4", "2>1 3>2 5>4 6>5", 6),
    _alg(4, "1,4", "2>1 3>2 5>4 6>5", 4),
    _alg(5, "1,3,5", "2>1 4>3 6>5", 6),
    _alg(6, "1,3,5", "2>1 4>3 6>5", 5),
    _alg(7, "1,3", "2>1 4>3 5>3 6>5", 6),
    _alg(8, "1,3", "2>1 4>3 5>3 6>5", 4),
    _alg(9, "1,3", "2>1 4>3 5>3 6>5", 2),
    _alg(10, "1,4", "2>1 3>2 5>4 6>4", 3),
    _alg(11, "1,4", "2>1 3>2 5>4 6>4", 6),
    _alg(12, "1,3", "2>1 4>3 5>3 6>3", 2),
    _alg(13, "1,3", "2>1 4>3 5>3 6>3", 6),
    _alg(14, "1,3", "2>1 4>3 5>4 6>4", 6),
    _alg(15, "1,3", "2>1 4>3 5>4 6>4", 2),
    _alg(16, "1", "2>1 3>1 5>1 4>3 6>5", 6),
    _alg(17, "1", "2>1 3>1 5>1 4>3 6>5", 2),
    _alg(18, "1", "2>1 3>1 4>1 5>4 6>5", 3),
    _alg(19, "1,4,5", "2>1 3>2 6>4 6>5", 6),
    _alg(20, "1,2,4", "3>1 3>2 5>4 6>4", 3),
    _alg(21, "1,2,4,5", "3>1 3>2 6>4 6>5", 3),
    _alg(22, "1,3,4,5", "2>1 6>3 6>4 6>5", 6),
    _alg(23, "1,2,4,5", "3>2 6>4 6>5", 6),
    _alg(24, "1,2,3,4,5", "6>3 6>4 6>5", 6),
    _alg(25, "1,2,3,4,5", "6>4 6>5", 6),
    _alg(26, "1,2,4", "3>2 5>4 6>4", 6),
    _alg(27, "1,2,4", "3>2 5>4 6>4", 3),
    _alg(28, "1,3,6", "2>1 4>3 5>4", 5),
    _alg(29, "1,2,3,5", "4>3 6>5", 6),
    _alg(30, "1,2,3,6", "4>3 5>4", 5),
    _alg(31, "1,2,3,4,5", "6>5", 6),
    _alg(32, "1,2,3,4,5,6", "", 6),
)

_BY_MATRICES: dict[tuple[Matrix, tuple[int, ...]], int] = {
    (a.modmatrix, a.outmatrix): a.number for a in ALGORITHMS
}


def algorithm(number: int) -> Algorithm:
    """The algorithm with DX7 number 1..32."""
    if not 1 <= number <= 32:
        raise ValueError(f"DX7 algorithm numbers are 1..32, got {number}")
    return ALGORITHMS[number - 1]


def find_algorithm(modmatrix: Matrix, outmatrix: tuple[int, ...]) -> int | None:
    """The DX7 algorithm number (1..32) whose matrices these are, or None."""
    key = (tuple(tuple(int(v) for v in row) for row in modmatrix), tuple(int(v) for v in outmatrix))
    return _BY_MATRICES.get(key)
