"""Extract the last patch object from a model reply, safely and in bounded time.

The rules, in short: docs/patch-format.md#parsing.

:func:`parse_reply` tries, in this order (the first success wins):

1. **Fenced blocks.** Every ```` ```json ```` block whose body (after optional whitespace)
   starts with ``{`` and ends with ``}`` followed by optional whitespace and a closing
   ```` ``` ```` — the body is the *shortest* such span, exactly like the reference's
   non-greedy regex. Only if there is no ``json``-tagged block, plain ```` ``` ```` blocks of
   the same form are collected. Blocks are tried last to first with a strict JSON parse.
2. **Brace scan.** For every ``{`` from the last one backwards, decode one JSON value
   starting there (trailing text allowed). A nested object is therefore found before its
   parent (``{"x": {"y": 3}}`` gives ``{"y": 3}``).
3. **Legacy literal.** The last ``specs = {...}`` (non-greedy up to the first ``}``) is read
   as a Python literal with :func:`ast.literal_eval` — never ``eval`` — after length and
   nesting-depth checks. If that fails, or the literal is not a dict, parsing fails.

Anything else raises :class:`~fmbench.patch.errors.PatchParseError` (a ``ValueError``) with
a message saying why. ``<think>`` blocks are ordinary text here. ``NaN``/``Infinity``
literals are parsed (as floats); :func:`fmbench.patch.validate.validate` reports them.
Bytes are decoded as UTF-8 with ``errors="replace"``.

Bounds (so that hostile input cannot hang the caller; realistic replies never reach them):

- the text may hold at most :data:`MAX_TEXT_CHARS` characters;
- closing fences are indexed once, so step 1 is O(n log n) instead of the regex's
  worst-case O(n²), and only the last :data:`MAX_FENCED_BLOCKS` blocks of a kind are tried;
- the brace scan examines at most :data:`MAX_BRACES` ``{`` characters and attempts at most
  :data:`MAX_DECODE_ATTEMPTS` decodes (a ``{`` that is not followed by optional whitespace
  and ``}`` or by a first key of at most :data:`MAX_FIRST_KEY` characters and ``:`` is
  skipped without a decode — it cannot start an object, or only one whose first key is
  absurdly long for a patch), and stops once
  the decoder has consumed :data:`SCAN_WORK_FACTOR` × the text length (+1 MB) characters
  in total across failed attempts (each attempt decodes a window that grows only when a
  failure may be caused by the cut, so semantics are unchanged). Stopping early is
  reported in the error message;
- JSON nested deeper than the interpreter's recursion limit is a failed candidate, never a
  ``RecursionError``;
- the legacy literal may be at most :data:`MAX_LITERAL_CHARS` long and
  :data:`MAX_LITERAL_DEPTH` brackets deep.
"""

from __future__ import annotations

import ast
import bisect
import json
import re
from dataclasses import dataclass
from typing import Any

from fmbench.patch.errors import PatchParseError
from fmbench.patch.model import Patch

__all__ = [
    "MAX_BRACES",
    "MAX_DECODE_ATTEMPTS",
    "MAX_FENCED_BLOCKS",
    "MAX_FIRST_KEY",
    "MAX_LITERAL_CHARS",
    "MAX_LITERAL_DEPTH",
    "MAX_TEXT_CHARS",
    "SCAN_WORK_FACTOR",
    "ParsedReply",
    "find_last_patch",
    "parse_patch",
    "parse_reply",
]

#: longest accepted reply, in characters (a 10 MB reply is fine)
MAX_TEXT_CHARS = 64 * 1024 * 1024
#: most fenced blocks tried per kind (the last ones; realistic replies hold a handful)
MAX_FENCED_BLOCKS = 10_000
#: most ``{`` characters the brace scan looks at (realistic replies hold far fewer)
MAX_BRACES = 50_000
#: most JSON decode attempts in the brace scan
MAX_DECODE_ATTEMPTS = 10_000
#: longest first key of an object the brace scan can find (patch keys are short)
MAX_FIRST_KEY = 1000
#: the brace scan's decode work budget, as a multiple of the text length (plus 1 MB)
SCAN_WORK_FACTOR = 8
#: longest legacy ``specs = {...}`` literal evaluated
MAX_LITERAL_CHARS = 200_000
#: deepest bracket nesting allowed in a legacy literal (a patch needs 3)
MAX_LITERAL_DEPTH = 32

_FENCE = "```"
_CLOSER = re.compile(r"\}\s*(?=```)")
_OPENERS = {tag: re.compile(re.escape(tag) + r"\s*\{") for tag in ("```json", _FENCE)}
#: the brace scan's first decode window (grown when a failure may be caused by the cut)
_WINDOW = 4096
#: what can start a JSON object: "{}" or "{" + a first key of at most MAX_FIRST_KEY
#: characters + ":" (a superset of what the decoder accepts, minus over-long first keys)
_OBJ_START = re.compile(r'\{\s*(?:\}|"(?:[^"\\\x00-\x1f]|\\.){0,' + str(MAX_FIRST_KEY) + r'}"\s*:)')
_LEGACY_OPEN = re.compile(r"specs\s*=\s*\{")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class ParsedReply:
    """Where the last patch of a reply was found.

    ``source`` is ``"fence-json"``, ``"fence-plain"``, ``"brace-scan"`` or ``"legacy"``;
    ``start``/``end`` delimit the parsed text in the (decoded) reply.
    """

    data: dict[str, Any]
    source: str
    start: int
    end: int


def parse_reply(text: str | bytes) -> dict[str, Any]:
    """The last patch-like JSON object in ``text``, as a plain dict.

    Raises :class:`~fmbench.patch.errors.PatchParseError` when none can be found. The
    result is not validated: pass it to :func:`fmbench.patch.validate.validate` or
    :meth:`fmbench.patch.model.Patch.from_dict`.
    """
    return find_last_patch(text).data


def find_last_patch(text: str | bytes) -> ParsedReply:
    """Like :func:`parse_reply`, but also says which step found the object and where."""
    text = _as_text(text)
    for tag, source in (("```json", "fence-json"), (_FENCE, "fence-plain")):
        blocks = _fenced_blocks(text, tag)
        if blocks:
            for start, end in reversed(blocks):
                data = _loads_object(text[start:end])
                if data is not None:
                    return ParsedReply(data, source, start, end)
            break  # plain blocks only count when there is no json-tagged block
    found, why = _brace_scan(text)
    if found is not None:
        return found
    legacy = _legacy(text)
    if legacy is not None:
        return legacy
    truncated = _truncation(text)
    if truncated:
        raise PatchParseError(f"no parsable specs: {truncated}")
    hint = f" ({why})" if why else ""
    raise PatchParseError(f"no parsable specs: the text contains no JSON object{hint}")


def _truncation(text: str) -> str:
    """Why the reply looks cut off, or "": its first JSON object opens but the text ends
    before the object closes (a reply truncated by a token limit)."""
    m = _OBJ_START.search(text)
    if m is None:
        return ""
    idx = m.start()
    try:
        _DECODER.raw_decode(text[idx:])
    except json.JSONDecodeError as exc:
        rest = text[idx:].rstrip()
        at_end = exc.pos >= len(rest) or exc.msg.startswith("Unterminated string")
        if at_end:
            return (
                f"the reply is truncated: the JSON object that starts at character {idx}"
                f" is not closed before the text ends ({len(text)} characters)"
            )
    except (ValueError, RecursionError):
        return ""
    return ""


# -- step 0: input ---------------------------------------------------------------------
def _as_text(text: Any) -> str:
    if isinstance(text, (bytes, bytearray, memoryview)):
        if len(text) > MAX_TEXT_CHARS:
            raise PatchParseError(_too_long(len(text)))
        return bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise PatchParseError(f"expected the reply as text, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise PatchParseError(_too_long(len(text)))
    return text


def _too_long(n: int) -> str:
    return f"reply too long to parse: {n} characters (limit {MAX_TEXT_CHARS})"


def _loads_object(body: str) -> dict[str, Any] | None:
    """Strict JSON parse of a whole string; None unless it is an object."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


# -- step 1: fenced blocks -------------------------------------------------------------
def _fenced_blocks(text: str, tag: str) -> list[tuple[int, int]]:
    """(start, end) of each block body, emulating
    ``re.finditer(tag + r"\\s*(\\{.*?\\})\\s*```", text, re.S)`` without its worst case
    O(n²) (the body runs to the first fence that follows a ``}`` and whitespace). Only the
    last :data:`MAX_FENCED_BLOCKS` blocks are kept."""
    if tag not in text:
        return []
    # every fence that can close a block, with the "}" that ends the body
    closers: list[int] = []
    brace_of: list[int] = []
    for m in _CLOSER.finditer(text):
        closers.append(m.end())
        brace_of.append(m.start())
    if not closers:
        return []
    opener = _OPENERS[tag]
    blocks: list[tuple[int, int]] = []
    pos = 0
    while True:
        m = opener.search(text, pos)
        if m is None:
            break
        q = m.end() - 1  # the "{"
        k = bisect.bisect_right(closers, q)
        if k >= len(closers):
            break  # no closing fence after this opening, nor after any later one
        blocks.append((q, brace_of[k] + 1))
        pos = closers[k] + len(_FENCE)
    return blocks[-MAX_FENCED_BLOCKS:]


# -- step 2: brace scan ----------------------------------------------------------------
def _decode_at(text: str, idx: int) -> tuple[dict[str, Any] | None, int, int]:
    """Decode one JSON value at ``text[idx]`` through a growing window.

    Returns ``(object or None, end, work)``. Decoding a slice keeps the cost of a failure
    proportional to the slice (``JSONDecodeError`` counts the lines before the error);
    a failure near the end of the window may be caused by the cut, so the window grows
    (×16) until it holds the rest of the text. A success or a failure well inside the
    window is exactly what decoding the whole text would give.
    """
    n = len(text)
    size = _WINDOW
    work = 0
    while True:
        stop = min(n, idx + size)
        chunk = text[idx:stop]
        if size > _WINDOW:
            work += len(chunk)  # the first window's copy is bounded by MAX_DECODE_ATTEMPTS
        try:
            data, end = _DECODER.raw_decode(chunk)
        except json.JSONDecodeError as exc:
            unterminated = exc.msg.startswith("Unterminated string")
            work += len(chunk) if unterminated else exc.pos  # what the decoder read
            near_cut = unterminated or exc.pos >= len(chunk) - 16
        except (ValueError, RecursionError):
            work += len(chunk)
            near_cut = False  # too deep or an over-long integer: not a window effect
        else:
            return data, idx + end, work
        if stop >= n or not near_cut:
            return None, idx, work
        size *= 16


def _brace_scan(text: str) -> tuple[ParsedReply | None, str]:
    n = len(text)
    budget = SCAN_WORK_FACTOR * n + 1_000_000
    work = 0
    braces = attempts = 0
    end = n
    while True:
        idx = text.rfind("{", 0, end)
        if idx < 0:
            return None, ""
        end = idx
        braces += 1
        if braces > MAX_BRACES:
            return None, f"brace scan stopped after {MAX_BRACES} '{{' characters"
        if not _OBJ_START.match(text, idx):
            continue
        attempts += 1
        if attempts > MAX_DECODE_ATTEMPTS:
            return None, f"brace scan stopped after {MAX_DECODE_ATTEMPTS} decode attempts"
        data, stop, cost = _decode_at(text, idx)
        if data is not None:
            return ParsedReply(data, "brace-scan", idx, stop), ""
        work += cost
        if work > budget:
            return None, "brace scan stopped: decode work budget exhausted"


# -- step 3: legacy Python literal -----------------------------------------------------
def _legacy(text: str) -> ParsedReply | None:
    """The last ``specs = {...}`` match (non-greedy up to the first ``}``), or None."""
    last: tuple[int, int] | None = None
    pos = 0
    while True:
        m = _LEGACY_OPEN.search(text, pos)
        if m is None:
            break
        brace = m.end() - 1
        close = text.find("}", brace + 1)
        if close < 0:
            break  # no later opening can be closed either
        last = (brace, close + 1)
        pos = close + 1
    if last is None:
        return None
    start, end = last
    body = text[start:end]
    data = safe_literal(body)
    if not isinstance(data, dict):
        raise PatchParseError(
            f"failed to parse legacy specs block: the literal is a {type(data).__name__},"
            " not a dict"
        )
    return ParsedReply(data, "legacy", start, end)


def safe_literal(body: str) -> Any:
    """A Python literal (``{'a': True}``) parsed with ``ast.literal_eval`` after length and
    bracket-depth checks — never ``eval``; raises :class:`PatchParseError`."""
    if len(body) > MAX_LITERAL_CHARS:
        raise PatchParseError(
            f"failed to parse legacy specs block: {len(body)} characters"
            f" (limit {MAX_LITERAL_CHARS})"
        )
    depth = deepest = 0
    for ch in body:
        if ch in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch in ")]}":
            depth -= 1
    if deepest > MAX_LITERAL_DEPTH:
        raise PatchParseError(
            f"failed to parse legacy specs block: nested {deepest} deep (limit {MAX_LITERAL_DEPTH})"
        )
    try:
        return ast.literal_eval(body)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        raise PatchParseError(f"failed to parse legacy specs block ({reason})") from None


def parse_patch(text: str | bytes, *, context: str | None = None) -> Patch:
    """The last patch of a reply as a valid :class:`~fmbench.patch.model.Patch`.

    Raises :class:`~fmbench.patch.errors.PatchParseError` if no object is found and
    :class:`~fmbench.patch.errors.InvalidPatchError` (with every problem) if it is invalid
    under strict validation. No repair is applied (see :mod:`fmbench.patch.repair`).
    """
    return Patch.from_dict(parse_reply(text), context=context)
