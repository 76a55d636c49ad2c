"""The DX7 patch contract: value object, algorithms, parsing, validation, SysEx."""

from fmbench.patch.algorithms import ALGORITHMS, Algorithm, algorithm, find_algorithm
from fmbench.patch.canonical import canonicalize, strip_metadata
from fmbench.patch.errors import InvalidPatchError, PatchParseError, Problem
from fmbench.patch.model import KEY_ORDER, RANGES, SHAPES, Operator, Patch, slot_of
from fmbench.patch.names import clean_name, is_invalid_name
from fmbench.patch.parse import ParsedReply, find_last_patch, parse_patch, parse_reply
from fmbench.patch.repair import RepairPolicy, init_voice, repair, seed_repair
from fmbench.patch.schema import patch_json_schema
from fmbench.patch.validate import discrete_problems, is_valid, validate

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "InvalidPatchError",
    "KEY_ORDER",
    "Operator",
    "ParsedReply",
    "Patch",
    "PatchParseError",
    "Problem",
    "RANGES",
    "RepairPolicy",
    "SHAPES",
    "algorithm",
    "canonicalize",
    "clean_name",
    "discrete_problems",
    "find_algorithm",
    "find_last_patch",
    "init_voice",
    "is_invalid_name",
    "is_valid",
    "parse_patch",
    "parse_reply",
    "patch_json_schema",
    "repair",
    "seed_repair",
    "slot_of",
    "strip_metadata",
    "validate",
]
