"""Name → component lookup, with "did you mean" errors and lazy construction."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from fmbench.components import ComponentInfo, ComponentKind
from fmbench.errors import (
    ComponentConflictError,
    ComponentSpecError,
    ComponentUnavailableError,
    UnknownComponentError,
)


class Registry:
    """All registered components, by kind and name (aliases resolve to names)."""

    def __init__(self) -> None:
        self._by_kind: dict[ComponentKind, dict[str, ComponentInfo]] = {
            k: {} for k in ComponentKind
        }
        self._aliases: dict[ComponentKind, dict[str, str]] = {k: {} for k in ComponentKind}
        #: names claimed by more than one plugin → those plugins (none of them is used)
        self._conflicts: dict[ComponentKind, dict[str, list[str]]] = {k: {} for k in ComponentKind}

    def add(self, info: ComponentInfo) -> None:
        """Add a component. A name or alias another plugin already claimed is a conflict:
        both claims are withdrawn (a lookup names both plugins) and
        :class:`ComponentConflictError` is raised, so no plugin wins silently."""
        kind = info.kind
        taken = self._by_kind[kind].keys() | self._aliases[kind].keys()
        for label in (info.name, *info.aliases):
            if label in self._conflicts[kind]:
                self._conflicts[kind][label].append(info.plugin)
                raise ComponentConflictError(
                    self._conflict_message(kind, label), tuple(self._conflicts[kind][label])
                )
            if label in taken:
                owner = self.get(kind, label)
                self._withdraw(owner)
                self._conflicts[kind][label] = [owner.plugin, info.plugin]
                raise ComponentConflictError(
                    self._conflict_message(kind, label), tuple(self._conflicts[kind][label])
                )
        self._by_kind[info.kind][info.name] = info
        for alias in info.aliases:
            self._aliases[info.kind][alias] = info.name

    def _withdraw(self, info: ComponentInfo) -> None:
        self._by_kind[info.kind].pop(info.name, None)
        for alias in info.aliases:
            self._aliases[info.kind].pop(alias, None)

    def _conflict_message(self, kind: ComponentKind, label: str) -> str:
        plugins = " and ".join(repr(p) for p in self._conflicts[kind][label])
        return (
            f"{kind} name {label!r} is registered by plugins {plugins}; neither is used. "
            "Uninstall one of them, or limit third-party plugins with FMBENCH_LOAD_PLUGINS"
        )

    def names(self, kind: ComponentKind | str) -> list[str]:
        return sorted(self._by_kind[ComponentKind(kind)])

    def all(self, kind: ComponentKind | str | None = None) -> Iterator[ComponentInfo]:
        kinds = [ComponentKind(kind)] if kind is not None else list(ComponentKind)
        for k in kinds:
            for name in sorted(self._by_kind[k]):
                yield self._by_kind[k][name]

    def __contains__(self, item: tuple[ComponentKind | str, str]) -> bool:
        kind, name = item
        kind = ComponentKind(kind)
        return name in self._by_kind[kind] or name in self._aliases[kind]

    def get(self, kind: ComponentKind | str, name: str) -> ComponentInfo:
        """Look a component up by name or alias; unknown names raise with suggestions."""
        kind = ComponentKind(kind)
        table = self._by_kind[kind]
        canonical = self._aliases[kind].get(name, name)
        if canonical in table:
            return table[canonical]
        if name in self._conflicts[kind]:
            raise ComponentConflictError(
                self._conflict_message(kind, name), tuple(self._conflicts[kind][name])
            )
        labels = sorted(table.keys() | self._aliases[kind].keys())
        close = difflib.get_close_matches(name, labels, n=3, cutoff=0.6)
        raise UnknownComponentError(kind, name, close, sorted(table))

    def resolve_spec(
        self, kind: ComponentKind | str, spec: str
    ) -> tuple[ComponentInfo, dict[str, str]]:
        """Resolve a command-line spec ``NAME[:ARG]`` to a component and its options.

        ``ARG`` fills the component's declared ``arg_option`` (``kad:mfcc`` →
        ``embedder="mfcc"``; ``outputs:preds.csv`` → ``path="preds.csv"``).
        """
        name, sep, arg = spec.strip().partition(":")
        info = self.get(kind, name)
        if not sep:
            return info, {}
        if not info.arg_option:
            raise ComponentSpecError(f"{info.kind} {info.name!r} takes no ':ARG' (got {spec!r})")
        if not arg:
            raise ComponentSpecError(f"empty argument after ':' in {spec!r}")
        return info, {info.arg_option: arg}

    def create(self, kind: ComponentKind | str, name: str, **options: Any) -> Any:
        """Construct a component; a missing optional dependency names the extra to install."""
        info = self.get(kind, name)
        reason = info.unavailable_reason()
        if reason:
            raise ComponentUnavailableError(reason)
        return info.factory(**options)
