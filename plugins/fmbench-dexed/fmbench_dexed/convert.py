"""fmbench patch → Dexed voice.

The fmbench JSON keeps 14 values per operator plus topology, feedback and transpose
(docs/patch-format.md#sysex). Everything else a DX7 voice has is set *neutral*
(:data:`NEUTRAL_BASE`), so that Dexed plays exactly what the JSON describes and nothing
more:
- LFO off: speed 0, delay 0, pitch-mod depth 0, amp-mod depth 0, pitch-mod sensitivity 0
  (key sync on, triangle wave — irrelevant at zero depth);
- flat pitch EG: rates 99, levels 50;
- no keyboard level scaling (break point 39, depths 0, linear curves) and no keyboard rate
  scaling (0); amplitude-modulation sensitivity 0;
- oscillator key sync on; all six operators on.

The voice itself is built by fmbench's own :meth:`fmbench.patch.syx.Voice.from_patch` on
that neutral base; only :func:`patch_to_dexed_voice` imports dexed-py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fmbench.errors import FmbenchError
from fmbench.patch.model import Patch
from fmbench.patch.syx import Voice, VoiceOperator

if TYPE_CHECKING:  # pragma: no cover
    import dexed

#: the name written into converted voices (10 characters)
VOICE_NAME = "FMBENCH   "
#: VCED byte 155: operator on/off bit mask (all six on)
OPERATORS_ON = 0x3F

#: every field the JSON drops, neutral; the 14 kept values per operator come from the patch
NEUTRAL_BASE = Voice(
    operators=(VoiceOperator(),) * 6,  # break point 39, depths/curves/rate scaling/AMS 0
    pitch_eg_rate=(99, 99, 99, 99),
    pitch_eg_level=(50, 50, 50, 50),
    osc_key_sync=1,
    lfo_speed=0,
    lfo_delay=0,
    lfo_pmd=0,
    lfo_amd=0,
    lfo_key_sync=1,
    lfo_wave=0,
    pitch_mod_sensitivity=0,
    name=VOICE_NAME,
)


class UnsupportedTopologyError(FmbenchError, ValueError):
    """The patch's matrices are not one of the 32 DX7 algorithms, which is all Dexed plays."""


def _describe_topology(patch: Patch) -> str:
    edges = [
        f"{m + 1}->{c + 1}" for c in range(6) for m in range(6) if patch.modmatrix[c][m] and m != c
    ]
    fb = [k + 1 for k in range(6) if patch.modmatrix[k][k]]
    return (
        f"carriers {list(patch.carriers)}, modulation edges {edges or 'none'}, "
        f"feedback operator(s) {fb or 'none'}"
    )


def dexed_algorithm(patch: Patch) -> int:
    """The DX7 algorithm number (1..32) of ``patch``'s topology.

    Raises :class:`UnsupportedTopologyError` when the matrices match no DX7 algorithm.
    """
    number = patch.algorithm
    if number is None:
        raise UnsupportedTopologyError(
            "the dexed renderer can only play the 32 DX7 algorithms, and this patch's "
            f"modmatrix/outmatrix match none of them ({_describe_topology(patch)}); "
            "render it with the 'dx7' renderer, which accepts any topology"
        )
    return number


def patch_to_voice(patch: Patch) -> Voice:
    """The full DX7 voice Dexed plays for ``patch``: the patch's values on
    :data:`NEUTRAL_BASE`. Raises :class:`UnsupportedTopologyError` for a non-DX7 topology."""
    dexed_algorithm(patch)
    return Voice.from_patch(patch, base=NEUTRAL_BASE)


def patch_to_vced(patch: Patch) -> bytes:
    """The 156-byte DX7 VCED image Dexed loads: :func:`patch_to_voice`'s 155 parameters
    (operator blocks OP6 first) plus the operator on/off byte (all on)."""
    return bytes(patch_to_voice(patch).to_vced()) + bytes([OPERATORS_ON])


def patch_to_dexed_voice(patch: Patch) -> dexed.Patch:
    """``patch`` as a :class:`dexed.Patch` (the VCED of :func:`patch_to_vced`, decoded by
    dexed-py). Raises :class:`UnsupportedTopologyError` for a non-DX7 topology."""
    import dexed

    return dexed.Patch.from_sysex(patch_to_vced(patch))
