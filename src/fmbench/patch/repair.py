"""Explicit, opt-in repair of parsed-but-invalid patches. Never applied implicitly.

Two policies (:class:`RepairPolicy`):

``seed``
    The original work's pre-render repair (docs/patch-format.md#repair), exactly: per
    key, a missing or non-list field becomes the default; lists are truncated or padded to
    6 from the default; ``outmatrix`` and ``fixed_freq`` elements become
    ``0 if int(v) <= 0 else 1``;
    ``modmatrix`` and the EG matrices are reshaped to 6×6 / 4×6 with missing rows and cells
    from the default; ``feedback``/``transpose`` go through ``int()`` (default on failure).
    Values are **not** range-clamped and other elements are not converted, so the result
    may still be invalid: :func:`seed_repair` returns that dict, and :func:`repair` with
    this policy *rejects* it (:class:`~fmbench.patch.errors.InvalidPatchError`) unless it
    passes strict validation.
``clamp``
    ``seed`` reshaping, then every element is made an integer (numbers and numeric
    strings rounded half away from zero; NaN, non-numeric values and failed conversions
    take the default value; ±Infinity go to the range ends), clamped to its range, and all
    but the lowest-numbered operator's diagonal 1 are dropped. Always yields a valid
    :class:`~fmbench.patch.model.Patch`.

Defaults are the init voice of the SysEx writer (docs/patch-format.md#sysex), used *as is*
in the slot-ordered JSON, like the original (so ``ol`` = ``[99,0,0,0,0,0]`` gives OP6
level 99):
see :data:`DEFAULTS` and :func:`init_voice`. Every change is described in the returned
notes.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from fmbench.patch.algorithms import algorithm
from fmbench.patch.errors import InvalidPatchError, Problem
from fmbench.patch.model import KEY_ORDER, RANGES, SHAPES, Patch
from fmbench.patch.validate import validate

__all__ = ["DEFAULTS", "RepairPolicy", "init_voice", "repair", "seed_repair"]


class RepairPolicy(StrEnum):
    """How :func:`repair` turns an invalid patch dict into a :class:`Patch`."""

    SEED = "seed"
    CLAMP = "clamp"


_ALG32 = algorithm(32)

#: the init-voice defaults, as the original repair uses them (lists taken as is)
DEFAULTS: dict[str, Any] = {
    "modmatrix": [list(r) for r in _ALG32.modmatrix],
    "outmatrix": list(_ALG32.outmatrix),
    "feedback": 0,
    "fixed_freq": [0] * 6,
    "coarse": [1] * 6,
    "fine": [0] * 6,
    "detune": [0] * 6,
    "transpose": 0,
    "ol": [99, 0, 0, 0, 0, 0],
    "eg_rate": [[95] * 6 for _ in range(4)],
    "eg_level": [[99] * 6, [99] * 6, [99] * 6, [0] * 6],
    "sensitivity": [2, 0, 0, 0, 0, 0],
}


def init_voice() -> Patch:
    """The original work's default voice (the "default_fallback" of inference)."""
    return Patch.from_dict(DEFAULTS)


def _default(key: str) -> Any:
    return copy.deepcopy(DEFAULTS[key])


def _seed_bit(v: Any, default: int) -> tuple[int, bool]:
    try:
        return (0 if int(v) <= 0 else 1), True
    except (TypeError, ValueError, OverflowError):
        return default, False


def seed_repair(obj: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The original work's repair (no clamping; the result may still be invalid).

    Returns the 12-key dict in canonical order and notes describing every change.
    """
    if not isinstance(obj, Mapping):
        raise InvalidPatchError([Problem("", "a patch must be a JSON object")], "repair")
    out: dict[str, Any] = {}
    notes: list[str] = []
    for key in KEY_ORDER:
        default = _default(key)
        shape = SHAPES[key]
        present = key in obj
        v = obj.get(key)
        if not present:
            notes.append(f"{key}: missing, default used")
            out[key] = default
            continue
        if not shape:
            try:
                out[key] = int(v)
                if type(v) is not int:
                    notes.append(f"{key}: {v!r} cast to {out[key]}"[:200])
            except (TypeError, ValueError, OverflowError):
                out[key] = default
                notes.append(f"{key}: {_short(v)} is not a number, default {default} used")
            continue
        if not isinstance(v, (list, tuple)):
            out[key] = default
            notes.append(f"{key}: not a list ({_short(v)}), default used")
            continue
        if len(shape) == 1:
            row = _fit(list(v), default, key, notes)
            if key in ("outmatrix", "fixed_freq"):
                for i, x in enumerate(row):
                    bit, ok = _seed_bit(x, default[i])
                    if bit != x or type(x) is not int:
                        notes.append(f"{key}[{i}]: {_short(x)} -> {bit}")
                    row[i] = bit
            out[key] = row
            continue
        rows = list(v[: shape[0]])
        if len(v) != shape[0]:
            notes.append(f"{key}: {len(v)} rows, reshaped to {shape[0]}")
        rows += default[len(rows) :]
        fixed = []
        for i, r in enumerate(rows):
            if not isinstance(r, (list, tuple)):
                notes.append(f"{key}[{i}]: not a list ({_short(r)}), default row used")
                fixed.append(list(default[i]))
            else:
                fixed.append(_fit(list(r), default[i], f"{key}[{i}]", notes))
        out[key] = fixed
    return out, notes


def _fit(row: list, default: list, where: str, notes: list[str]) -> list:
    n = len(default)
    if len(row) > n:
        notes.append(f"{where}: {len(row)} elements, truncated to {n}")
        return row[:n]
    if len(row) < n:
        notes.append(f"{where}: {len(row)} elements, padded to {n} from the default")
        return row + list(default[len(row) :])
    return row


def _short(v: Any) -> str:
    text = repr(v) if isinstance(v, (int, float, str, bool, type(None))) else type(v).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _to_int(v: Any, key: str, default: int) -> tuple[int, str | None]:
    """Round and clamp one element; returns the value and a note if it changed."""
    lo, hi = RANGES[key]
    if isinstance(v, bool):
        x: float | None = float(v)
    elif isinstance(v, (int, float, str)) or hasattr(v, "__float__"):
        try:
            x = float(v)
        except (TypeError, ValueError, OverflowError):
            x = None
    else:
        x = None
    if type(v) is int and lo <= v <= hi:
        return v, None
    if x is None or math.isnan(x):
        return default, f"{_short(v)} is not a number, default {default} used"
    if math.isinf(x):
        r = hi if x > 0 else lo
    else:
        r = int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)
    c = min(hi, max(lo, r))
    if c != r or math.isinf(x):
        return c, f"{_short(v)} clamped to {c} (range {lo}..{hi})"
    return c, f"{_short(v)} -> {c}"


def _clamp(d: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in KEY_ORDER:
        v, default, shape = d[key], DEFAULTS[key], SHAPES[key]
        if not shape:
            out[key], note = _to_int(v, key, default)
            if note:
                notes.append(f"{key}: {note}")
        elif len(shape) == 1:
            row = []
            for i, x in enumerate(v):
                c, note = _to_int(x, key, default[i])
                if note:
                    notes.append(f"{key}[{i}]: {note}")
                row.append(c)
            out[key] = row
        else:
            rows = []
            for i, r in enumerate(v):
                row = []
                for j, x in enumerate(r):
                    c, note = _to_int(x, key, default[i][j])
                    if note:
                        notes.append(f"{key}[{i}][{j}]: {note}")
                    row.append(c)
                rows.append(row)
            out[key] = rows
    diag = [i for i in range(6) if out["modmatrix"][i][i] == 1]
    for i in diag[1:]:
        out["modmatrix"][i][i] = 0
        notes.append(f"modmatrix[{i}][{i}]: extra feedback diagonal dropped (kept OP{diag[0] + 1})")
    return out


def repair(
    obj: Mapping[str, Any], policy: RepairPolicy | str = RepairPolicy.CLAMP
) -> tuple[Patch, list[str]]:
    """Turn a parsed patch dict into a valid :class:`Patch` under an explicit ``policy``.

    Returns ``(patch, notes)``; ``notes`` is empty when nothing had to change. With
    ``"seed"`` a result that is still invalid raises
    :class:`~fmbench.patch.errors.InvalidPatchError`; ``"clamp"`` always succeeds for a
    mapping. A non-mapping raises :class:`InvalidPatchError` under both policies.
    """
    policy = RepairPolicy(policy)
    reshaped, notes = seed_repair(obj)
    if policy is RepairPolicy.CLAMP:
        reshaped = _clamp(reshaped, notes)
    problems = validate(reshaped)
    if problems:
        raise InvalidPatchError(problems, f"still invalid after {policy.value!r} repair")
    return Patch.from_dict(reshaped), notes
