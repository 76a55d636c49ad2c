"""Shared CLI plumbing: user-facing errors without tracebacks, JSON output."""

from __future__ import annotations

import errno
import json
import sys
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
    read-only or unwritable folder) as one clean line (exit 2)."""

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
