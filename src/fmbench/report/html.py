"""Small HTML helpers shared by the report and the leaderboard page (escaping, numbers,
the page shell that links the vendored stylesheet and script)."""

from __future__ import annotations

import math
from html import escape
from importlib import resources
from typing import Any

#: the vendored static files (package data) copied next to every page
ASSETS = ("report.css", "report.js")


def asset_text(name: str) -> str:
    """The text of a vendored asset (``report.css`` or ``report.js``)."""
    return resources.files("fmbench.report").joinpath("assets", name).read_text(encoding="utf-8")


def esc(value: Any) -> str:
    """HTML-escaped text of ``value`` (None → empty)."""
    return "" if value is None else escape(str(value), quote=True)


def is_num(x: Any) -> bool:
    """True for a finite int/float (not bool)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def fmt(x: Any, digits: int = 4) -> str:
    """A number for display (``digits`` significant digits), ``–`` for NaN/None."""
    if not is_num(x):
        return "–"
    x = float(x)
    if x == 0:
        return "0"
    if abs(x) >= 1e5 or abs(x) < 1e-3:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def num_attr(x: Any) -> str:
    """A number as a ``data-v`` attribute value (empty for NaN/None)."""
    return repr(float(x)) if is_num(x) else ""


def page(title: str, body: str, *, root: str = "", page_id: str = "", inline: bool = False) -> str:
    """A full HTML document around ``body``. The stylesheet and script are linked from
    ``<root>assets/`` (``root`` is ``""`` or ``"../"``), or embedded when ``inline``
    (a single-file page)."""
    if inline:
        css = f"<style>\n{asset_text('report.css')}</style>"
        js = f"<script>\n{asset_text('report.js')}</script>"
    else:
        css = f'<link rel="stylesheet" href="{root}assets/report.css">'
        js = f'<script src="{root}assets/report.js"></script>'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        '<link rel="icon" href="data:,">'
        f'{css}</head><body data-page="{esc(page_id)}">\n{body}\n{js}\n'
        "</body></html>\n"
    )
