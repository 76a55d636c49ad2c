"""fmbench-dexed: the ``dexed`` reference renderer (fmbench patches played by dexed-py).

A separate distribution under GPL-3.0-or-later because dexed-py is. Importing this
package is cheap: dexed-py is imported only when a render or a conversion to a Dexed
voice is asked for. ``DexedRenderer`` is re-exported lazily.
"""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl

__all__ = ["DexedRenderer"]


def __getattr__(name: str) -> Any:
    if name == "DexedRenderer":
        from fmbench_dexed.renderer import DexedRenderer

        return DexedRenderer
    raise AttributeError(f"module 'fmbench_dexed' has no attribute {name!r}")


@hookimpl
def fmbench_register_renderers(register):
    """Register the ``dexed`` renderer (needs the dexed-py package)."""
    register(
        "dexed",
        "fmbench_dexed.renderer:DexedRenderer",
        summary="Dexed (MSFA) reference renderer via dexed-py; JSON-dropped fields neutral",
        version="0.1.0",
        requires=("dexed",),
        providers={"dexed": "dexed-py==0.3.0"},
    )
