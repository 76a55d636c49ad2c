"""Documentation references: no citations of documents users don't have, and every
``docs/<file>.md[#anchor]`` that code, plugins and the READMEs point to exists."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: docs files that another branch is still writing; a reference to one is only checked once
#: the file exists (remove an entry when its file has landed)

#: a section sign and a number, or "spec" and a section sign: citations of the unpublished spec
_SECTION = re.compile("\u00a7\\s*\\d|spec \u00a7")
#: a reference to a docs page from anywhere in the repository: docs/NAME.md[#anchor]
_DOCS_REF = re.compile(r"(?<![\w/.-])docs/([A-Za-z0-9_.-]+\.md)(?:#([\w-]+))?")
#: a relative markdown link inside a markdown file: ](target.md#anchor) or ](#anchor)
_MD_LINK = re.compile(r"\]\(([^)\s]*?)(?:#([\w-]+))?\)")
_SKIP_DIRS = {".git", ".venv", "venv", "build", "dist", "runs", "node_modules", "__pycache__"}


def _tracked(suffixes: tuple[str, ...]) -> list[Path]:
    """Repository files with one of ``suffixes``: git's list, else a walk of the tree."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode("utf-8", "replace")
        files = [ROOT / p for p in out.split("\0") if p]
    except (OSError, subprocess.SubprocessError):
        files = [
            p
            for p in ROOT.rglob("*")
            if p.is_file() and not _SKIP_DIRS.intersection(p.relative_to(ROOT).parts)
        ]
    return sorted(p for p in files if p.suffix in suffixes and p.is_file())


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: markup dropped, lower case, punctuation removed
    (letters, digits, ``_`` and ``-`` kept), spaces to ``-``."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [text](link) → text
    text = text.strip().lower()
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "-_" or ch == " " or cat[0] in "LN":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def anchors(md: Path) -> set[str]:
    """Every heading anchor of a markdown file (duplicates numbered like GitHub's)."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    fenced = False
    for line in md.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        m = None if fenced else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            slug = github_slug(m.group(1))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            result.add(slug if n == 0 else f"{slug}-{n}")
    return result


def test_github_slug():
    assert github_slug("The `dx7` renderer") == "the-dx7-renderer"
    assert github_slug("Control rate to audio rate") == "control-rate-to-audio-rate"
    assert github_slug("clap_text_synth_prefix") == "clap_text_synth_prefix"
    assert github_slug("Construction (`fmbench.datagen.make_default`)") == (
        "construction-fmbenchdatagenmake_default"
    )
    assert github_slug("Where things live (one source of truth)") == (
        "where-things-live-one-source-of-truth"
    )


def test_no_citations_of_the_unpublished_spec():
    """Code, docs and configuration point to ``docs/``, never to spec sections."""
    offenders = []
    for path in _tracked((".py", ".md", ".toml")):
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _SECTION.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{no}: {line.strip()}")
    assert not offenders, "cite docs/ instead of spec sections:\n" + "\n".join(offenders)


def _references() -> list[tuple[str, str, str | None]]:
    """(where, docs file name, anchor or None) for every docs reference in the repository."""
    refs = []
    for path in _tracked((".py", ".md", ".toml", ".txt", ".yml", ".yaml")):
        rel = path.relative_to(ROOT)
        if rel == Path(__file__).resolve().relative_to(ROOT):
            continue
        text = path.read_text(encoding="utf-8")
        for no, line in enumerate(text.splitlines(), 1):
            for m in _DOCS_REF.finditer(line):
                refs.append((f"{rel}:{no}", m.group(1), m.group(2)))
            if path.suffix == ".md":
                for m in _MD_LINK.finditer(line):
                    target, anchor = m.group(1), m.group(2)
                    if re.match(r"[a-z]+:", target) or not (target.endswith(".md") or not target):
                        continue  # URLs and links to non-markdown files
                    resolved = (path.parent / target).resolve() if target else path.resolve()
                    refs.append((f"{rel}:{no}", str(resolved), anchor))
    return refs


def test_docs_references_exist():
    """Every referenced docs page exists and has the referenced heading."""
    refs = _references()
    assert refs, "no docs references found: is the pattern broken?"
    missing = []
    for where, name, anchor in refs:
        md = Path(name) if Path(name).is_absolute() else DOCS / name
        if not md.is_file():
            missing.append(f"{where}: {md.relative_to(ROOT) if md.is_relative_to(ROOT) else md}")
            continue
        if anchor and anchor not in anchors(md):
            missing.append(f"{where}: {md.relative_to(ROOT)}#{anchor} (no such heading)")
    assert not missing, "broken docs references:\n" + "\n".join(missing)
