"""The built-in DX7 renderer plugin (our own engine)."""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl


def _make_renderer(**options: Any) -> Any:
    from fmbench_dx7.renderer import DX7Renderer

    return DX7Renderer(**options)


@hookimpl
def fmbench_register_renderers(register):
    register(
        "dx7",
        _make_renderer,
        summary="fmbench's DX7 engine (reference-compatible with the seed renderer)",
        version="0.1.0",
    )
