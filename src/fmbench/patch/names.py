"""DX7 voice-name checks and cleaning (docs/patch-format.md#names)."""

from __future__ import annotations

from typing import Any

__all__ = ["NULL_NAME", "clean_name", "is_invalid_name", "is_valid_name_char"]

#: what :func:`clean_name` returns for a missing or empty name
NULL_NAME = "_NULLNAME_"
_NULL_SPELLINGS = frozenset({"NULL", "N/A", "NaN"})


def is_valid_name_char(ch: str) -> bool:
    """True iff ``ch`` may appear in a name: code point ≥ 32, not DEL (127), not ``/``/``\\``."""
    o = ord(ch)
    return o >= 32 and o != 127 and ch not in "/\\"


def is_invalid_name(x: Any) -> bool:
    """True for a non-string or a string with any invalid character (see
    :func:`is_valid_name_char`)."""
    if not isinstance(x, str):
        return True
    return not all(is_valid_name_char(ch) for ch in x)


def clean_name(x: Any) -> str:
    """A 10-character name: invalid characters dropped, padded with ``_`` or cut to 10.

    Non-strings, the exact strings ``NULL``/``N/A``/``NaN`` and names with nothing left
    after cleaning become ``_NULLNAME_``. Non-ASCII letters are kept.
    """
    if not isinstance(x, str) or x in _NULL_SPELLINGS:
        return NULL_NAME
    kept = "".join(ch for ch in x if is_valid_name_char(ch))
    if not kept:
        return NULL_NAME
    return kept.ljust(10, "_")[:10]
