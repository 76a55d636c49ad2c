"""The plugin manager: entry-point discovery, lenient loading, and the component registry.

Every plugin, the built-in ones included, is found through the ``fmbench`` entry-point
group. Loading is lenient: a plugin that fails to import, or whose hook raises, is
reported (``fmbench plugins``) and skipped. Environment variables:

- ``FMBENCH_STRICT_PLUGINS=1`` turns any plugin problem into a :class:`PluginError`
  (for CI).
- ``FMBENCH_LOAD_PLUGINS=a,b`` loads only the named third-party entry points (an empty
  value loads none). Built-in plugins (the ``fmbench_plugins`` package and ``fmbench``
  itself) always load: they are registered through the same entry points, but the filter
  exists to isolate third-party code.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy

from fmbench import hookspecs
from fmbench.components import (
    ComponentInfo,
    ComponentKind,
    Direction,
    MetricKind,
    MetricOutput,
    Need,
    lazy_factory,
)
from fmbench.errors import ComponentConflictError, PluginError
from fmbench.registry import Registry

ENTRY_POINT_GROUP = "fmbench"
#: modules whose entry points are built-in plugins (loaded whatever the filter says)
BUILTIN_MODULE_PREFIXES = ("fmbench_plugins.", "fmbench.")


def is_builtin(module: str) -> bool:
    """Whether an entry point's module is one of fmbench's own plugins."""
    return module.split(":")[0].startswith(BUILTIN_MODULE_PREFIXES)


#: hook name → the component kind it registers
HOOK_KINDS: dict[str, ComponentKind] = {
    "fmbench_register_generators": ComponentKind.GENERATOR,
    "fmbench_register_renderers": ComponentKind.RENDERER,
    "fmbench_register_metrics": ComponentKind.METRIC,
    "fmbench_register_embedders": ComponentKind.EMBEDDER,
    "fmbench_register_benchmarks": ComponentKind.BENCHMARK,
}


@dataclass
class PluginStatus:
    """How one plugin fared: where it came from, whether it loaded, what it registered."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    loaded: bool = False
    errors: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "loaded": self.loaded,
            "errors": list(self.errors),
            "hooks": list(self.hooks),
            "components": list(self.components),
        }


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _coerce_output(output: Any) -> MetricOutput:
    """An output given as MetricOutput, a dict of its fields, or (name, direction, ...)."""
    if isinstance(output, MetricOutput):
        return output
    if isinstance(output, dict):
        return MetricOutput(**{**output, "direction": Direction(output["direction"])})
    name, direction, *rest = output  # (name, direction[, description[, worst]])
    if len(rest) > 1 and rest[1] is not None:
        rest[1] = float(rest[1])
    return MetricOutput(name, Direction(direction), *rest)


def _coerce_metadata(kind: ComponentKind, metadata: dict[str, Any]) -> dict[str, Any]:
    """Accept plain strings/sequences in ``register(...)`` and convert them to the enums."""
    md = dict(metadata)
    for key in ("aliases", "extras", "requires", "model_files"):
        if key in md:
            value = md[key]
            md[key] = (value,) if isinstance(value, str) else tuple(value)
    if "providers" in md:
        value = md["providers"]
        md["providers"] = tuple(
            (str(k), str(v)) for k, v in (value.items() if hasattr(value, "items") else value)
        )
    if "direction" in md and md["direction"] is not None:
        md["direction"] = Direction(md["direction"])
    if "metric_kind" in md and md["metric_kind"] is not None:
        md["metric_kind"] = MetricKind(md["metric_kind"])
    if "needs" in md:
        md["needs"] = frozenset(Need(n) for n in md["needs"])
    if md.get("worst") is not None:
        md["worst"] = float(md["worst"])
    if "outputs" in md:
        md["outputs"] = tuple(_coerce_output(o) for o in md["outputs"])
    return md


class Plugins:
    """Loads plugins and builds the :class:`Registry` from their hooks.

    ``Plugins()`` reads the environment; tests pass ``strict``/``only`` explicitly and
    may add in-process plugins with :meth:`register` before the registry is built.
    """

    def __init__(
        self,
        *,
        strict: bool | None = None,
        only: Sequence[str] | None = None,
        load_entry_points: bool = True,
    ) -> None:
        self.strict = _env_flag("FMBENCH_STRICT_PLUGINS") if strict is None else strict
        self.only = _env_list("FMBENCH_LOAD_PLUGINS") if only is None else list(only)
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.statuses: dict[str, PluginStatus] = {}
        self._registry: Registry | None = None
        if load_entry_points:
            self._load_entry_points(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))

    # -- loading ---------------------------------------------------------------------
    def _problem(self, status: PluginStatus, message: str) -> None:
        status.errors.append(message)
        if self.strict:
            raise PluginError(f"plugin {status.name!r}: {message}")

    def _load_entry_points(self, entry_points: Iterable[importlib.metadata.EntryPoint]) -> None:
        for ep in sorted(entry_points, key=lambda e: e.name):
            if self.only is not None and ep.name not in self.only and not is_builtin(ep.value):
                continue
            if ep.name in self.statuses:
                continue  # the same distribution seen twice on sys.path
            dist = getattr(ep, "dist", None)
            status = PluginStatus(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist else None,
                version=dist.version if dist else None,
            )
            self.statuses[ep.name] = status
            try:
                module = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is reported, not fatal
                self._problem(status, f"failed to import {ep.value}: {type(exc).__name__}: {exc}")
                continue
            self._register(module, status)

    def register(self, plugin: object, name: str) -> PluginStatus:
        """Register an in-process plugin object or module (tests, notebooks)."""
        if self._registry is not None:
            raise PluginError("register plugins before the registry is first used")
        status = PluginStatus(name=name, module=getattr(plugin, "__name__", repr(plugin)))
        self.statuses[name] = status
        self._register(plugin, status)
        return status

    def _register(self, plugin: object, status: PluginStatus) -> None:
        try:
            self.pm.register(plugin, name=status.name)
        except Exception as exc:  # noqa: BLE001 - pluggy validation errors
            self._problem(status, f"failed to register: {exc}")
            return
        status.loaded = True
        callers = self.pm.get_hookcallers(plugin) or []
        status.hooks = sorted(c.name for c in callers)
        for caller in callers:
            if not caller.has_spec():
                self._problem(status, f"unknown hook {caller.name} (misspelled?)")
        for attr in dir(plugin):
            if attr.startswith("fmbench_") and attr not in status.hooks:
                if callable(getattr(plugin, attr, None)):
                    self._problem(status, f"{attr} is not marked with @fmbench.hookimpl")

    def check_pending(self) -> list[str]:
        """Hook implementations that match no hookspec, or hook-named functions left
        unmarked, as ``plugin: message`` lines (strict mode raised already on load)."""
        return [p for p in self.problems if "unknown hook" in p or "not marked" in p]

    # -- registry --------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        """The registry, built on first use by calling every plugin's hooks one by one."""
        if self._registry is None:
            self._registry = self._build_registry()
        return self._registry

    def _build_registry(self) -> Registry:
        registry = Registry()
        for hook_name, kind in HOOK_KINDS.items():
            caller = getattr(self.pm.hook, hook_name)
            for impl in caller.get_hookimpls():
                status = self._status_of(impl)

                def register(
                    name: str,
                    factory: Any,
                    /,
                    *,
                    summary: str,
                    _status=status,
                    _kind=kind,
                    **metadata: Any,
                ) -> None:
                    info = ComponentInfo(
                        kind=_kind,
                        name=name,
                        factory=lazy_factory(factory) if isinstance(factory, str) else factory,
                        summary=summary,
                        plugin=_status.name,
                        **_coerce_metadata(_kind, metadata),
                    )
                    try:
                        registry.add(info)
                    except ComponentConflictError as exc:
                        # reported on every plugin involved; the hook goes on registering
                        for other in self.statuses.values():
                            if other is not _status and other.name in exc.plugins:
                                other.errors.append(str(exc))
                        self._problem(_status, str(exc))
                        return
                    _status.components.append(f"{_kind}:{name}")

                self._call(impl, status, register=register)
        return registry

    def _status_of(self, impl: Any) -> PluginStatus:
        """The status of the plugin behind a hook implementation (created for plugins
        registered directly on the plugin manager)."""
        return self.statuses.setdefault(
            impl.plugin_name, PluginStatus(impl.plugin_name, impl.plugin_name, loaded=True)
        )

    def _call(self, impl: Any, status: PluginStatus, **kwargs: Any) -> bool:
        """Call one hook implementation; a hook that raises is a problem of its plugin
        only (False), except in strict mode."""
        try:
            impl.function(**kwargs)
        except PluginError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken hook skips one plugin
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            self._problem(status, f"{impl.function.__name__} raised {detail}")
            return False
        return True

    def register_commands(self, cli: Any) -> None:
        """Let every plugin add its commands to ``cli`` (a click group). A hook that
        raises, or a command name already taken, is a problem of that plugin only."""
        for impl in self.pm.hook.fmbench_register_commands.get_hookimpls():
            status = self._status_of(impl)
            before = dict(cli.commands)
            if not self._call(impl, status, cli=cli):
                cli.commands.clear()
                cli.commands.update(before)
                continue
            for name, command in list(cli.commands.items()):
                if name in before and before[name] is not command:
                    cli.commands[name] = before[name]
                    self._problem(status, f"command {name!r} is already a command; not replaced")
                elif name not in before:
                    status.components.append(f"command:{name}")

    @property
    def problems(self) -> list[str]:
        return [f"{s.name}: {e}" for s in self.statuses.values() for e in s.errors]


@functools.cache
def get_plugins() -> Plugins:
    """The process-wide plugin manager (reads FMBENCH_* environment variables once)."""
    return Plugins()


def get_registry() -> Registry:
    """The process-wide component registry."""
    return get_plugins().registry
