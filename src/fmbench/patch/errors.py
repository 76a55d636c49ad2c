"""Structured patch problems and the errors that carry them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fmbench.errors import FmbenchError


@dataclass(frozen=True)
class Problem:
    """One reason a patch is invalid.

    ``path`` is a JSON-pointer-like location such as ``"eg_rate[2][5]"`` (or ``""`` for
    the whole object); ``allowed`` describes the admissible values, e.g. ``"0..99"``.
    """

    path: str
    message: str
    value: Any = None
    allowed: str | None = None

    def __str__(self) -> str:
        where = self.path or "<patch>"
        text = f"{where}: {self.message}"
        if self.allowed is not None:
            text += f" (allowed: {self.allowed})"
        return text

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        if not isinstance(value, (int, float, str, bool, type(None))):
            value = repr(value)[:200]
        return {"path": self.path, "message": self.message, "value": value, "allowed": self.allowed}


class PatchParseError(FmbenchError, ValueError):
    """No patch could be extracted from a text (a model reply, a file)."""


class InvalidPatchError(FmbenchError, ValueError):
    """A patch object that violates the contract; ``problems`` lists every violation."""

    def __init__(self, problems: list[Problem], context: str | None = None):
        self.problems = list(problems)
        self.context = context
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"{self.context}: " if self.context else ""
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        return f"{head}invalid patch: {shown}{more}"
