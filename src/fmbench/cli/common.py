"""Shared CLI plumbing: user-facing errors without tracebacks, JSON output."""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from fmbench.errors import FmbenchError

#: OSError numbers that are the environment's fault, not a bug: reported in one line.
_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "file name too long",
}


def os_error_message(exc: OSError) -> str | None:
    """A one-line message for an OSError caused by the environment (full disk, read-only
    or unwritable folder, ...), or None for any other error (which stays a bug report)."""
    reason = _ENVIRONMENT_ERRNOS.get(exc.errno) if exc.errno is not None else None
    if reason is None:
        return None
    where = exc.filename if exc.filename is not None else None
    if exc.filename2 is not None:
        where = f"{exc.filename} → {exc.filename2}"
    return f"{where}: {reason}" if where else f"{reason} ({exc})"


class FmbenchGroup(click.Group):
    """A click group that prints :class:`FmbenchError` and environment OSErrors (full disk,
    read-only or unwritable folder) as one clean line (exit 2).

    The top-level group also asks the plugins for their commands, once, the first time
    it lists or looks up a command."""

    _plugin_commands_added = False

    def _add_plugin_commands(self, ctx: click.Context) -> None:
        if self._plugin_commands_added or ctx.parent is not None:
            return
        self._plugin_commands_added = True
        from fmbench.plugins import get_plugins

        get_plugins().register_commands(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._add_plugin_commands(ctx)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FmbenchError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        except OSError as exc:
            message = os_error_message(exc)
            if message is None:
                raise
            click.echo(f"Error: {message}", err=True)
            sys.exit(2)


def echo_json(data: Any) -> None:
    """Print machine-readable output (stable key order, UTF-8)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def repair_option(help: str) -> Any:
    """``--repair POLICY``: the repair policies of :class:`fmbench.patch.repair.RepairPolicy`."""
    from fmbench.patch.repair import RepairPolicy

    return click.option(
        "--repair",
        type=click.Choice([p.value for p in RepairPolicy]),
        default=None,
        help=help,
    )


def failure_policy_option() -> Any:
    """``--failure-policy``: how failed items count (:data:`fmbench.run.config.FAILURE_POLICIES`)."""
    from fmbench.run.config import DEFAULT_FAILURE_POLICY, FAILURE_POLICIES

    return click.option(
        "--failure-policy",
        type=click.Choice(FAILURE_POLICIES),
        default=DEFAULT_FAILURE_POLICY,
        show_default=True,
        help="How failed items count: score-as-failure gives them each metric's worst value "
        "(every item counts); valid-only scores valid outputs only. Valid-only numbers are "
        "always reported too.",
    )


def workers_option(help_text: str = "Worker processes") -> Callable[[Any], Any]:
    """``--workers/-j N``: default = the cores this process may use
    (:func:`fmbench.executor.default_workers`, affinity-aware); must be at least 1."""

    def resolve(ctx: click.Context, param: click.Parameter, value: int | None) -> int:
        if value is None:
            from fmbench.executor import default_workers

            return default_workers()
        if value < 1:
            raise click.BadParameter(f"must be at least 1, got {value}")
        return value

    return click.option(
        "--workers",
        "-j",
        type=int,
        default=None,
        callback=resolve,
        help=f"{help_text} (default: the cores this process may use).",
    )
