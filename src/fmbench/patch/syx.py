"""DX7 SysEx voices: read and write 32-voice bulk dumps and single-voice dumps.

Format, clamping and the init voice: docs/patch-format.md#sysex.

:class:`Voice` holds **every** DX7 voice parameter (the 155 "VCED" parameters), so
``bank bytes → Voices → bank bytes`` is byte-exact for banks whose values are in range (the
four factory ROM banks, for example). :meth:`Voice.to_patch` gives the 12-key
:class:`~fmbench.patch.model.Patch`; :meth:`Voice.from_patch` goes back, filling what the
patch lacks from the init voice (or from a ``base`` voice).

Formats
    * 32-voice bulk dump, "VMEM" format 9: ``F0 43 0n 09 20 00`` + 4096 packed bytes
      (32 × 128, OP6 first) + checksum + ``F7`` (4104 bytes);
    * headerless 4096-byte cartridge image (the 4096 packed bytes alone; no checksum);
    * single-voice dump, "VCED" format 0: ``F0 43 0n 00 01 1B`` + 155 bytes + checksum + ``F7``.

    A file may hold several such messages back to back; their voices are read in order
    (so a :class:`SyxBank` can hold more than 32 voices). SysEx messages that are not DX7
    voice dumps (other manufacturers, parameter changes, other Yamaha formats) are skipped
    and listed in :attr:`SyxBank.notes`; a file with no voice at all is an error. Anything
    malformed — wrong length, bad header, a missing ``F7``, a data byte ≥ 0x80, stray bytes
    between messages — raises :class:`SyxError` (a :class:`~fmbench.errors.FmbenchError`),
    never ``IndexError``. The checksum is ``(-sum(data)) & 0x7F``.

Out-of-range values
    Unpacking splits the shared bytes exactly like the original loader: the *upper* field of
    a shared byte takes all remaining high bits (so byte 13 = 127 gives KVS 31, byte 111 = 45
    gives feedback 5 and oscillator key sync 5), the right curve is masked to 2 bits, the
    algorithm byte is taken whole. Every unpacked value is then clamped to its maximum
    (levels/rates 99, detune 14, coarse 31, algorithm byte 31, LFO wave 5, transpose 48,
    name bytes 126, …). With ``out_of_range="clamp"`` (default) each clamp is recorded as a
    :class:`Clamp` (0-based voice index, parameter name, raw value, clamped value); bits
    that the original loader drops silently (byte 11 bits 4-6, above the two curves) are
    reported too, as parameter ``"OPn curves byte (unused bits)"``.
    ``out_of_range="reject"`` raises :class:`SyxRangeError` naming every voice and
    parameter instead.

Patch conversion and what it loses
    :meth:`Voice.to_patch` uses signed arithmetic: ``detune`` = byte − 7, ``transpose`` =
    byte − 24, topology from the algorithm table; for fixed-frequency operators ``coarse``
    is reduced mod 4 and ``detune`` set to 0 (only these matter to the reference-compatible
    renderer), so those two values do not survive a round trip. The patch drops, per
    operator: keyboard level scaling (break point, left/right depth and curve), keyboard
    rate scaling and amplitude-modulation sensitivity; per voice: the pitch EG (4 rates, 4
    levels), every LFO parameter (speed, delay, PMD, AMD, key sync, waveform, pitch-mod
    sensitivity), oscillator key sync, operator on/off and the algorithm number
    (replaced by the matrices). The name survives only as metadata: the original keeps the
    first 9 of its 10 characters (:meth:`Voice.name_metadata`, length configurable).
    :meth:`Voice.from_patch` takes the dropped values from the init voice
    (:data:`INIT_VOICE`) unless a ``base`` voice is given.

Algorithms 4 and 6
    On the hardware these two algorithms feed back through several operators (OP6 → OP5 →
    OP4 → OP6 in algorithm 4, OP6 → OP5 → OP6 in algorithm 6). Like the original, the patch
    matrices encode them as *self*-feedback on OP4 (algorithm 4) and OP5 (algorithm 6); see
    :mod:`fmbench.patch.algorithms`. The mapping stays one-to-one, so algorithm numbers
    round-trip exactly; only a renderer that uses the matrices approximates the sound.

Topology that is no DX7 algorithm
    :meth:`Voice.from_patch` raises :class:`SyxTopologyError` by default; with
    ``fallback_algorithm=32`` (any 1..32) it writes that algorithm instead and reports it
    (into the ``report`` list you pass, else as a :class:`TopologyFallbackWarning`). The
    original writer wrote algorithm 32 silently; fmbench never does.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fmbench.errors import FmbenchError
from fmbench.patch.algorithms import algorithm as _algorithm_by_number
from fmbench.patch.algorithms import find_algorithm
from fmbench.patch.model import Patch

__all__ = [
    "BANK_SIZE",
    "INIT_VOICE",
    "PARAM_MAX",
    "PARAM_NAMES",
    "ChecksumMismatch",
    "Clamp",
    "SyxBank",
    "SyxError",
    "SyxRangeError",
    "SyxTopologyError",
    "TopologyFallbackWarning",
    "Voice",
    "VoiceOperator",
    "checksum",
    "read_syx",
    "write_syx",
    "write_vced",
]

#: voices in a bulk dump
BANK_SIZE = 32
#: bytes of one packed voice (bulk dump / cartridge)
PACKED_SIZE = 128
#: bytes of one unpacked voice (VCED)
VCED_SIZE = 155
#: data bytes of a bulk dump
BULK_DATA_SIZE = BANK_SIZE * PACKED_SIZE

OutOfRange = Literal["clamp", "reject"]
ChecksumPolicy = Literal["warn", "reject", "ignore"]

# -- the 155 VCED parameters: names and maxima ----------------------------------------------
_OP_FIELDS = (
    "eg_rate1",
    "eg_rate2",
    "eg_rate3",
    "eg_rate4",
    "eg_level1",
    "eg_level2",
    "eg_level3",
    "eg_level4",
    "break_point",
    "left_depth",
    "right_depth",
    "left_curve",
    "right_curve",
    "rate_scaling",
    "ams",
    "kvs",
    "output_level",
    "osc_mode",
    "coarse",
    "fine",
    "detune",
)
_OP_MAX = (99,) * 11 + (3, 3, 7, 3, 7, 99, 1, 31, 99, 14)
_GLOBAL_FIELDS = (
    "pitch_eg_rate1",
    "pitch_eg_rate2",
    "pitch_eg_rate3",
    "pitch_eg_rate4",
    "pitch_eg_level1",
    "pitch_eg_level2",
    "pitch_eg_level3",
    "pitch_eg_level4",
    "algorithm",
    "feedback",
    "osc_key_sync",
    "lfo_speed",
    "lfo_delay",
    "lfo_pmd",
    "lfo_amd",
    "lfo_key_sync",
    "lfo_wave",
    "pitch_mod_sensitivity",
    "transpose",
)
_GLOBAL_MAX = (99,) * 8 + (31, 7, 1, 99, 99, 99, 99, 1, 5, 7, 48)

#: names of the 155 VCED parameters in byte order (OP6 block first), as used in reports
PARAM_NAMES: tuple[str, ...] = (
    tuple(f"OP{6 - j} {f}" for j in range(6) for f in _OP_FIELDS)
    + _GLOBAL_FIELDS
    + tuple(f"name[{i}]" for i in range(10))
)
#: maximum value of each VCED parameter (``algorithm`` is stored as number − 1)
PARAM_MAX: tuple[int, ...] = _OP_MAX * 6 + _GLOBAL_MAX + (126,) * 10
assert len(PARAM_NAMES) == len(PARAM_MAX) == VCED_SIZE

_G = 126  # index of the first voice-wide parameter in the VCED list


class SyxError(FmbenchError, ValueError):
    """A SysEx file or voice that cannot be read or written (message says where and why)."""


class SyxRangeError(SyxError):
    """Out-of-range values met with ``out_of_range="reject"``; ``clamps`` lists them all."""

    def __init__(self, message: str, clamps: Sequence[Clamp] = ()):
        self.clamps = tuple(clamps)
        super().__init__(message)


class SyxChecksumError(SyxError):
    """A checksum mismatch met with ``checksum="reject"``."""


class SyxTopologyError(SyxError):
    """A patch whose matrices are none of the 32 DX7 algorithms (and no fallback given)."""


class TopologyFallbackWarning(UserWarning):
    """A patch was written with a fallback algorithm because its topology is no DX7 one."""


@dataclass(frozen=True)
class Clamp:
    """One out-of-range value changed while reading (or refused, under ``reject``).

    ``voice`` is the 0-based index of the voice in the file, ``parameter`` a name from
    :data:`PARAM_NAMES` (or ``"OPn curves byte (unused bits)"``), ``raw`` the unpacked value
    found in the file and ``value`` what was kept.
    """

    voice: int
    parameter: str
    raw: int
    value: int

    def __str__(self) -> str:
        return f"voice {self.voice + 1} (index {self.voice}): {self.parameter} {self.raw} -> {self.value}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (what ``fmbench patch from-syx`` writes)."""
        return {"parameter": self.parameter, "raw": self.raw, "value": self.value}


@dataclass(frozen=True)
class ChecksumMismatch:
    """A message whose checksum byte disagrees with its data (voices: 0-based indices)."""

    offset: int
    voices: tuple[int, ...]
    expected: int
    found: int

    def __str__(self) -> str:
        first, last = self.voices[0] + 1, self.voices[-1] + 1
        which = f"voice {first}" if first == last else f"voices {first}-{last}"
        return (
            f"checksum mismatch in the message at byte {self.offset} ({which}): "
            f"found 0x{self.found:02X}, expected 0x{self.expected:02X}"
        )


def checksum(data: bytes | Sequence[int]) -> int:
    """The DX7 SysEx checksum of a message's data bytes: ``(-sum) & 0x7F``."""
    return (-sum(data)) & 0x7F


# -- value objects ---------------------------------------------------------------------------
def _check(name: str, value: Any, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= hi:
        raise SyxError(f"{name} must be an int in 0..{hi}, got {value!r}")


@dataclass(frozen=True)
class VoiceOperator:
    """One operator of a DX7 voice, in hardware units (detune 0..14, 7 = centre).

    Defaults are those of the init voice for a non-OP1 operator.
    """

    eg_rate: tuple[int, int, int, int] = (95, 95, 95, 95)
    eg_level: tuple[int, int, int, int] = (99, 99, 99, 0)
    break_point: int = 39
    left_depth: int = 0
    right_depth: int = 0
    left_curve: int = 0
    right_curve: int = 0
    rate_scaling: int = 0
    ams: int = 0
    kvs: int = 0
    output_level: int = 0
    osc_mode: int = 0
    coarse: int = 1
    fine: int = 0
    detune: int = 7

    def __post_init__(self) -> None:
        for key in ("eg_rate", "eg_level"):
            v = getattr(self, key)
            if not isinstance(v, tuple) or len(v) != 4:
                raise SyxError(f"{key} must be a tuple of 4 ints, got {v!r}")
        for name, value, hi in zip(_OP_FIELDS, self.to_vced(), _OP_MAX, strict=True):
            _check(name, value, hi)

    @property
    def detune_signed(self) -> int:
        """Detune as in the patch JSON: −7..7."""
        return self.detune - 7

    def to_vced(self) -> tuple[int, ...]:
        """The 21 VCED bytes of this operator."""
        return (
            *self.eg_rate,
            *self.eg_level,
            self.break_point,
            self.left_depth,
            self.right_depth,
            self.left_curve,
            self.right_curve,
            self.rate_scaling,
            self.ams,
            self.kvs,
            self.output_level,
            self.osc_mode,
            self.coarse,
            self.fine,
            self.detune,
        )

    @classmethod
    def from_vced(cls, v: Sequence[int]) -> VoiceOperator:
        """Build from 21 VCED values (validated)."""
        return cls(tuple(v[0:4]), tuple(v[4:8]), *v[8:21])  # type: ignore[arg-type]


@dataclass(frozen=True)
class Voice:
    """A complete DX7 voice: all 155 VCED parameters, in hardware units.

    ``operators`` is **OP6-first** (slot order, like the SysEx bytes and the patch's
    per-operator arrays); use :meth:`operator` to address one by number. ``algorithm`` is the
    DX7 number 1..32 (stored as number − 1); ``transpose`` is the hardware value 0..48
    (24 = no transposition); ``name`` is exactly 10 characters (code points 0..126).
    Construction validates every range and raises :class:`SyxError`.
    """

    operators: tuple[VoiceOperator, ...]
    pitch_eg_rate: tuple[int, int, int, int] = (99, 99, 99, 99)
    pitch_eg_level: tuple[int, int, int, int] = (50, 50, 50, 50)
    algorithm: int = 32
    feedback: int = 0
    osc_key_sync: int = 1
    lfo_speed: int = 35
    lfo_delay: int = 0
    lfo_pmd: int = 0
    lfo_amd: int = 0
    lfo_key_sync: int = 1
    lfo_wave: int = 0
    pitch_mod_sensitivity: int = 0
    transpose: int = 24
    name: str = "INITVOICE "

    def __post_init__(self) -> None:
        ops = self.operators
        if (
            not isinstance(ops, tuple)
            or len(ops) != 6
            or not all(isinstance(o, VoiceOperator) for o in ops)
        ):
            raise SyxError("operators must be a tuple of 6 VoiceOperator (OP6 first)")
        for key in ("pitch_eg_rate", "pitch_eg_level"):
            v = getattr(self, key)
            if not isinstance(v, tuple) or len(v) != 4:
                raise SyxError(f"{key} must be a tuple of 4 ints, got {v!r}")
        if not isinstance(self.algorithm, int) or not 1 <= self.algorithm <= 32:
            raise SyxError(f"algorithm must be 1..32, got {self.algorithm!r}")
        if not isinstance(self.name, str) or len(self.name) != 10:
            raise SyxError(f"name must be a string of exactly 10 characters, got {self.name!r}")
        for i, value in enumerate(self._globals_vced(), start=_G):
            _check(PARAM_NAMES[i], value, PARAM_MAX[i])

    # -- accessors -------------------------------------------------------------------------
    def operator(self, number: int) -> VoiceOperator:
        """Operator OP``number`` (1..6)."""
        if not 1 <= number <= 6:
            raise ValueError(f"operator numbers are 1..6, got {number}")
        return self.operators[6 - number]

    @property
    def transpose_semitones(self) -> int:
        """Transpose as in the patch JSON: −24..24."""
        return self.transpose - 24

    def name_metadata(self, length: int = 9) -> str:
        """The name as patch metadata: the first ``length`` characters (the original: 9)."""
        if length < 0:
            raise ValueError("length must be >= 0")
        return self.name[:length]

    def replace(self, **changes: Any) -> Voice:
        """A copy with some fields replaced (validated)."""
        return dataclasses.replace(self, **changes)

    # -- VCED / packed bytes ---------------------------------------------------------------
    def _globals_vced(self) -> tuple[int, ...]:
        return (
            *self.pitch_eg_rate,
            *self.pitch_eg_level,
            self.algorithm - 1,
            self.feedback,
            self.osc_key_sync,
            self.lfo_speed,
            self.lfo_delay,
            self.lfo_pmd,
            self.lfo_amd,
            self.lfo_key_sync,
            self.lfo_wave,
            self.pitch_mod_sensitivity,
            self.transpose,
            *(ord(c) for c in self.name),
        )

    def to_vced(self) -> tuple[int, ...]:
        """The 155 VCED parameter values in byte order (OP6 block first)."""
        out: list[int] = []
        for op in self.operators:
            out.extend(op.to_vced())
        out.extend(self._globals_vced())
        return tuple(out)

    @classmethod
    def from_vced(cls, v: Sequence[int]) -> Voice:
        """Build from 155 in-range VCED values (raises :class:`SyxError` otherwise)."""
        if len(v) != VCED_SIZE:
            raise SyxError(f"a VCED voice has {VCED_SIZE} values, got {len(v)}")
        ops = tuple(VoiceOperator.from_vced(v[21 * j : 21 * j + 21]) for j in range(6))
        g = v[_G:]
        return cls(
            operators=ops,
            pitch_eg_rate=tuple(g[0:4]),  # type: ignore[arg-type]
            pitch_eg_level=tuple(g[4:8]),  # type: ignore[arg-type]
            algorithm=g[8] + 1,
            feedback=g[9],
            osc_key_sync=g[10],
            lfo_speed=g[11],
            lfo_delay=g[12],
            lfo_pmd=g[13],
            lfo_amd=g[14],
            lfo_key_sync=g[15],
            lfo_wave=g[16],
            pitch_mod_sensitivity=g[17],
            transpose=g[18],
            name="".join(chr(b) for b in g[19:29]),
        )

    def to_packed(self) -> bytes:
        """The 128-byte packed form used in bulk dumps and cartridges."""
        out = bytearray()
        for op in self.operators:
            out += bytes(op.eg_rate) + bytes(op.eg_level)
            out += bytes((op.break_point, op.left_depth, op.right_depth))
            out.append(op.left_curve | (op.right_curve << 2))
            out.append(op.rate_scaling | (op.detune << 3))
            out.append(op.ams | (op.kvs << 2))
            out.append(op.output_level)
            out.append(op.osc_mode | (op.coarse << 1))
            out.append(op.fine)
        out += bytes(self.pitch_eg_rate) + bytes(self.pitch_eg_level)
        out.append(self.algorithm - 1)
        out.append(self.feedback | (self.osc_key_sync << 3))
        out += bytes((self.lfo_speed, self.lfo_delay, self.lfo_pmd, self.lfo_amd))
        out.append(self.lfo_key_sync | (self.lfo_wave << 1) | (self.pitch_mod_sensitivity << 4))
        out.append(self.transpose)
        out += self.name.encode("ascii")
        assert len(out) == PACKED_SIZE
        return bytes(out)

    @classmethod
    def from_packed(cls, data: bytes, *, out_of_range: OutOfRange = "reject") -> Voice:
        """Build from 128 packed bytes; out-of-range values are clamped or rejected."""
        if len(data) != PACKED_SIZE:
            raise SyxError(f"a packed voice has {PACKED_SIZE} bytes, got {len(data)}")
        _check_policy("out_of_range", out_of_range, ("clamp", "reject"))
        voice, clamps = _voice_from_raw(_unpack(data), 0, stray=_stray_bits(data, 0))
        if clamps and out_of_range == "reject":
            raise SyxRangeError(_range_message(clamps, [voice]), clamps)
        return voice

    # -- patch conversion ------------------------------------------------------------------
    def to_patch(self) -> Patch:
        """The 12-key patch: signed detune/transpose, matrices from the
        algorithm; fixed-frequency operators get ``coarse mod 4`` and detune 0."""
        alg = _algorithm_by_number(self.algorithm)
        ops = self.operators
        fixed = tuple(o.osc_mode for o in ops)
        return Patch(
            modmatrix=alg.modmatrix,
            outmatrix=alg.outmatrix,
            feedback=self.feedback,
            fixed_freq=fixed,
            coarse=tuple(o.coarse % 4 if o.osc_mode else o.coarse for o in ops),
            fine=tuple(o.fine for o in ops),
            detune=tuple(0 if o.osc_mode else o.detune - 7 for o in ops),
            transpose=self.transpose - 24,
            ol=tuple(o.output_level for o in ops),
            eg_rate=tuple(tuple(o.eg_rate[r] for o in ops) for r in range(4)),
            eg_level=tuple(tuple(o.eg_level[r] for o in ops) for r in range(4)),
            sensitivity=tuple(o.kvs for o in ops),
        )

    @classmethod
    def from_patch(
        cls,
        patch: Patch,
        *,
        name: str | None = None,
        base: Voice | None = None,
        fallback_algorithm: int | None = None,
        report: list[str] | None = None,
    ) -> Voice:
        """The voice for a patch: the 14 kept values per operator, feedback,
        transpose and the algorithm found from the matrices; every dropped parameter comes
        from ``base`` (default :data:`INIT_VOICE`). A fixed-frequency operator whose patch
        values are the base's as reduced by :meth:`to_patch` (``coarse mod 4``, detune 0)
        keeps the base's coarse and detune, so ``Voice.from_patch(v.to_patch(), base=v) == v``.

        ``name`` (cut/padded to 10 characters; code points 0..126 only) defaults to the base
        voice's name. A topology that is no DX7 algorithm raises :class:`SyxTopologyError`
        unless ``fallback_algorithm`` (1..32) is given; the fallback is then reported into
        ``report`` (if a list is passed) or as a :class:`TopologyFallbackWarning`.
        """
        base = INIT_VOICE if base is None else base
        number = find_algorithm(patch.modmatrix, patch.outmatrix)
        if number is None:
            if fallback_algorithm is None:
                raise SyxTopologyError(
                    "the patch topology (modmatrix/outmatrix) is none of the 32 DX7 "
                    "algorithms; pass a fallback algorithm (e.g. 32) to write it anyway"
                )
            _algorithm_by_number(fallback_algorithm)  # validates 1..32
            number = fallback_algorithm
            msg = (
                f"topology is no DX7 algorithm; wrote algorithm {fallback_algorithm} instead "
                "(the patch's matrices are lost)"
            )
            if report is not None:
                report.append(msg)
            else:
                warnings.warn(msg, TopologyFallbackWarning, stacklevel=2)
        ops = []
        for s, op in enumerate(base.operators):
            coarse, detune = patch.coarse[s], min(max(patch.detune[s] + 7, 0), 14)
            if patch.fixed_freq[s] and op.osc_mode and coarse == op.coarse % 4 and detune == 7:
                # the patch holds the base's fixed-mode values as reduced by to_patch()
                coarse, detune = op.coarse, op.detune
            ops.append(
                dataclasses.replace(
                    op,
                    eg_rate=tuple(patch.eg_rate[r][s] for r in range(4)),
                    eg_level=tuple(patch.eg_level[r][s] for r in range(4)),
                    kvs=patch.sensitivity[s],
                    output_level=patch.ol[s],
                    osc_mode=patch.fixed_freq[s],
                    coarse=coarse,
                    fine=patch.fine[s],
                    detune=detune,
                )
            )
        return dataclasses.replace(
            base,
            operators=tuple(ops),
            algorithm=number,
            feedback=patch.feedback,
            transpose=min(max(patch.transpose + 24, 0), 48),
            name=base.name if name is None else _voice_name(name),
        )


def _voice_name(name: str) -> str:
    if not isinstance(name, str):
        raise SyxError(f"a voice name must be a string, got {type(name).__name__}")
    name = name[:10].ljust(10)
    bad = [c for c in name if ord(c) > 126]
    if bad:
        raise SyxError(
            f"voice name {name!r} has characters a DX7 cannot store ({bad[0]!r}); "
            "use ASCII code points 0..126"
        )
    return name


#: the init voice (algorithm 32, OP1 output level 99 and KVS 2, name INITVOICE)
INIT_VOICE = Voice(
    operators=(VoiceOperator(),) * 5 + (VoiceOperator(output_level=99, kvs=2),),
)


# -- unpacking with the reference's bit splitting --------------------------------------------
def _unpack(p: bytes) -> list[int]:
    """128 packed bytes → 155 *raw* (unclamped) VCED values, split like the original loader."""
    o: list[int] = []
    for j in range(6):
        b = p[17 * j : 17 * j + 17]
        o.extend(b[0:11])
        o += [b[11] & 3, (b[11] >> 2) & 3]  # curves
        o += [b[12] & 7]  # rate scaling (detune comes last)
        o += [b[13] & 3, b[13] >> 2]  # AMS, KVS (KVS takes the high bits)
        o += [b[14], b[15] & 1, b[15] >> 1, b[16], b[12] >> 3]  # OL, mode, coarse, fine, detune
    o.extend(p[102:111])  # pitch EG (8), algorithm byte whole
    o += [p[111] & 7, p[111] >> 3]  # feedback, osc key sync
    o.extend(p[112:116])
    o += [p[116] & 1, (p[116] >> 1) & 7, p[116] >> 4]  # LFO sync, wave, PMS
    o.extend(p[117:128])  # transpose, name
    return o


def _stray_bits(p: bytes, voice: int) -> list[Clamp]:
    """Bits the original loader drops silently (byte 11 above the two curves), as clamps."""
    out = []
    for j in range(6):
        b = p[17 * j + 11]
        if b >> 4:
            out.append(Clamp(voice, f"OP{6 - j} curves byte (unused bits)", b, b & 0x0F))
    return out


def _voice_from_raw(
    raw: Sequence[int], voice: int, stray: Sequence[Clamp] = ()
) -> tuple[Voice, list[Clamp]]:
    clamps = list(stray)
    values = list(raw)
    for i, (v, hi) in enumerate(zip(raw, PARAM_MAX, strict=True)):
        if v > hi:
            clamps.append(Clamp(voice, PARAM_NAMES[i], v, hi))
            values[i] = hi
    return Voice.from_vced(values), clamps


def _range_message(clamps: Sequence[Clamp], voices: Sequence[Voice | None]) -> str:
    shown = []
    for c in clamps[:10]:
        v = voices[c.voice] if c.voice < len(voices) else None
        label = f" '{v.name.rstrip()}'" if v is not None else ""
        shown.append(
            f"voice {c.voice + 1}{label}: {c.parameter} = {c.raw} (max {_max_of(c.parameter, c)})"
        )
    more = f" (+{len(clamps) - 10} more)" if len(clamps) > 10 else ""
    return "out-of-range values (out_of_range='reject'): " + "; ".join(shown) + more


def _max_of(parameter: str, clamp: Clamp) -> int:
    try:
        return PARAM_MAX[PARAM_NAMES.index(parameter)]
    except ValueError:
        return clamp.value


def _check_policy(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SyxError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


# -- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SyxBank:
    """What :func:`read_syx` found: the voices in file order plus everything it changed.

    ``clamps`` and ``checksum_errors`` use 0-based voice indices into ``voices``;
    ``formats`` lists the messages read (``"bulk"``, ``"vced"`` or ``"cart"``); ``notes``
    lists skipped non-voice messages; ``channel`` is the MIDI channel (0-based) of the first
    dump message, or None for a headerless cart.
    """

    voices: tuple[Voice, ...]
    clamps: tuple[Clamp, ...] = ()
    checksum_errors: tuple[ChecksumMismatch, ...] = ()
    formats: tuple[str, ...] = ()
    channel: int | None = None
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.voices)

    def __iter__(self) -> Iterator[Voice]:
        return iter(self.voices)

    def __getitem__(self, index: int) -> Voice:
        return self.voices[index]

    def clamps_for(self, index: int) -> list[Clamp]:
        """The clamps of voice ``index`` (0-based)."""
        return [c for c in self.clamps if c.voice == index]

    def to_patches(self) -> list[Patch]:
        """Every voice as a 12-key patch."""
        return [v.to_patch() for v in self.voices]

    def to_syx(self, *, channel: int = 0) -> bytes:
        """Write the voices back as one 32-voice bulk dump (at most 32 voices)."""
        return write_syx(self.voices, channel=channel)


def _load(data: bytes | bytearray | memoryview | str | os.PathLike[str]) -> tuple[bytes, str]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), "<bytes>"
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        try:
            return path.read_bytes(), str(path)
        except OSError as exc:
            raise SyxError(f"cannot read {path}: {exc.strerror or exc}") from exc
    raise SyxError(f"read_syx expects bytes or a path, got {type(data).__name__}")


_STATUS_BYTE = re.compile(rb"[\x80-\xff]")
#: at most this many skipped-message notes are kept (then a count)
_MAX_NOTES = 20


def _messages(data: bytes, where: str) -> Iterator[tuple[int, bytes]]:
    """Split a file into SysEx messages (offset, bytes incl. F0/F7), strictly."""
    n, pos = len(data), 0
    while pos < n:
        if data[pos] != 0xF0:
            raise SyxError(
                f"{where}: expected a SysEx message (0xF0) at byte {pos}, found 0x{data[pos]:02X}"
            )
        m = _STATUS_BYTE.search(data, pos + 1)
        j = n if m is None else m.start()
        if j == n:
            raise SyxError(
                f"{where}: the message starting at byte {pos} has no end byte 0xF7 "
                f"(file truncated after {n} bytes?)"
            )
        if data[j] != 0xF7:
            raise SyxError(
                f"{where}: byte {j} is 0x{data[j]:02X} inside the message starting at byte "
                f"{pos}; SysEx data bytes must be below 0x80 (truncated or corrupted message)"
            )
        yield pos, data[pos : j + 1]
        pos = j + 1


def read_syx(
    data: bytes | bytearray | memoryview | str | os.PathLike[str],
    *,
    out_of_range: OutOfRange = "clamp",
    checksum: ChecksumPolicy = "warn",
) -> SyxBank:
    """Read DX7 voices from a ``.syx`` file (path) or its bytes.

    Accepts 32-voice bulk dumps, headerless 4096-byte carts, single-voice VCED dumps and
    several messages back to back (see the module docstring). ``out_of_range``: ``"clamp"``
    (record each change in :attr:`SyxBank.clamps`) or ``"reject"`` (raise
    :class:`SyxRangeError`). ``checksum``: ``"warn"`` (record in
    :attr:`SyxBank.checksum_errors`), ``"reject"`` (raise :class:`SyxChecksumError`) or
    ``"ignore"``. Malformed input raises :class:`SyxError`.
    """
    _check_policy("out_of_range", out_of_range, ("clamp", "reject"))
    _check_policy("checksum", checksum, ("warn", "reject", "ignore"))
    raw_data, where = _load(data)
    if not raw_data:
        raise SyxError(f"{where}: empty file")

    raws: list[tuple[list[int], list[Clamp]]] = []  # raw VCED values and stray-bit clamps
    formats: list[str] = []
    mismatches: list[ChecksumMismatch] = []
    notes: list[str] = []
    channel: int | None = None
    skipped = 0

    def add_packed(block: bytes) -> None:
        for v in range(BANK_SIZE):
            p = block[PACKED_SIZE * v : PACKED_SIZE * (v + 1)]
            raws.append((_unpack(p), _stray_bits(p, len(raws))))

    if raw_data[0] != 0xF0:
        if len(raw_data) != BULK_DATA_SIZE:
            raise SyxError(
                f"{where}: not a SysEx file (does not start with 0xF0) and not a headerless "
                f"{BULK_DATA_SIZE}-byte cartridge image ({len(raw_data)} bytes)"
            )
        m = _STATUS_BYTE.search(raw_data)
        if m is not None:
            high = m.start()
            raise SyxError(
                f"{where}: headerless cart has byte 0x{raw_data[high]:02X} at offset {high}; "
                "voice data bytes must be below 0x80"
            )
        add_packed(raw_data)
        formats.append("cart")
    else:
        for offset, msg in _messages(raw_data, where):
            kind = _dump_kind(msg)
            if kind is None:
                skipped += 1
                if skipped <= _MAX_NOTES:
                    notes.append(
                        f"skipped a non-voice SysEx message at byte {offset}: {_head(msg)}"
                    )
                continue
            size, expected_len = (BULK_DATA_SIZE, 4104) if kind == "bulk" else (VCED_SIZE, 163)
            count = (msg[4] << 7) | msg[5]
            if count != size or len(msg) != expected_len:
                raise SyxError(
                    f"{where}: the {'32-voice bulk' if kind == 'bulk' else 'single-voice'} "
                    f"dump at byte {offset} is {len(msg)} bytes long and declares {count} data "
                    f"bytes; expected {expected_len} bytes with {size} data bytes "
                    "(truncated or corrupted file)"
                )
            body, found = msg[6 : 6 + size], msg[6 + size]
            first = len(raws)
            if channel is None:
                channel = msg[2] & 0x0F
            if kind == "bulk":
                add_packed(body)
            else:
                raws.append((list(body), []))
            formats.append(kind)
            want = (-sum(body)) & 0x7F
            if found != want and checksum != "ignore":
                mm = ChecksumMismatch(offset, tuple(range(first, len(raws))), want, found)
                if checksum == "reject":
                    raise SyxChecksumError(f"{where}: {mm}")
                mismatches.append(mm)
        if skipped > _MAX_NOTES:
            notes.append(f"… and {skipped - _MAX_NOTES} more non-voice messages skipped")
        if not raws:
            raise SyxError(
                f"{where}: no DX7 voice dump found"
                + (f" ({'; '.join(notes[:3])})" if notes else "")
            )

    voices: list[Voice] = []
    clamps: list[Clamp] = []
    for index, (raw, stray) in enumerate(raws):
        voice, cl = _voice_from_raw(raw, index, stray)
        voices.append(voice)
        clamps.extend(cl)
    if clamps and out_of_range == "reject":
        raise SyxRangeError(f"{where}: {_range_message(clamps, voices)}", clamps)
    return SyxBank(
        voices=tuple(voices),
        clamps=tuple(clamps),
        checksum_errors=tuple(mismatches),
        formats=tuple(formats),
        channel=channel,
        notes=tuple(notes),
    )


def _dump_kind(msg: bytes) -> str | None:
    """``"bulk"``/``"vced"`` for a Yamaha DX7 voice dump message, else None."""
    if len(msg) < 7 or msg[1] != 0x43 or msg[2] >> 4 != 0:
        return None
    return {9: "bulk", 0: "vced"}.get(msg[3])


def _head(msg: bytes) -> str:
    return " ".join(f"{b:02X}" for b in msg[:6]) + (" …" if len(msg) > 6 else "")


# -- writing ---------------------------------------------------------------------------------
def _check_channel(channel: int) -> None:
    if not isinstance(channel, int) or isinstance(channel, bool) or not 0 <= channel <= 15:
        raise SyxError(f"MIDI channel must be 0..15 (0 = channel 1), got {channel!r}")


def write_syx(voices: Iterable[Voice], *, channel: int = 0) -> bytes:
    """A 32-voice bulk dump (4104 bytes) of up to 32 voices; missing ones are
    :data:`INIT_VOICE`. More than 32 voices raise :class:`SyxError`."""
    _check_channel(channel)
    voices = list(voices)
    if len(voices) > BANK_SIZE:
        raise SyxError(f"a bulk dump holds at most {BANK_SIZE} voices, got {len(voices)}")
    for i, v in enumerate(voices):
        if not isinstance(v, Voice):
            raise SyxError(f"voice {i + 1} is a {type(v).__name__}, not a Voice")
    voices += [INIT_VOICE] * (BANK_SIZE - len(voices))
    body = b"".join(v.to_packed() for v in voices)
    return bytes((0xF0, 0x43, channel, 0x09, 0x20, 0x00)) + body + bytes((checksum(body), 0xF7))


def write_vced(voice: Voice, *, channel: int = 0) -> bytes:
    """A single-voice dump (VCED, format 0; 163 bytes)."""
    _check_channel(channel)
    if not isinstance(voice, Voice):
        raise SyxError(f"expected a Voice, got {type(voice).__name__}")
    body = bytes(voice.to_vced())
    return bytes((0xF0, 0x43, channel, 0x00, 0x01, 0x1B)) + body + bytes((checksum(body), 0xF7))
