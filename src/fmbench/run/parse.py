"""The patch-contract stage: a generator output → a parsed, validated (or repaired) patch.

Failures are recorded on the :class:`~fmbench.contracts.Sample`, never raised: an
unparsable reply, an invalid patch, an unreadable or non-finite audio file all leave the
sample invalid with the reason in ``parse_error``/``problems``, and the scoring stage
gives it each output's worst value.
"""

from __future__ import annotations

import json
from typing import Any

from fmbench.contracts import GeneratorOutput, Sample
from fmbench.errors import FmbenchError
from fmbench.patch.errors import PatchParseError
from fmbench.patch.model import Patch
from fmbench.patch.parse import parse_reply
from fmbench.patch.validate import validate


def parse_output(output: GeneratorOutput, sample: Sample, *, repair: str | None = None) -> None:
    """Fill ``sample`` from a generator output: parse, validate, build (or repair) the patch."""
    sample.raw_output = output.raw_output
    if output.audio_path is not None:
        _read_direct_audio(output.audio_path, sample)
        return
    if output.patch is not None:
        parsed: Any = output.patch
        if sample.raw_output is None:
            sample.raw_output = json.dumps(output.patch, separators=(",", ":"))
    elif output.raw_output is not None:
        try:
            parsed = parse_reply(output.raw_output)
        except PatchParseError as exc:
            sample.parse_error = str(exc)
            return
    else:
        sample.parse_error = output.info.get("error", "the generator produced no output")
        return
    if not isinstance(parsed, dict):
        sample.parse_error = f"expected a JSON object, got {type(parsed).__name__}"
        return
    sample.parsed = parsed
    sample.problems = validate(parsed)
    if not sample.problems:
        sample.patch = Patch.from_dict(parsed)
    elif repair:
        from fmbench.patch.repair import repair as repair_patch

        try:
            sample.patch, notes = repair_patch(parsed, policy=repair)
            sample.repaired = True
            if notes:
                sample.notes["repair"] = "; ".join(notes)[:500]
        except FmbenchError as exc:
            sample.notes["repair"] = f"repair failed: {exc}"


def _read_direct_audio(path: str, sample: Sample) -> None:
    """Audio a text-to-audio system produced: valid only when readable and finite."""
    from fmbench.audio import AudioFileSamples, StoredAudio, audio_problem, read_audio

    try:
        audio = read_audio(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a recorded failure
        sample.parse_error = f"cannot read audio file {path}: {exc}"
        return
    problem = audio_problem(audio)
    if problem is not None:
        sample.parse_error = f"unusable audio file {path}: {problem}"
        return
    # read again from the file when a metric uses it: a run holds no audio per item
    sample.audio = StoredAudio.of(audio, AudioFileSamples(str(path)))
    sample.direct_audio = True
