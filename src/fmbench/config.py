"""Configuration files: named generators (``--generator qwen-grpo``).

Two files are read, the user-level one first, so the project's entries override it:

- user: ``$FMBENCH_CONFIG`` if set (an empty value disables it), else
  ``$XDG_CONFIG_HOME/fmbench/config.toml`` (default ``~/.config/fmbench/config.toml``);
- project: the first ``fmbench.toml`` found in the current directory or its parents.

A named generator is a table under ``generators``: ``type`` names a registered generator,
``summary`` (optional) describes it, and every other key is an option of that generator::

    [generators.qwen-grpo]
    type = "hf"
    model = "/models/qwen3-8b-sft"
    adapter = "./ckpt/grpo/final_lora"    # relative paths: relative to this file
    think = false
    do_sample = true

Relative paths in ``model``, ``adapter``, ``base``, ``template`` and ``path`` that start
with ``.`` or ``~`` (or that exist next to the file) are resolved against the file's
folder. This module is also a plugin (entry point ``config``): it registers each named
generator, with ``defined_in`` naming its file, so ``fmbench list generators`` shows
where each comes from. A malformed file or entry is a :class:`ConfigError` naming the file
and the key; a broken entry is still listed, and using it raises that error.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fmbench.errors import FmbenchError
from fmbench.hookspecs import hookimpl

__all__ = [
    "CONFIG_ENV",
    "PROJECT_FILE",
    "ConfigError",
    "NamedGenerator",
    "config_files",
    "config_problems",
    "fmbench_register_generators",
    "named_generators",
    "project_config_path",
    "read_config",
    "user_config_path",
]

#: environment variable naming the user-level config file
CONFIG_ENV = "FMBENCH_CONFIG"
#: the project config file's name
PROJECT_FILE = "fmbench.toml"
#: option keys holding paths (resolved relative to the config file)
PATH_OPTIONS = ("model", "adapter", "base", "template", "path")


class ConfigError(FmbenchError, ValueError):
    """A config file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class NamedGenerator:
    """One ``[generators.NAME]`` entry."""

    name: str
    type: str
    source: Path
    options: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    error: str | None = None  # set for a broken entry

    def describe(self) -> str:
        """A one-line summary for ``fmbench list``."""
        if self.error:
            return f"invalid entry: {self.error}"
        if self.summary:
            return f"{self.type}: {self.summary}"
        shown = ", ".join(f"{k}={v}" for k, v in self.options.items() if k != "summary")
        return f"{self.type}: {shown}" if shown else self.type


def user_config_path() -> Path | None:
    """The user-level config file (whether or not it exists), or None if disabled."""
    env = os.environ.get(CONFIG_ENV)
    if env is not None:
        return Path(env).expanduser() if env.strip() else None
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "fmbench" / "config.toml"


def project_config_path(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``fmbench.toml`` in ``start`` (default: the working directory) or above."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def config_files() -> list[Path]:
    """The existing config files, lowest precedence first (user, then project)."""
    found: list[Path] = []
    user = user_config_path()
    if user is not None and user.is_file():
        found.append(user.resolve())
    project = project_config_path()
    if project is not None and project.resolve() not in found:
        found.append(project.resolve())
    return found


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse one TOML config file; syntax errors name the file (and line)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _resolve_path(value: Any, folder: Path) -> Any:
    if not isinstance(value, str) or not value:
        return value
    p = Path(value).expanduser()
    if p.is_absolute():
        return str(p)
    if value.startswith(".") or (folder / p).exists():
        return str((folder / p).resolve())
    return value


def _entry(name: str, table: Any, source: Path) -> NamedGenerator:
    where = f"{source}: [generators.{name}]"
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"{where}: invalid name; use letters, digits, - and _")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {type(table).__name__}")
    kind = table.get("type")
    if not isinstance(kind, str) or not kind.strip():
        raise ConfigError(f"{where}: key 'type' is required (a registered generator, e.g. 'hf')")
    if kind == name:
        raise ConfigError(f"{where}: key 'type' cannot name the entry itself")
    summary = table.get("summary", table.get("description", ""))
    if not isinstance(summary, str):
        raise ConfigError(f"{where}: key 'summary' must be a string")
    options = {}
    for key, value in table.items():
        if key in ("type", "summary", "description"):
            continue
        if key in PATH_OPTIONS:
            if not isinstance(value, str):
                raise ConfigError(f"{where}: key {key!r} must be a string (a path)")
            value = _resolve_path(value, source.parent)
        options[key] = value
    return NamedGenerator(name, kind.strip(), source, options, summary)


def named_generators(
    paths: Iterable[str | os.PathLike[str]] | None = None,
) -> tuple[dict[str, NamedGenerator], list[str]]:
    """Every named generator of ``paths`` (default :func:`config_files`), later files
    overriding earlier ones, and the list of problems found (file + key in each)."""
    found: dict[str, NamedGenerator] = {}
    problems: list[str] = []
    for path in config_files() if paths is None else [Path(p) for p in paths]:
        try:
            data = read_config(path)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        tables = data.get("generators", {})
        if not isinstance(tables, dict):
            problems.append(f"{path}: 'generators' must be a table ([generators.NAME])")
            continue
        for name, table in tables.items():
            try:
                found[name] = _entry(name, table, path)
            except ConfigError as exc:
                problems.append(str(exc))
                found[name] = NamedGenerator(name, "", path, error=str(exc))
    return found, problems


def config_problems() -> list[str]:
    """What is wrong with the config files in use (malformed TOML, bad entries), each
    message naming the file and the key; empty when all is well. Commands that use named
    generators (``fmbench run``) print these, so a broken ``fmbench.toml`` is not only
    visible in ``fmbench plugins``."""
    return named_generators()[1]


def _factory(entry: NamedGenerator) -> Any:
    def make(**overrides: Any) -> Any:
        if entry.error:
            raise ConfigError(entry.error)
        from fmbench.components import ComponentKind
        from fmbench.errors import UnknownComponentError
        from fmbench.plugins import get_registry

        try:
            return get_registry().create(
                ComponentKind.GENERATOR, entry.type, **{**entry.options, **overrides}
            )
        except UnknownComponentError as exc:
            raise ConfigError(
                f"{entry.source}: [generators.{entry.name}] key 'type': {exc}"
            ) from None
        except TypeError as exc:  # an option the generator does not take
            raise ConfigError(
                f"{entry.source}: [generators.{entry.name}]: bad option for {entry.type!r}: {exc}"
            ) from None

    make.__name__ = f"named_{entry.name}"
    make.__doc__ = f"The {entry.type!r} generator with the options of [generators.{entry.name}]."
    return make


@hookimpl
def fmbench_register_generators(register: Any) -> None:
    """Register every named generator of the config files (see the module docstring).

    Problems are raised after all usable entries are registered, so ``fmbench plugins``
    reports them and the other entries keep working.
    """
    entries, problems = named_generators()
    for entry in entries.values():
        try:
            register(
                entry.name,
                _factory(entry),
                summary=f"{entry.describe()} [{entry.source}]",
                defined_in=str(entry.source),
            )
        except ValueError as exc:  # the name is taken by a plugin
            problems.append(f"{entry.source}: [generators.{entry.name}]: {exc}")
    if problems:
        raise ConfigError("; ".join(problems))
