"""A JSON Schema (draft 2020-12) of the canonical patch, for constrained decoding and
tool calling (``fmbench patch schema``).

The schema states both operator orders correctly (docs/patch-format.md#operator-order):
the matrices are OP1-first, every per-operator array and the EG columns are OP6-first.
One rule of the contract is only *described*, not encoded, because decoders and
tool-calling APIs rarely support the needed ``not``/``prefixItems`` combinations: at most
one diagonal 1 in ``modmatrix``.
:func:`fmbench.patch.validate.validate` checks it.
"""

from __future__ import annotations

from typing import Any

from fmbench.patch.model import KEY_ORDER, RANGES, SHAPES

__all__ = ["SCHEMA_ID", "patch_json_schema"]

#: identifier of this schema version
SCHEMA_ID = "urn:fmbench:schema:dx7-patch:1"

_SLOTS = (
    "Per-operator array, OP6 FIRST: index 0 = OP6, 1 = OP5, 2 = OP4, 3 = OP3, 4 = OP2, "
    "5 = OP1 (the reverse of the matrices)."
)
_EG = "4 rows (stages 1..4) of 6 columns; columns are OP6 FIRST: column 0 = OP6 ... column 5 = OP1."

_DESCRIPTIONS: dict[str, str] = {
    "modmatrix": (
        "6x6 modulation matrix, OP1 FIRST in both dimensions: modmatrix[c][m] = 1 means "
        "OP(m+1) phase-modulates OP(c+1); row = modulated operator, column = modulator. "
        "A diagonal 1 is self-feedback; at most ONE diagonal entry may be 1."
    ),
    "outmatrix": "Carrier flags, OP1 FIRST: outmatrix[k] = 1 means OP(k+1) is heard.",
    "feedback": "Feedback depth 0..7 for the operator with the diagonal 1.",
    "fixed_freq": "1 = fixed-frequency oscillator, 0 = ratio mode. " + _SLOTS,
    "coarse": (
        "Frequency coarse 0..31: ratio (0 means 0.5) in ratio mode; in fixed mode only "
        "coarse mod 4 (the decade) matters. " + _SLOTS
    ),
    "fine": "Frequency fine 0..99: ratio x (1 + fine/100) in ratio mode. " + _SLOTS,
    "detune": "Detune -7..7 (1 cent per step). " + _SLOTS,
    "transpose": "Transpose in semitones, -24..24.",
    "ol": "Operator output level 0..99. " + _SLOTS,
    "eg_rate": "Envelope rates R1..R4, 0..99 (R1 attack, R4 release). " + _EG,
    "eg_level": "Envelope levels L1..L4, 0..99 (L3 sustain, L4 release target). " + _EG,
    "sensitivity": "Key velocity sensitivity 0..7. " + _SLOTS,
}


def _int(key: str) -> dict[str, Any]:
    lo, hi = RANGES[key]
    return {"type": "integer", "minimum": lo, "maximum": hi}


def _array(items: dict[str, Any], n: int) -> dict[str, Any]:
    return {"type": "array", "items": items, "minItems": n, "maxItems": n}


def _property(key: str) -> dict[str, Any]:
    shape = SHAPES[key]
    if not shape:
        prop = _int(key)
    elif len(shape) == 1:
        prop = _array(_int(key), shape[0])
    else:
        prop = _array(_array(_int(key), shape[1]), shape[0])
    return {"description": _DESCRIPTIONS[key], **prop}


def patch_json_schema(*, metadata: bool = False) -> dict[str, Any]:
    """The JSON Schema of a canonical patch (a fresh dict; safe to modify).

    ``metadata=True`` also allows the optional ``name`` (string) and ``has_fixed_freqs``
    (boolean) keys found in data files; by default exactly the 12 canonical keys.
    """
    props = {key: _property(key) for key in KEY_ORDER}
    if metadata:
        props["name"] = {"type": "string", "description": "Voice name (metadata, ignored)."}
        props["has_fixed_freqs"] = {
            "type": "boolean",
            "description": "True iff any operator is fixed-frequency (metadata, ignored).",
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "DX7 patch",
        "description": (
            "A Yamaha DX7 voice in fmbench's canonical 12-key form. Two operator orders: "
            "modmatrix and outmatrix are OP1 FIRST; every per-operator array (fixed_freq, "
            "coarse, fine, detune, ol, sensitivity) and the columns of eg_rate/eg_level are "
            "OP6 FIRST (index 0 = OP6, index 5 = OP1). At most one diagonal 1 in modmatrix."
        ),
        "type": "object",
        "properties": props,
        "required": list(KEY_ORDER),
        "additionalProperties": False,
    }
