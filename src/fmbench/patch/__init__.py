"""The DX7 patch contract: value object, algorithms, parsing, validation, SysEx."""

from fmbench.patch.algorithms import ALGORITHMS, Algorithm, algorithm, find_algorithm
from fmbench.patch.errors import InvalidPatchError, PatchParseError, Problem
from fmbench.patch.model import KEY_ORDER, RANGES, SHAPES, Operator, Patch, slot_of

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "InvalidPatchError",
    "KEY_ORDER",
    "Operator",
    "Patch",
    "PatchParseError",
    "Problem",
    "RANGES",
    "SHAPES",
    "algorithm",
    "find_algorithm",
    "slot_of",
]
