"""`fmbench plugins` and `fmbench list`."""

from __future__ import annotations

import click

from fmbench.cli.common import echo_json
from fmbench.components import ComponentKind

KIND_CHOICES = [k.plural for k in ComponentKind]


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_cmd(as_json: bool) -> None:
    """Show installed plugins, what they register, and any that failed to load."""
    from fmbench.plugins import get_plugins

    manager = get_plugins()
    manager.registry  # noqa: B018 - building the registry runs every hook
    statuses = sorted(manager.statuses.values(), key=lambda s: s.name)
    if as_json:
        echo_json([s.describe() for s in statuses])
        return
    for s in statuses:
        mark = "ok" if s.loaded and not s.errors else "FAILED" if not s.loaded else "problems"
        origin = f"{s.distribution} {s.version}" if s.distribution else s.module
        click.echo(f"{s.name:<20} {mark:<9} {origin}")
        for comp in s.components:
            click.echo(f"    {comp}")
        for err in s.errors:
            click.secho(f"    error: {err}", fg="red")
    if not statuses:
        click.echo("no plugins found (is fmbench installed? `pip install -e .`)")


@click.command("list")
@click.argument("kind", required=False, type=click.Choice(KIND_CHOICES))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(kind: str | None, as_json: bool) -> None:
    """List registered components (all kinds, or one of: generators, renderers, ...)."""
    from fmbench.plugins import get_registry

    registry = get_registry()
    kinds = [ComponentKind(kind[:-1])] if kind else list(ComponentKind)
    infos = [info for k in kinds for info in registry.all(k)]
    if as_json:
        echo_json([info.describe() for info in infos])
        return
    for k in kinds:
        rows = list(registry.all(k))
        click.secho(f"{k.plural} ({len(rows)})", bold=True)
        for info in rows:
            extra = ""
            if info.direction is not None:
                extra = f" [{info.direction.arrow} {info.metric_kind}]"
            aliases = f" (aliases: {', '.join(info.aliases)})" if info.aliases else ""
            status = "" if info.available else f"  -- unavailable: {info.unavailable_reason()}"
            click.echo(f"  {info.name:<18}{extra} {info.summary}{aliases}{status}")
