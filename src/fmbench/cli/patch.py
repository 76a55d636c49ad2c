"""`fmbench patch …`: validate, schema, SysEx import/export."""

from __future__ import annotations

import click


@click.group("patch")
def patch_group() -> None:
    """Work with DX7 patches: validate model output, convert SysEx banks, print the schema."""
