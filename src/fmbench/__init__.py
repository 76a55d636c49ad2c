"""fmbench: evaluation and benchmark harness for text-to-DX7-patch models."""

from fmbench import jit as _jit
from fmbench.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]

# numba's JIT cache: fmbench's own folder, safe for concurrent processes (fmbench.jit)
_jit.configure()
