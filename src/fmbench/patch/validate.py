"""Validation of patch-like objects: structured problems, never exceptions.

The modes, in short: docs/patch-format.md#validation.

:func:`validate` accepts *any* Python object (what a JSON or literal parser returned) and
returns a list of :class:`~fmbench.patch.errors.Problem` — empty means valid. It never
raises for bad input and never prints. Three modes:

``"strict"`` (default; fmbench's contract, what :meth:`Patch.from_dict` uses)
    all 12 keys present; no unknown keys except the metadata keys ``name`` (a string) and
    ``has_fixed_freqs`` (a real ``bool``); exact shapes (lists); every element an ``int``
    or an integer-valued finite float (``3.0`` is fine, ``3.5`` is not); booleans, strings,
    NaN and Infinity are problems; ranges per :data:`~fmbench.patch.model.RANGES`; at most
    one diagonal 1 in ``modmatrix``.
``"seed"``
    the original work's validator ``validate_specs``: ranges, the feedback-diagonal rule and
    shapes, but floats such as ``50.5`` pass, ``True`` passes as 1 and unknown keys are
    ignored. Where the reference raises (``KeyError`` for a missing key, ``IndexError`` for
    too few ``modmatrix``/EG rows, ``TypeError`` for a string or list where a number
    belongs), a problem is returned instead and its message names the exception.
``"discrete"``
    GRPO reward validity: the discrete schema check (:func:`discrete_problems`:
    all keys, exact list shapes, binary keys numerically 0/1, other values integer-like
    within 1e-6 and in range after rounding, numeric strings and bools accepted, at most one
    diagonal) **and** the ``seed`` check. Numeric strings therefore pass the discrete part but
    still fail overall, because ``validate_specs`` raises on them — as in the reference.

At most :data:`MAX_PROBLEMS` problems are reported (a final problem says how many more).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, Literal

from fmbench.patch.errors import Problem
from fmbench.patch.model import BINARY_KEYS, KEY_ORDER, METADATA_KEYS, RANGES, SHAPES

__all__ = ["MAX_PROBLEMS", "MODES", "Mode", "discrete_problems", "is_valid", "validate"]

Mode = Literal["strict", "seed", "discrete"]
#: the validation modes accepted by :func:`validate`
MODES: tuple[str, ...] = ("strict", "seed", "discrete")
#: cap on the number of problems returned (a huge malformed object stays cheap)
MAX_PROBLEMS = 200

_SEQ = (list, tuple)
_MISSING = object()


class _Full(Exception):
    """Internal: the problem list reached MAX_PROBLEMS."""


class _Problems(list):
    def add(self, path: str, message: str, value: Any = None, allowed: str | None = None) -> None:
        if len(self) >= MAX_PROBLEMS:
            raise _Full
        self.append(Problem(path, message, _summary(value), allowed))


def validate(obj: Any, *, mode: Mode = "strict") -> list[Problem]:
    """Every problem of ``obj`` as a patch under ``mode`` (empty list = valid).

    Never raises for any ``obj`` and never prints; an unknown ``mode`` is a programming
    error (``ValueError``).
    """
    if mode not in MODES:
        raise ValueError(f"unknown validation mode {mode!r}; choose one of {', '.join(MODES)}")
    problems = _Problems()
    try:
        if mode == "strict":
            _strict(obj, problems)
        elif mode == "seed":
            _seed(obj, problems)
        else:
            _discrete(obj, problems)
            seen = {(p.path, p.message) for p in problems}
            extra = _Problems()
            _seed(obj, extra)
            for p in extra:
                if (p.path, p.message) not in seen:
                    problems.add(p.path, p.message, p.value, p.allowed)
    except _Full:
        problems.append(Problem("", f"too many problems; only the first {MAX_PROBLEMS} shown"))
    except Exception as exc:  # a hostile object (custom __eq__, __len__, ...) must not escape
        problems.append(Problem("", f"could not validate: {type(exc).__name__}: {exc}"[:300]))
    return list(problems)


def is_valid(obj: Any, *, mode: Mode = "strict") -> bool:
    """True iff :func:`validate` finds no problem."""
    return not validate(obj, mode=mode)


def discrete_problems(obj: Any) -> list[Problem]:
    """The GRPO discrete schema check alone, without the ``seed`` validator."""
    problems = _Problems()
    try:
        _discrete(obj, problems)
    except _Full:
        problems.append(Problem("", f"too many problems; only the first {MAX_PROBLEMS} shown"))
    except Exception as exc:
        problems.append(Problem("", f"could not validate: {type(exc).__name__}: {exc}"[:300]))
    return list(problems)


# -- helpers ---------------------------------------------------------------------------
def _summary(value: Any) -> Any:
    """A small, printable stand-in for a value (containers are described, not copied)."""
    if value is None or isinstance(value, (bool, int, float)):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
            return f"<int with {len(str(abs(value))) if abs(value) < 10**4000 else 'many'} digits>"
        return value
    if isinstance(value, str):
        return value if len(value) <= 80 else value[:77] + "..."
    if isinstance(value, numbers.Number):
        try:
            return float(value)  # numpy scalars, Fraction, Decimal
        except Exception:
            pass
    if isinstance(value, (list, tuple, dict, set)):
        return f"<{type(value).__name__} of {len(value)}>"
    return f"<{type(value).__name__}>"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, _SEQ):
        return "a list"
    if isinstance(value, numbers.Number):
        return "a number"
    return f"a {type(value).__name__}"


def _allowed(key: str) -> str:
    lo, hi = RANGES[key]
    return "0 or 1" if key in BINARY_KEYS else f"{lo}..{hi}"


def _shape_text(key: str) -> str:
    shape = SHAPES[key]
    if not shape:
        return "an integer"
    if len(shape) == 1:
        return f"a list of {shape[0]} integers"
    return f"a list of {shape[0]} lists of {shape[1]} integers"


def _is_numpy_bool(value: Any) -> bool:
    t = type(value)
    return t.__module__ == "numpy" and t.__name__ in ("bool_", "bool")


def _cells(key: str, value: Any, problems: _Problems, *, reference: str = "") -> list:
    """(path, element) pairs of a key after checking its list shape; shape problems are
    recorded. Only positions inside the canonical shape are returned."""
    shape = SHAPES[key]
    if not shape:
        return [(key, value)]
    if not isinstance(value, _SEQ):
        problems.add(key, f"must be {_shape_text(key)}, got {_kind(value)}{reference}", value)
        return []
    rows = shape[0]
    if len(value) != rows:
        problems.add(key, f"must have {rows} elements, got {len(value)}", value, _shape_text(key))
    if len(shape) == 1:
        return [(f"{key}[{i}]", v) for i, v in enumerate(value[:rows])]
    cols = shape[1]
    out = []
    for i, row in enumerate(value[:rows]):
        path = f"{key}[{i}]"
        if not isinstance(row, _SEQ):
            problems.add(
                path, f"must be a list of {cols} integers, got {_kind(row)}{reference}", row
            )
            continue
        if len(row) != cols:
            problems.add(path, f"must have {cols} elements, got {len(row)}", row)
        out.extend((f"{path}[{j}]", v) for j, v in enumerate(row[:cols]))
    return out


def _diagonal(mm: Any) -> list[int]:
    """Indices i with a numerically-1 diagonal cell (cells that exist and are numbers)."""
    found = []
    if not isinstance(mm, _SEQ):
        return found
    for i, row in enumerate(mm[:6]):
        if isinstance(row, _SEQ) and len(row) > i:
            v = row[i]
            if isinstance(v, numbers.Real) and not isinstance(v, bool) and v == 1:
                found.append(i)
            elif v is True:
                found.append(i)
    return found


# -- strict ----------------------------------------------------------------------------
def _strict_number(path: str, v: Any, key: str, problems: _Problems) -> None:
    lo, hi = RANGES[key]
    allowed = _allowed(key)
    if type(v) is int:
        x = v
    elif isinstance(v, bool) or _is_numpy_bool(v):
        problems.add(path, f"booleans are not allowed, use {lo} or {hi}", v, allowed)
        return
    elif isinstance(v, numbers.Integral):
        x = int(v)
    elif isinstance(v, numbers.Real):
        f = float(v)
        if not math.isfinite(f):
            problems.add(path, f"{f} is not a finite number", v, allowed)
            return
        if not f.is_integer():
            problems.add(path, f"must be an integer, got {f}", v, allowed)
            return
        x = int(f)
    elif isinstance(v, str):
        problems.add(path, f"must be a number, got the string {v[:40]!r}", v, allowed)
        return
    else:
        problems.add(path, f"must be an integer, got {_kind(v)}", v, allowed)
        return
    if not lo <= x <= hi:
        problems.add(path, f"{x} is out of range", v, allowed)


def _plain_in_range(key: str, value: Any) -> bool:
    """Whether ``value`` has exactly the key's shape and holds only plain ints in range:
    the common case, confirmed without building a path per cell."""
    lo, hi = RANGES[key]
    shape = SHAPES[key]
    if not shape:
        return type(value) is int and lo <= value <= hi
    if type(value) is not list or len(value) != shape[0]:
        return False
    rows = value if len(shape) == 2 else [value]
    width = shape[1] if len(shape) == 2 else shape[0]
    for row in rows:
        if type(row) is not list or len(row) != width:
            return False
        for v in row:
            if type(v) is not int or not lo <= v <= hi:
                return False
    return True


def _strict(obj: Any, problems: _Problems) -> None:
    if not isinstance(obj, Mapping):
        problems.add("", f"a patch must be a JSON object, got {_kind(obj)}", obj)
        return
    for key in KEY_ORDER:
        if key not in obj:
            problems.add(key, "missing key", None, _shape_text(key))
            continue
        if _plain_in_range(key, obj[key]):
            continue
        for path, v in _cells(key, obj[key], problems):
            _strict_number(path, v, key, problems)
    for key, value in obj.items():
        if key in RANGES:
            continue
        if key == "name":
            if not isinstance(value, str):
                problems.add("name", f"metadata 'name' must be a string, got {_kind(value)}", value)
        elif key == "has_fixed_freqs":
            if type(value) is not bool:
                problems.add(
                    "has_fixed_freqs", "metadata must be true or false", value, "true, false"
                )
        else:
            path = key if isinstance(key, str) else repr(key)
            problems.add(
                path[:80],
                "unknown key",
                None,
                ", ".join(KEY_ORDER) + " (metadata: " + ", ".join(sorted(METADATA_KEYS)) + ")",
            )
    diag = _diagonal(obj.get("modmatrix"))
    if len(diag) > 1:
        ops = ", ".join(f"OP{i + 1}" for i in diag)
        problems.add(
            "modmatrix",
            f"at most one operator may have feedback (a diagonal 1); found {len(diag)}: {ops}",
            None,
            "0 or 1 diagonal entries equal to 1",
        )


# -- seed (the original validate_specs) -----------------------------------------------
def _seed_cmp(path: str, v: Any, key: str, problems: _Problems) -> None:
    lo, hi = RANGES[key]
    if v is None or isinstance(v, (str, bytes, list, tuple, dict, set)):
        problems.add(
            path,
            f"must be a number, got {_kind(v)} (reference validate_specs raises TypeError)",
            v,
            f"{lo}..{hi}",
        )
        return
    try:
        ok = bool(lo <= v <= hi)
    except Exception as exc:
        problems.add(
            path,
            f"not comparable with a number (reference validate_specs raises {type(exc).__name__})",
            v,
            f"{lo}..{hi}",
        )
        return
    if not ok:
        problems.add(path, f"{_summary(v)} is out of range", v, f"{lo}..{hi}")


def _seed_elements(key: str, value: Any, problems: _Problems, rows: int | None = None) -> None:
    """Range-check every element the reference iterates over (all elements of a list, or
    every element of the first ``rows`` rows of a matrix)."""
    if not SHAPES[key]:
        _seed_cmp(key, value, key, problems)
        return
    if not isinstance(value, _SEQ):
        problems.add(
            key,
            f"must be {_shape_text(key)}, got {_kind(value)} (reference validate_specs raises"
            " TypeError)",
            value,
        )
        return
    if len(SHAPES[key]) == 1:
        for i, v in enumerate(value):
            _seed_cmp(f"{key}[{i}]", v, key, problems)
        return
    n = len(value) if rows is None else rows
    for i in range(n):
        if i >= len(value):
            problems.add(
                key,
                f"has {len(value)} rows, needs {SHAPES[key][0]} (reference validate_specs raises"
                " IndexError)",
                value,
            )
            return
        row = value[i]
        if not isinstance(row, _SEQ):
            problems.add(
                f"{key}[{i}]",
                f"must be a list, got {_kind(row)} (reference validate_specs raises TypeError)",
                row,
            )
            continue
        for j, v in enumerate(row):
            _seed_cmp(f"{key}[{i}][{j}]", v, key, problems)


def _seed_len(key: str, value: Any, problems: _Problems) -> None:
    shape = SHAPES[key]
    if not isinstance(value, _SEQ):
        return  # already reported as a TypeError by the element check
    if len(value) != shape[0]:
        problems.add(key, f"must have {shape[0]} elements, got {len(value)}", value)
    if len(shape) == 2:
        for i, row in enumerate(value):
            if isinstance(row, _SEQ) and len(row) != shape[1]:
                problems.add(f"{key}[{i}]", f"must have {shape[1]} elements, got {len(row)}", row)


def _seed(obj: Any, problems: _Problems) -> None:
    if not isinstance(obj, Mapping):
        problems.add(
            "",
            f"a patch must be a JSON object, got {_kind(obj)} (reference validate_specs raises"
            " TypeError)",
            obj,
        )
        return
    present = {}
    for key in KEY_ORDER:
        if key in obj:
            present[key] = obj[key]
        else:
            problems.add(
                key,
                "missing key (reference validate_specs raises KeyError)",
                None,
                _shape_text(key),
            )
    # element ranges, in the reference's order
    for key in ("modmatrix", "outmatrix", "feedback", "fixed_freq", "coarse", "fine"):
        if key in present:
            _seed_elements(key, present[key], problems)
            if key == "modmatrix":
                _seed_diagonal(present[key], problems)
    for key in ("detune", "transpose", "ol"):
        if key in present:
            _seed_elements(key, present[key], problems)
    for key in ("eg_rate", "eg_level"):
        if key in present:
            _seed_elements(key, present[key], problems, rows=4)
    if "sensitivity" in present:
        _seed_elements("sensitivity", present["sensitivity"], problems)
    for key in KEY_ORDER:
        if key in present and SHAPES[key]:
            _seed_len(key, present[key], problems)
    if "has_fixed_freqs" in obj and type(obj["has_fixed_freqs"]) is not bool:
        problems.add("has_fixed_freqs", "must be a boolean", obj["has_fixed_freqs"], "true, false")


def _seed_diagonal(mm: Any, problems: _Problems) -> None:
    if not isinstance(mm, _SEQ):
        return
    total = 0.0
    for i in range(6):
        if i >= len(mm) or not isinstance(mm[i], _SEQ) or i >= len(mm[i]):
            problems.add(
                "modmatrix",
                f"diagonal cell [{i}][{i}] does not exist (reference validate_specs raises"
                " IndexError)",
                mm,
                "6 rows of 6",
            )
            return
        v = mm[i][i]
        try:
            total = total + v
            float(total)
        except Exception:
            return  # the element check already reported the TypeError
    if total > 1:
        problems.add(
            "modmatrix",
            f"multiple operators have feedback (diagonal sum {_summary(total)})",
            None,
            "diagonal sum <= 1",
        )


# -- discrete (GRPO) ------------------------------------------------------------------
def _as_float(v: Any) -> float | None:
    if isinstance(v, (str, bool, numbers.Real)) or _is_numpy_bool(v):
        try:
            f = float(v)
        except (TypeError, ValueError, OverflowError):
            return None
        return f
    return None


def _discrete(obj: Any, problems: _Problems) -> None:
    if not isinstance(obj, Mapping):
        problems.add("", f"a patch must be a JSON object, got {_kind(obj)}", obj)
        return
    diag_ones = []
    for key in KEY_ORDER:
        if key not in obj:
            problems.add(key, "missing key", None, _shape_text(key))
            continue
        lo, hi = RANGES[key]
        for path, v in _cells(key, obj[key], problems):
            f = _as_float(v)
            if f is None:
                problems.add(path, f"not numeric ({_kind(v)})", v, _allowed(key))
                continue
            if key in BINARY_KEYS:
                if abs(f) <= 1e-6:
                    continue
                if abs(f - 1) <= 1e-6:
                    if key == "modmatrix" and path[10] == path[13]:  # modmatrix[i][i]
                        diag_ones.append(path)
                    continue
                problems.add(path, f"must be 0 or 1, got {_summary(v)}", v, "0 or 1")
                continue
            if not math.isfinite(f):
                problems.add(path, f"{f} is not a finite number", v, _allowed(key))
                continue
            r = round(f)
            if abs(f - r) > 1e-6:
                problems.add(path, f"must be integer-like, got {_summary(v)}", v, _allowed(key))
            elif not lo <= r <= hi:
                problems.add(path, f"{r} is out of range", v, _allowed(key))
    if len(diag_ones) > 1:
        problems.add(
            "modmatrix",
            f"at most one diagonal 1 allowed; found {len(diag_ones)}",
            None,
            "0 or 1 diagonal entries equal to 1",
        )
