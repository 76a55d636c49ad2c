"""`fmbench patch …`: validate, schema, SysEx import/export."""

from __future__ import annotations

import click

from fmbench.cli.syx import from_syx_cmd, to_syx_cmd


@click.group("patch")
def patch_group() -> None:
    """Work with DX7 patches: validate model output, convert SysEx banks, print the schema."""


patch_group.add_command(from_syx_cmd)
patch_group.add_command(to_syx_cmd)
