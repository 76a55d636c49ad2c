"""`fmbench docs`: the user documentation and the plugin template that ship with fmbench."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import click

from fmbench.errors import FmbenchError


def docs_root() -> Path | None:
    """The folder holding ``docs/`` and ``example-metric/``: ``<prefix>/share/fmbench`` of
    an installed wheel, else the repository checkout this package runs from."""
    candidates = [Path(sysconfig.get_path("data")) / "share" / "fmbench"]
    candidates.append(Path(sys.prefix) / "share" / "fmbench")
    repo = Path(__file__).resolve().parents[3]
    candidates.append(repo)
    for root in candidates:
        if (root / "docs" / "metrics.md").is_file():
            return root
    return None


def _template(root: Path) -> Path:
    shipped = root / "example-metric"
    return shipped if shipped.is_dir() else root / "plugins" / "example-metric"


@click.command("docs")
@click.argument("page", required=False)
def docs_cmd(page: str | None) -> None:
    """List the documentation pages (metrics, plugins, …) and the plugin template, or print
    PAGE (e.g. `fmbench docs metrics`)."""
    root = docs_root()
    if root is None:
        raise FmbenchError("the documentation is not installed with this copy of fmbench")
    pages = {p.stem: p for p in sorted((root / "docs").glob("*.md"))}
    if page is None:
        for name, path in pages.items():
            click.echo(f"{name:<20} {path}")
        click.echo(f"{'plugin template':<20} {_template(root)}")
        return
    name = page.removesuffix(".md")
    if name not in pages:
        raise FmbenchError(f"no documentation page {page!r}; pages: {', '.join(pages)}")
    click.echo(pages[name].read_text(encoding="utf-8"))
