"""fmbench: evaluation and benchmark harness for text-to-DX7-patch models."""

from fmbench.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
