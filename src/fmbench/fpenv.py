"""The calling thread's floating-point environment: flushing subnormal numbers to zero.

A recursive filter fed silence (a clip's quiet tail, a decaying note) lets its state
decay through the subnormal range (|x| < 2.2e-308 in double precision, 1.2e-38 in
single), where most x86 processors compute each operation in microcode, 10–100× slower.
timbral-fast's filters spent most of their time there on Intel machines. Inside
:func:`flush_subnormals` the processor treats subnormal inputs and results as zero (x86:
the MXCSR's FTZ and DAZ bits; ARM64: the FPCR's FZ bit) for every library the thread
calls (numpy, scipy, numba-compiled code). Only values below those limits change, to 0,
so results are the same unless a computation depends on quantities of that size.

The setting is per thread and restored on exit (exceptions included). Where it cannot be
set (not glibc on x86-64 or ARM64) the context does nothing: results are the same, only
slower on such machines.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import platform
import sys
from collections.abc import Iterator

#: x86-64 glibc ``fenv_t``: 32 bytes, the MXCSR register in the last four
_X86_MXCSR_AT, _X86_FTZ_DAZ = 28, 0x8000 | 0x0040
#: ARM64 glibc ``fenv_t``: the FPCR register in the first four bytes; FZ is bit 24
_ARM_FPCR_AT, _ARM_FZ = 0, 1 << 24
_FENV_SIZE = 32  # large enough for either layout


@functools.lru_cache(maxsize=1)
def _control() -> tuple[ctypes.CDLL, int, int] | None:
    """(libm, byte offset of the control register in ``fenv_t``, bits to set), or None
    where this module does not know the platform's ``fenv_t``."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        at, bits = _X86_MXCSR_AT, _X86_FTZ_DAZ
    elif machine in ("aarch64", "arm64"):
        at, bits = _ARM_FPCR_AT, _ARM_FZ
    else:
        return None
    try:
        libm = ctypes.CDLL("libm.so.6")
    except OSError:
        return None
    return libm, at, bits


def supported() -> bool:
    """Whether :func:`flush_subnormals` takes effect on this platform."""
    return _control() is not None


@contextlib.contextmanager
def flush_subnormals() -> Iterator[None]:
    """Within the block, this thread's floating-point operations read and write subnormal
    numbers as zero; the previous environment (rounding, flags, flushing) comes back on
    exit. Nests; does nothing where :func:`supported` is False."""
    control = _control()
    if control is None:
        yield
        return
    libm, at, bits = control
    saved = ctypes.create_string_buffer(_FENV_SIZE)
    if libm.fegetenv(saved) != 0:
        yield
        return
    env = ctypes.create_string_buffer(saved.raw, _FENV_SIZE)
    register = int.from_bytes(env.raw[at : at + 4], "little") | bits
    ctypes.memmove(ctypes.addressof(env) + at, register.to_bytes(4, "little"), 4)
    libm.fesetenv(env)
    try:
        yield
    finally:
        libm.fesetenv(saved)
