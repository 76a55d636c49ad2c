"""Parse + validate speed of a model reply against ``json.loads`` of a same-size document.

For each scenario a ~1 MB reply is built (a long ``<think>`` block of prose with stray
braces, then the patch), and the median time of ``find_last_patch`` + ``validate`` is
compared with ``json.loads`` of the reply encoded as one JSON string (the same number of
bytes through the C JSON decoder), measured in the same process, interleaved.

    python benchmarks/perf/parse_speed.py [--size-mb 1] [--repeat 15]

Scenarios: ``fenced`` (```json block at the end), ``bare`` (unfenced object at the end:
brace scan), ``bare+junk`` (the object followed by 2 000 stray ``{`` snippets),
``no-patch``/``no-patch-2`` (adversarial: 1 MB of ``{"`` or ``{"a":x``; the brace scan
spends its whole budget).
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from fmbench.patch import Patch
from fmbench.patch.errors import PatchParseError
from fmbench.patch.parse import find_last_patch
from fmbench.patch.validate import validate

BRASS = {
    "modmatrix": [[0, 1, 0, 0, 0, 0], [0] * 6] + [[0, 0, 0, 0, 0, 1]] * 4,
    "outmatrix": [1, 0, 1, 1, 1, 0],
    "feedback": 7,
    "fixed_freq": [0] * 6,
    "coarse": [1, 1, 1, 1, 0, 0],
    "fine": [0] * 6,
    "detune": [0, 1, 0, -2, 7, 7],
    "transpose": 0,
    "ol": [82, 98, 99, 99, 86, 98],
    "eg_rate": [[49, 77, 77, 77, 62, 72]] * 4,
    "eg_level": [[98, 99, 99, 99, 82, 99]] * 3 + [[0] * 6],
    "sensitivity": [2, 2, 2, 2, 0, 0],
}


def scenarios(size: int) -> dict[str, str]:
    patch = Patch.from_dict(BRASS)
    prose = "The brass needs a bright attack {R1 high} and OP2 as modulator; ratio 1:1. "
    think = "<think>\n" + (prose * (size // len(prose) + 1))[:size] + "\n</think>\n"
    return {
        "fenced": think + "```json\n" + patch.to_pretty_json() + "\n```",
        "bare": think + patch.to_json(),
        "bare+junk": think + patch.to_json() + " {x}" * 2000,
        "no-patch": '{"' * (size // 2),
        "no-patch-2": '{"a":x' * (size // 6),
    }


def _time(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    size = int(args.size_mb * 1_000_000)

    print(
        f"{'scenario':<11} {'chars':>9} {'parse+validate ms':>18} {'json.loads ms':>14} {'ratio':>6}"
    )
    for name, text in scenarios(size).items():
        doc = json.dumps(text)

        def ours(text=text):
            try:
                found = find_last_patch(text)
            except PatchParseError:
                return
            validate(found.data)

        mine, ref = [], []
        for _ in range(args.repeat):  # interleave so machine load hits both alike
            mine += _time(ours, 1)
            ref += _time(lambda doc=doc: json.loads(doc), 1)
        m, r = statistics.median(mine), statistics.median(ref)
        print(f"{name:<11} {len(text):>9} {m:>18.2f} {r:>14.2f} {m / r:>6.2f}")


if __name__ == "__main__":
    main()
