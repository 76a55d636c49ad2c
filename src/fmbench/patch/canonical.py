"""Canonicalisation of parsed patch dicts (docs/patch-format.md#canonicalisation).

Two variants, as in the reference:

- **inference / SFT** (``require_all=True``): drop the metadata keys, fail if any of the
  12 canonical keys is missing (the reference records this as a *parse* failure), keep only
  the 12 keys, in canonical order;
- **GRPO prediction** (``require_all=False``): drop the metadata keys and keep whichever
  canonical keys are present (partial dicts are allowed; missing keys cost reward).

Values are not checked or converted here; use :func:`fmbench.patch.validate.validate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fmbench.patch.errors import PatchParseError
from fmbench.patch.model import KEY_ORDER, METADATA_KEYS

__all__ = ["REMOVED_KEYS", "canonicalize", "strip_metadata"]

#: keys dropped before canonicalisation: the metadata keys plus the reference's
#: misspelt ``has_fixed_freq`` (its inference default list)
REMOVED_KEYS: frozenset[str] = METADATA_KEYS | {"has_fixed_freq"}


def strip_metadata(d: Mapping[str, Any], keys: Iterable[str] = REMOVED_KEYS) -> dict[str, Any]:
    """A copy of ``d`` without the metadata keys (``name``, ``has_fixed_freqs``, ...)."""
    if not isinstance(d, Mapping):
        raise PatchParseError(f"a patch must be a JSON object, got {type(d).__name__}")
    drop = frozenset(keys)
    return {k: v for k, v in d.items() if k not in drop}


def canonicalize(d: Mapping[str, Any], *, require_all: bool = True) -> dict[str, Any]:
    """The canonical keys of ``d`` in canonical order, metadata and unknown keys dropped.

    With ``require_all`` (inference/SFT) a missing key raises
    :class:`~fmbench.patch.errors.PatchParseError`; without it (GRPO predictions) the
    present subset is returned.
    """
    d = strip_metadata(d)
    missing = [k for k in KEY_ORDER if k not in d]
    if missing and require_all:
        raise PatchParseError(f"patch is missing key(s): {', '.join(missing)}")
    return {k: d[k] for k in KEY_ORDER if k in d}
