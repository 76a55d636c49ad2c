"""`fmbench patch …`: validate, schema, SysEx import/export."""

from __future__ import annotations

import click

from fmbench.cli.common import repair_option
from fmbench.cli.syx import from_syx_cmd, to_syx_cmd


@click.group("patch")
def patch_group() -> None:
    """Work with DX7 patches: validate model output, convert SysEx banks, print the schema."""


patch_group.add_command(from_syx_cmd)
patch_group.add_command(to_syx_cmd)


# -- validate / schema / show (the patch contract) --------------------------------------
_MODES = ["strict", "seed", "discrete"]


def _read_input(source: str) -> tuple[bytes, str]:
    """The bytes of FILE, or of stdin for ``-``, and a display name."""
    import sys
    from pathlib import Path

    from fmbench.errors import FmbenchError

    if source == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    path = Path(source)
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise FmbenchError(f"cannot read {source}: {exc.strerror or exc}") from None


@patch_group.command("validate")
@click.argument("source", metavar="FILE|-")
@click.option(
    "--mode",
    type=click.Choice(_MODES),
    default="strict",
    show_default=True,
    help="strict: fmbench's contract; seed: the reference validate_specs; "
    "discrete: GRPO reward validity.",
)
@click.option("--jsonl", is_flag=True, help="Validate every non-empty line separately.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def validate_cmd(source: str, mode: str, jsonl: bool, as_json: bool) -> None:
    """Validate the last patch in FILE (raw model output or JSON; '-' reads stdin).

    Prints every problem with its location, value and allowed range. Exit status: 0 if
    valid, 1 if invalid or if no patch could be parsed.
    """
    from fmbench.cli.common import echo_json

    data, name = _read_input(source)
    if jsonl:
        chunks = [(f"{name}:{i}", line) for i, line in enumerate(data.splitlines(), 1)]
        chunks = [(where, line) for where, line in chunks if line.strip()]
    else:
        chunks = [(name, data)]
    reports = [_validate_one(where, text, mode) for where, text in chunks]
    if as_json:
        echo_json(reports if jsonl else reports[0])
    else:
        for report in reports:
            _print_report(report)
        if jsonl:
            ok = sum(r["valid"] for r in reports)
            click.echo(f"{ok}/{len(reports)} valid")
    if not reports or not all(r["valid"] for r in reports):
        raise SystemExit(1)


def _validate_one(where: str, text: bytes, mode: str) -> dict:
    from fmbench.patch.errors import PatchParseError
    from fmbench.patch.model import Patch
    from fmbench.patch.parse import find_last_patch
    from fmbench.patch.validate import validate

    report: dict = {"source": where, "mode": mode, "parsed": False, "valid": False}
    try:
        found = find_last_patch(text)
    except PatchParseError as exc:
        report.update(error=str(exc), found_by=None, problems=[], algorithm=None)
        return report
    problems = validate(found.data, mode=mode)
    report.update(parsed=True, valid=not problems, found_by=found.source, error=None)
    report["offset"] = found.start
    report["problems"] = [p.to_dict() for p in problems]
    algorithm = None
    if not validate(found.data):
        algorithm = Patch.from_dict(found.data).algorithm
    report["algorithm"] = algorithm
    return report


def _print_report(report: dict) -> None:
    where = report["source"]
    if not report["parsed"]:
        click.secho(f"{where}: UNPARSABLE: {report['error']}", fg="red")
        return
    found = f"found by {report['found_by']} at character {report['offset']}"
    if report["valid"]:
        alg = report["algorithm"]
        topo = f"DX7 algorithm {alg}" if alg else "custom topology"
        click.secho(f"{where}: valid ({report['mode']}; {topo}; {found})", fg="green")
        return
    n = len(report["problems"])
    click.secho(f"{where}: INVALID ({report['mode']}): {n} problem(s); {found}", fg="red")
    for p in report["problems"]:
        value = "" if p["value"] is None else f" [value: {p['value']}]"
        allowed = "" if p["allowed"] is None else f" (allowed: {p['allowed']})"
        click.echo(f"  {p['path'] or '<patch>'}: {p['message']}{value}{allowed}")


@patch_group.command("schema")
@click.option("--metadata", is_flag=True, help="Also allow the optional name/has_fixed_freqs.")
def schema_cmd(metadata: bool) -> None:
    """Print the JSON Schema (draft 2020-12) of a canonical patch."""
    from fmbench.cli.common import echo_json
    from fmbench.patch.schema import patch_json_schema

    echo_json(patch_json_schema(metadata=metadata))


@patch_group.command("show")
@click.argument("source", metavar="FILE|-")
@repair_option("Repair an invalid patch first (explicit opt-in; changes are listed).")
def show_cmd(source: str, repair: str | None) -> None:
    """Print the last patch in FILE in canonical pretty form plus a per-operator table."""
    from fmbench.patch.errors import InvalidPatchError, PatchParseError
    from fmbench.patch.model import Patch
    from fmbench.patch.parse import parse_reply
    from fmbench.patch.repair import repair as repair_patch

    data, name = _read_input(source)
    try:
        obj = parse_reply(data)
    except PatchParseError as exc:
        click.secho(f"{name}: UNPARSABLE: {exc}", fg="red", err=True)
        raise SystemExit(1) from None
    if repair:
        patch, notes = repair_patch(obj, repair)
        for note in notes:
            click.echo(f"# repaired: {note}", err=True)
    else:
        try:
            patch = Patch.from_dict(obj)
        except InvalidPatchError as exc:
            click.secho(f"{name}: INVALID: {len(exc.problems)} problem(s)", fg="red", err=True)
            for p in exc.problems:
                click.echo(f"  {p}", err=True)
            click.echo("(use --repair clamp to repair it explicitly)", err=True)
            raise SystemExit(1) from None
    click.echo(patch.to_pretty_json())
    click.echo()
    alg = patch.algorithm
    click.echo(
        f"algorithm: {alg if alg else 'custom topology'}  feedback: {patch.feedback}  "
        f"transpose: {patch.transpose}"
    )
    head = "op  carrier  mods     mode   coarse fine detune  ol  rates        levels       kvs"
    click.echo(head)
    for op in patch.operators():
        mods = ",".join(str(m) for m in op.modulators) or "-"
        mode = "fixed" if op.fixed_freq else "ratio"
        rates = " ".join(f"{r:2d}" for r in op.eg_rate)
        levels = " ".join(f"{v:2d}" for v in op.eg_level)
        click.echo(
            f"OP{op.number}  {'yes' if op.is_carrier else 'no':<7}  {mods:<7}  {mode:<5}  "
            f"{op.coarse:>6} {op.fine:>4} {op.detune:>6}  {op.ol:>2}  {rates}  {levels}  "
            f"{op.sensitivity}"
        )
