"""`fmbench models`: the local model store (list, verify, add, where, fetch)."""

from __future__ import annotations

import sys

import click

from fmbench.cli.common import echo_json
from fmbench.errors import FmbenchError


def _store_and_files():
    from fmbench.modelstore import ModelStore, registered_model_files

    return ModelStore(), registered_model_files()


@click.group("models")
def models_group() -> None:
    """Weight files of model-based components, kept in $FMBENCH_HOME
    (default ~/.cache/fmbench/models). fmbench never downloads weights by itself."""


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--quick", is_flag=True, help="Check presence, size and format only (no sha256).")
def list_cmd(as_json: bool, quick: bool) -> None:
    """Every registered component's model files: which component needs each, where to get
    it, its published size and sha256, and whether it is present, missing or corrupt."""
    from fmbench.modelstore import _human

    store, files = _store_and_files()
    rows = []
    for name in sorted(files):
        file, components = files[name]
        status = store.verify(file, hash=not quick)
        rows.append((status, components))
    if as_json:
        echo_json(
            {
                "root": str(store.root),
                "files": [{**s.describe(), "components": c} for s, c in rows],
            }
        )
        return
    click.echo(f"model store: {store.root}")
    if not rows:
        click.echo("no registered component declares model files")
    for status, components in rows:
        file = status.file
        mark = {"verified": "verified", "present": "present", "missing": "MISSING"}.get(
            status.state, status.state.upper()
        )
        click.echo(f"  {file.name:<44} {mark:<16} {', '.join(components)}")
        source = file.url or "no public URL: obtain it from the model's authors"
        if file.members:
            source += f" (files: {', '.join(file.members)})"
        click.echo(f"      from    {source}")
        size = _human(file.size) if file.size is not None else "not published"
        click.echo(f"      size    {size}; sha256 {file.sha256 or 'not published'}")
        if status.state not in ("verified", "present", "missing"):
            click.echo(f"      problem {status.detail}")


@models_group.command("verify")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify_cmd(names: tuple[str, ...], as_json: bool) -> None:
    """Hash and check registered model files (all, or NAMES); exit 1 on any problem.

    Missing files are reported with where to put them and where to obtain them."""
    from fmbench.components import ModelFile

    store, files = _store_and_files()
    selected = list(names) or sorted(files)
    statuses = []
    for name in selected:
        file = files[name][0] if name in files else ModelFile(name)
        statuses.append(store.verify(file))
    if as_json:
        echo_json([s.describe() for s in statuses])
    else:
        for s in statuses:
            if s.ok:
                click.echo(f"{s.file.name}: {s.state} (sha256 {s.sha256})")
            else:
                click.echo(f"{s.file.name}: {s.state}\n{s.detail}")
    if any(not s.ok for s in statuses):
        sys.exit(1)


@models_group.command("add")
@click.argument("path", type=click.Path(exists=True, path_type=str))
@click.option("--as", "as_name", help="Name in the store (default: the file's own name).")
@click.option("--link", is_flag=True, help="Symlink instead of copying.")
def add_cmd(path: str, as_name: str | None, link: bool) -> None:
    """Copy (or link) PATH into the store and verify it against its declaration."""
    store, files = _store_and_files()
    from pathlib import Path

    name = as_name or Path(path).name
    expected = files[name][0] if name in files else None
    status = store.add(path, name, expected=expected, link=link)
    note = "" if expected else " (no registered component declares this name)"
    click.echo(f"added {status.path}: {status.state}, sha256 {status.sha256}{note}")


@models_group.command("where")
@click.argument("name")
def where_cmd(name: str) -> None:
    """Print the path NAME has (or would have) in the store."""
    from fmbench.modelstore import ModelStore

    path = ModelStore().where(name)
    click.echo(str(path))
    if not path.exists():
        click.echo("(not present yet: put the file there, or `fmbench models add`)", err=True)


@models_group.command("fetch")
@click.argument("name")
@click.option("--url", help="Download from this URL instead of the declared one.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds.")
def fetch_cmd(name: str, url: str | None, timeout: float) -> None:
    """Download a registered model file from its declared URL (needs a network)."""
    from fmbench.components import ModelFile

    store, files = _store_and_files()
    if name not in files and not url:
        known = ", ".join(sorted(files)) or "(none)"
        raise FmbenchError(f"no registered component declares {name!r}; known files: {known}")
    file = files[name][0] if name in files else ModelFile(name)
    status = store.fetch(file, url=url, timeout=timeout)
    click.echo(f"fetched {status.path}: {status.state}, sha256 {status.sha256}")
