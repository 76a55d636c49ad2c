"""Shared CLI plumbing: user-facing errors without tracebacks, JSON output."""

from __future__ import annotations

import json
import sys
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
