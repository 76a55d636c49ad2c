"""Shared CLI plumbing: user-facing errors without tracebacks, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from fmbench.errors import FmbenchError


class FmbenchGroup(click.Group):
    """A click group that prints :class:`FmbenchError` as one clean line (exit 2)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FmbenchError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)


def echo_json(data: Any) -> None:
    """Print machine-readable output (stable key order, UTF-8)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


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
