"""The DX7 patch value object and the constants of the patch contract.

The format: docs/patch-format.md.

Two operator orders live in one patch, exactly as on disk
(docs/patch-format.md#operator-order):

- ``modmatrix`` and ``outmatrix`` are **OP1-first** (index 0 = OP1);
- every per-operator array (``fixed_freq``, ``coarse``, ``fine``, ``detune``, ``ol``,
  ``sensitivity``) and the columns of ``eg_rate``/``eg_level`` are **OP6-first**
  (slot ``s`` belongs to operator ``OP(6 - s)``; slot 5 is OP1).

Use :meth:`Patch.operator` to read parameters by operator number and avoid the trap.
A :class:`Patch` always satisfies the contract (shapes, integer values, ranges, at most
one feedback diagonal): build one with :meth:`Patch.from_dict`, which validates.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from fmbench.patch.algorithms import Matrix, find_algorithm

#: the canonical key order (docs/patch-format.md#keys); serialisation always follows it
KEY_ORDER: tuple[str, ...] = (
    "modmatrix",
    "outmatrix",
    "feedback",
    "fixed_freq",
    "coarse",
    "fine",
    "detune",
    "transpose",
    "ol",
    "eg_rate",
    "eg_level",
    "sensitivity",
)

#: inclusive value range of every element of each key
RANGES: dict[str, tuple[int, int]] = {
    "modmatrix": (0, 1),
    "outmatrix": (0, 1),
    "feedback": (0, 7),
    "fixed_freq": (0, 1),
    "coarse": (0, 31),
    "fine": (0, 99),
    "detune": (-7, 7),
    "transpose": (-24, 24),
    "ol": (0, 99),
    "eg_rate": (0, 99),
    "eg_level": (0, 99),
    "sensitivity": (0, 7),
}

#: JSON shape of each key: () scalar, (6,) list, (rows, cols) list of lists
SHAPES: dict[str, tuple[int, ...]] = {
    "modmatrix": (6, 6),
    "outmatrix": (6,),
    "feedback": (),
    "fixed_freq": (6,),
    "coarse": (6,),
    "fine": (6,),
    "detune": (6,),
    "transpose": (),
    "ol": (6,),
    "eg_rate": (4, 6),
    "eg_level": (4, 6),
    "sensitivity": (6,),
}

#: how many values a patch holds (:meth:`Patch.to_values`)
N_VALUES = sum(math.prod(shape) for shape in SHAPES.values())
#: (key, offset of its first value, shape) in :meth:`Patch.to_values` order
_VALUE_LAYOUT = tuple(
    (key, sum(math.prod(SHAPES[k]) for k in KEY_ORDER[:i]), SHAPES[key])
    for i, key in enumerate(KEY_ORDER)
)

#: keys whose elements are 0/1 flags
BINARY_KEYS: frozenset[str] = frozenset({"modmatrix", "outmatrix", "fixed_freq"})

#: metadata keys that may accompany a patch in data files; stripped everywhere
METADATA_KEYS: frozenset[str] = frozenset({"name", "has_fixed_freqs"})

#: keys indexed by operator slot (OP6-first) — per-operator arrays and EG columns
SLOT_KEYS: frozenset[str] = frozenset(
    {"fixed_freq", "coarse", "fine", "detune", "ol", "sensitivity", "eg_rate", "eg_level"}
)


def slot_of(operator: int) -> int:
    """Array slot (0..5) of operator number 1..6 in per-operator arrays (OP6-first)."""
    if not 1 <= operator <= 6:
        raise ValueError(f"operator numbers are 1..6, got {operator}")
    return 6 - operator


@dataclass(frozen=True)
class Operator:
    """One operator's parameters, addressed by operator number (a read-only view)."""

    number: int
    is_carrier: bool
    modulators: tuple[int, ...]  # operator numbers that modulate this one (self = feedback)
    fixed_freq: int
    coarse: int
    fine: int
    detune: int
    ol: int
    eg_rate: tuple[int, int, int, int]
    eg_level: tuple[int, int, int, int]
    sensitivity: int


@dataclass(frozen=True)
class Patch:
    """A valid DX7 patch in the canonical 12-key form (see the module docstring)."""

    modmatrix: Matrix
    outmatrix: tuple[int, ...]
    feedback: int
    fixed_freq: tuple[int, ...]
    coarse: tuple[int, ...]
    fine: tuple[int, ...]
    detune: tuple[int, ...]
    transpose: int
    ol: tuple[int, ...]
    eg_rate: Matrix
    eg_level: Matrix
    sensitivity: tuple[int, ...]

    # -- construction ----------------------------------------------------------------
    @classmethod
    def from_dict(cls, obj: Any, *, context: str | None = None) -> Patch:
        """Validate a JSON-like mapping and build a patch; metadata keys are dropped.

        Raises :class:`~fmbench.patch.errors.InvalidPatchError` listing every problem.
        Integer-valued floats (``3.0``) are accepted and converted; ``3.5``, booleans,
        strings, NaN/Infinity, missing and unknown keys are problems.
        """
        from fmbench.patch.errors import InvalidPatchError
        from fmbench.patch.validate import validate

        problems = validate(obj)
        if problems:
            raise InvalidPatchError(problems, context)
        return cls._from_checked(obj)

    @classmethod
    def _from_checked(cls, obj: Mapping[str, Any]) -> Patch:
        """Build from a mapping already known to be valid (no checks)."""
        values: dict[str, Any] = {}
        for key in KEY_ORDER:
            v = obj[key]
            shape = SHAPES[key]
            if len(shape) == 0:
                values[key] = int(v)
            elif len(shape) == 1:
                values[key] = tuple(map(int, v))
            else:
                values[key] = tuple(tuple(map(int, row)) for row in v)
        return cls(**values)

    @classmethod
    def from_values(cls, values: Sequence[int]) -> Patch:
        """Build from :meth:`to_values` output (trusted: no checks beyond the length)."""
        if len(values) != N_VALUES:
            raise ValueError(f"a patch has {N_VALUES} values, got {len(values)}")
        v = list(map(int, values))
        parts: dict[str, Any] = {}
        for key, start, shape in _VALUE_LAYOUT:
            if not shape:
                parts[key] = v[start]
            elif len(shape) == 1:
                parts[key] = tuple(v[start : start + shape[0]])
            else:
                rows, cols = shape
                parts[key] = tuple(
                    tuple(v[start + r * cols : start + (r + 1) * cols]) for r in range(rows)
                )
        return cls(**parts)

    # -- views -----------------------------------------------------------------------
    def to_values(self) -> list[int]:
        """Every value, flattened in key order (:data:`KEY_ORDER`, rows first):
        :data:`N_VALUES` ints; :meth:`from_values` inverts it."""
        out: list[int] = []
        for key in KEY_ORDER:
            v = getattr(self, key)
            if not isinstance(v, tuple):
                out.append(v)
            elif v and isinstance(v[0], tuple):
                for row in v:
                    out.extend(row)
            else:
                out.extend(v)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict with the 12 keys in canonical order (lists, ints)."""
        out: dict[str, Any] = {}
        for key in KEY_ORDER:
            v = getattr(self, key)
            if isinstance(v, tuple):
                v = [list(r) if isinstance(r, tuple) else r for r in v]
            out[key] = v
        return out

    def to_json(self) -> str:
        """Compact canonical JSON (separators ``,`` and ``:``)."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def to_pretty_json(self) -> str:
        """The one-key-per-line form of SFT targets (docs/patch-format.md#serialized-forms)."""
        lines = []
        for key, value in self.to_dict().items():
            if isinstance(value, list) and value and isinstance(value[0], list):
                rows = ",\n".join("      " + json.dumps(r, separators=(",", ":")) for r in value)
                lines.append(f'  "{key}": [\n{rows}\n  ]')
            else:
                lines.append(f'  "{key}": {json.dumps(value, separators=(",", ":"))}')
        return "{\n" + ",\n".join(lines) + "\n}"

    @functools.cached_property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON: the patch's identity in caches and datasets
        (computed once per patch: the patch is immutable)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @property
    def algorithm(self) -> int | None:
        """The DX7 algorithm number (1..32) of the topology, or None if it is not one."""
        return find_algorithm(self.modmatrix, self.outmatrix)

    @property
    def has_fixed_freqs(self) -> bool:
        return any(self.fixed_freq)

    @property
    def carriers(self) -> tuple[int, ...]:
        """Carrier operator numbers (1..6)."""
        return tuple(k + 1 for k, v in enumerate(self.outmatrix) if v)

    def operator(self, number: int) -> Operator:
        """The parameters of OP``number`` (1..6), resolving both index conventions."""
        s = slot_of(number)
        row = self.modmatrix[number - 1]
        return Operator(
            number=number,
            is_carrier=bool(self.outmatrix[number - 1]),
            modulators=tuple(m + 1 for m in range(6) if row[m]),
            fixed_freq=self.fixed_freq[s],
            coarse=self.coarse[s],
            fine=self.fine[s],
            detune=self.detune[s],
            ol=self.ol[s],
            eg_rate=tuple(self.eg_rate[r][s] for r in range(4)),  # type: ignore[arg-type]
            eg_level=tuple(self.eg_level[r][s] for r in range(4)),  # type: ignore[arg-type]
            sensitivity=self.sensitivity[s],
        )

    def operators(self) -> tuple[Operator, ...]:
        """OP1..OP6, in operator-number order."""
        return tuple(self.operator(n) for n in range(1, 7))

    def replace(self, **changes: Any) -> Patch:
        """A copy with some keys replaced (validated)."""
        data = self.to_dict()
        data.update(changes)
        return Patch.from_dict(data)


assert tuple(f.name for f in fields(Patch)) == KEY_ORDER
