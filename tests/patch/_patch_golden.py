"""Golden patches of the original conversions, shared by the patch-contract tests (not a
test module)."""

from __future__ import annotations

from fmbench.patch import Patch

#: rom1a.syx voice 1 "BRASS   1" (algorithm 22), as the original loader converts it
BRASS_1 = {
    "modmatrix": [
        [0, 1, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 1],
    ],
    "outmatrix": [1, 0, 1, 1, 1, 0],
    "feedback": 7,
    "fixed_freq": [0, 0, 0, 0, 0, 0],
    "coarse": [1, 1, 1, 1, 0, 0],
    "fine": [0, 0, 0, 0, 0, 0],
    "detune": [0, 1, 0, -2, 7, 7],
    "transpose": 0,
    "ol": [82, 98, 99, 99, 86, 98],
    "eg_rate": [
        [49, 77, 77, 77, 62, 72],
        [99, 36, 36, 76, 51, 76],
        [28, 41, 41, 82, 29, 99],
        [68, 71, 71, 71, 71, 71],
    ],
    "eg_level": [
        [98, 99, 99, 99, 82, 99],
        [98, 98, 98, 98, 95, 88],
        [91, 98, 98, 98, 96, 96],
        [0, 0, 0, 0, 0, 0],
    ],
    "sensitivity": [2, 2, 2, 2, 0, 0],
}

#: the pretty-form example (docs/patch-format.md#serialized-forms), byte for byte, no
#: trailing newline
PRETTY_EXAMPLE = """{
  "modmatrix": [
      [0,1,0,0,0,0],
      [0,0,0,0,0,0],
      [0,0,0,1,0,0],
      [0,0,0,0,1,0],
      [0,0,0,0,0,1],
      [0,0,0,0,0,1]
  ],
  "outmatrix": [1,0,1,0,0,0],
  "feedback": 7,
  "fixed_freq": [0,0,0,0,0,0],
  "coarse": [1,1,1,1,1,1],
  "fine": [0,0,0,0,0,0],
  "detune": [0,0,0,0,0,0],
  "transpose": 0,
  "ol": [99,80,70,90,99,99],
  "eg_rate": [
      [99,99,99,99,99,99],
      [50,50,50,50,50,50],
      [30,30,30,30,30,30],
      [60,60,60,60,60,60]
  ],
  "eg_level": [
      [99,99,99,99,99,99],
      [90,90,90,90,90,90],
      [80,80,80,80,80,80],
      [0,0,0,0,0,0]
  ],
  "sensitivity": [0,0,0,0,0,0]
}"""


def brass() -> Patch:
    """BRASS 1 as a Patch."""
    return Patch.from_dict(BRASS_1)
