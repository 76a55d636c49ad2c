"""`fmbench patch from-syx` / `fmbench patch to-syx`: DX7 SysEx banks ↔ JSON Lines of patches.

Records written by ``from-syx`` (one JSON object per line)::

    {"id": "<bank stem>/<0-based index>", "bank": "<stem>", "index": 0, "name": "BRASS   1",
     "patch": {<12 canonical keys>}, "clamped": [{"parameter": ..., "raw": ..., "value": ...}]}

plus ``"vced"`` (all 155 DX7 parameters) with ``--full``, which lets ``to-syx`` restore the
parameters a patch drops (docs/patch-format.md#sysex): ``from-syx --full`` then ``to-syx``
is byte-exact for in-range banks. ``to-syx`` reads such records or bare patch dicts (an
optional ``name`` key is used as the voice name). More than 32 patches are an error unless
``--split`` is given, which writes ``<stem>-01.syx``, ``<stem>-02.syx``, … (32 voices each,
the last one padded with init voices).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from fmbench.errors import FmbenchError


@click.command("from-syx")
@click.argument("banks", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON Lines file to write ('-' for stdout).",
)
@click.option(
    "--out-of-range",
    type=click.Choice(["clamp", "reject"]),
    default="clamp",
    show_default=True,
    help="Clamp out-of-range bytes (each one reported) or reject the bank.",
)
@click.option(
    "--checksum",
    type=click.Choice(["warn", "reject", "ignore"]),
    default="warn",
    show_default=True,
    help="What to do with a bad checksum.",
)
@click.option(
    "--name-length",
    type=click.IntRange(0, 10),
    default=9,
    show_default=True,
    help="Characters of the voice name kept as metadata (reference: 9).",
)
@click.option(
    "--full", is_flag=True, help="Also store all 155 DX7 parameters (key 'vced') in each record."
)
def from_syx_cmd(
    banks: tuple[Path, ...],
    output: str,
    out_of_range: str,
    checksum: str,
    name_length: int,
    full: bool,
) -> None:
    """Convert DX7 SysEx banks (.syx) to JSON Lines, one patch per voice.

    Reads 32-voice bulk dumps, headerless 4096-byte carts and single-voice dumps. A report
    (voices converted, which were clamped and how, checksum problems) goes to stderr.
    """
    from fmbench.patch.syx import read_syx

    stems: dict[str, Path] = {}
    for path in banks:
        if path.stem in stems:
            raise FmbenchError(
                f"{stems[path.stem]} and {path} have the same stem {path.stem!r}; "
                "record ids ('<stem>/<index>') would collide — rename one of them"
            )
        stems[path.stem] = path
    results = [
        (path, read_syx(path, out_of_range=out_of_range, checksum=checksum)) for path in banks
    ]  # type: ignore[arg-type]

    lines = []
    total = clamped_voices = clamped_values = bad_sums = 0
    for path, bank in results:
        stem = path.stem
        report = [f"{path.name}: {len(bank)} voices converted ({', '.join(bank.formats)})"]
        for mm in bank.checksum_errors:
            report.append(f"  warning: {mm}")
        for note in bank.notes:
            report.append(f"  note: {note}")
        for index, voice in enumerate(bank.voices):
            clamps = bank.clamps_for(index)
            record: dict[str, Any] = {
                "id": f"{stem}/{index}",
                "bank": stem,
                "index": index,
                "name": voice.name_metadata(name_length),
                "patch": voice.to_patch().to_dict(),
                "clamped": [c.to_dict() for c in clamps],
            }
            if full:
                record["vced"] = list(voice.to_vced())
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            if clamps:
                clamped_voices += 1
                clamped_values += len(clamps)
                what = ", ".join(f"{c.parameter} {c.raw}->{c.value}" for c in clamps)
                report.append(
                    f"  clamped #{index + 1} '{voice.name.rstrip()}' ({stem}/{index}): {what}"
                )
        total += len(bank)
        bad_sums += len(bank.checksum_errors)
        click.echo("\n".join(report), err=True)

    text = "\n".join(lines) + "\n"
    if output == "-":
        click.echo(text, nl=False)
    else:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise FmbenchError(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(
        f"{total} voices from {len(banks)} bank(s) -> {output}; {clamped_voices} voice(s) "
        f"clamped ({clamped_values} value(s) changed); {bad_sums} checksum mismatch(es)",
        err=True,
    )


@click.command("to-syx")
@click.argument("patches_file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .syx file to write (32-voice bulk dump).",
)
@click.option(
    "--fallback-algorithm",
    type=click.IntRange(1, 32),
    default=None,
    help="Write patches whose topology is no DX7 algorithm with this algorithm "
    "(reported); without it such a patch is an error.",
)
@click.option(
    "--split",
    is_flag=True,
    help="More than 32 patches: write <stem>-01.syx, <stem>-02.syx, … instead of failing.",
)
@click.option(
    "--channel",
    type=click.IntRange(1, 16),
    default=1,
    show_default=True,
    help="MIDI channel stored in the dump header.",
)
def to_syx_cmd(
    patches_file: str, output: Path, fallback_algorithm: int | None, split: bool, channel: int
) -> None:
    """Write patches (JSON Lines: from-syx records or bare patch dicts) to a DX7 bank.

    Parameters a patch does not carry come from the init voice, or from the record's
    'vced' values when present (from-syx --full). Fewer than 32 patches are padded with
    init voices.
    """
    from fmbench.patch.syx import BANK_SIZE, write_syx

    if patches_file == "-":
        voices, fallbacks = _read_voices(sys.stdin, "<stdin>", fallback_algorithm)
    else:
        try:
            with open(patches_file, encoding="utf-8") as fh:
                voices, fallbacks = _read_voices(fh, patches_file, fallback_algorithm)
        except OSError as exc:
            raise FmbenchError(f"cannot read {patches_file}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise FmbenchError(f"{patches_file} is not UTF-8 text ({exc.reason})") from exc
    if not voices:
        raise FmbenchError(f"{patches_file}: no patches found")
    if len(voices) > BANK_SIZE and not split:
        n_files = -(-len(voices) // BANK_SIZE)
        raise FmbenchError(
            f"{len(voices)} patches do not fit one bank of {BANK_SIZE}; pass --split to write "
            f"{n_files} files ({output.stem}-01{output.suffix} …)"
        )
    for msg in fallbacks:
        click.echo(f"warning: {msg}", err=True)
    chunks = [voices[i : i + BANK_SIZE] for i in range(0, len(voices), BANK_SIZE)]
    if len(chunks) == 1:
        targets = [output]
    else:
        targets = [
            output.with_name(f"{output.stem}-{k + 1:02d}{output.suffix}")
            for k in range(len(chunks))
        ]
    for target, chunk in zip(targets, chunks, strict=True):
        try:
            target.write_bytes(write_syx(chunk, channel=channel - 1))
        except OSError as exc:
            raise FmbenchError(f"cannot write {target}: {exc.strerror or exc}") from exc
        pad = BANK_SIZE - len(chunk)
        extra = f" (+{pad} init voices)" if pad else ""
        click.echo(f"wrote {len(chunk)} voices{extra} -> {target}", err=True)


def _read_voices(fh: TextIO, where: str, fallback_algorithm: int | None) -> tuple[list, list[str]]:
    """Parse a JSON Lines stream of records / bare patches into Voices."""
    from fmbench.patch.model import Patch
    from fmbench.patch.syx import Voice

    voices: list[Voice] = []
    fallbacks: list[str] = []
    for lineno, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        here = f"{where} line {lineno}"
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise FmbenchError(f"{here}: not valid JSON ({msg})") from None
        if not isinstance(obj, dict):
            raise FmbenchError(f"{here}: expected a JSON object, got {type(obj).__name__}")
        if "patch" in obj:
            patch_obj, name, vced = obj["patch"], obj.get("name"), obj.get("vced")
        else:
            patch_obj, name, vced = obj, obj.get("name"), None
        if name is not None and not isinstance(name, str):
            raise FmbenchError(f"{here}: 'name' must be a string")
        patch = Patch.from_dict(patch_obj, context=here)
        base = None
        if vced is not None:
            if not isinstance(vced, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in vced
            ):
                raise FmbenchError(f"{here}: 'vced' must be a list of 155 integers")
            try:
                base = Voice.from_vced(vced)
            except FmbenchError as exc:
                raise FmbenchError(f"{here}: bad 'vced': {exc}") from None
            if name is not None and base.name.startswith(name):
                name = None  # the metadata name is a prefix of the full 10-character name
        report: list[str] = []
        try:
            voice = Voice.from_patch(
                patch, name=name, base=base, fallback_algorithm=fallback_algorithm, report=report
            )
        except FmbenchError as exc:
            raise FmbenchError(f"{here}: {exc}") from None
        fallbacks.extend(f"{here} (voice {len(voices) + 1}): {m}" for m in report)
        voices.append(voice)
    return voices, fallbacks
