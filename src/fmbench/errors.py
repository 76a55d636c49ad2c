"""Exceptions with messages meant for users (the CLI prints them without a traceback)."""

from __future__ import annotations


class FmbenchError(Exception):
    """Base class: an error whose message is complete and actionable on its own."""


class UnknownComponentError(FmbenchError, KeyError):
    """A generator/renderer/metric/embedder/benchmark name that nothing registered."""

    def __init__(self, kind: str, name: str, suggestions: list[str], available: list[str]):
        self.kind, self.name, self.suggestions, self.available = kind, name, suggestions, available
        super().__init__(name)

    def __str__(self) -> str:
        msg = f"unknown {self.kind} {self.name!r}"
        if self.suggestions:
            msg += f"; did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
        msg += f" Available {self.kind}s: {', '.join(self.available) or '(none)'}"
        return msg


class ComponentSpecError(FmbenchError, ValueError):
    """A malformed ``NAME[:ARG]`` component spec."""


class ComponentUnavailableError(FmbenchError):
    """A registered component whose optional dependencies are not installed."""


class PluginError(FmbenchError):
    """A plugin failed to load or misbehaved (fatal only in strict mode)."""


class ComponentConflictError(FmbenchError, ValueError):
    """Two plugins registered the same component name: neither is used."""

    def __init__(self, message: str, plugins: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.plugins = plugins
