"""The built-in benchmarks plugin: registers every benchmark definition it can find.

Sources, in order (the first definition of a name wins; later ones are skipped):

1. the definitions shipped inside the package, ``fmbench/data/benchmarks/*.toml``
   (``default``, ``dx7-full``, ``smoke``, ``playability``, ``synthetic``) — they work from
   a wheel, with no repository checkout;
2. every ``*.toml`` in the folders of ``FMBENCH_BENCHMARKS_PATH`` (``os.pathsep``-separated);
3. ``./benchmarks/*.toml`` in the current working directory (a project's own benchmarks).

Registration reads only each TOML (cheap); the data is read when the benchmark is created.
A definition that cannot be read is still registered under its file stem, and creating it
raises the definition error, so one broken file never hides the others.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from fmbench import hookimpl


def _load(path: str):
    from fmbench.benchmark import load_benchmark_file

    return load_benchmark_file(path)


def _broken(path: str, message: str):
    from fmbench.benchmark import BenchmarkDefinitionError

    raise BenchmarkDefinitionError(message)


def candidate_files() -> list[Path]:
    """Every benchmark TOML this plugin considers, in priority order."""
    from fmbench.benchmark import builtin_benchmark_files

    files = list(builtin_benchmark_files())
    for folder in os.environ.get("FMBENCH_BENCHMARKS_PATH", "").split(os.pathsep):
        if folder.strip():
            files += sorted(Path(folder).expanduser().glob("*.toml"))
    local = Path.cwd() / "benchmarks"
    if local.is_dir():
        files += sorted(local.glob("*.toml"))
    out, seen = [], set()
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


@hookimpl
def fmbench_register_benchmarks(register):
    """Register every built-in, ``$FMBENCH_BENCHMARKS_PATH`` and ``./benchmarks`` TOML."""
    from fmbench.benchmark import BenchmarkDefinitionError, read_definition

    taken: set[str] = set()
    for path in candidate_files():
        try:
            doc = read_definition(path)
            name, version = doc["name"], doc["version"]
            summary = doc.get("description") or f"benchmark defined in {path.name}"
            factory = functools.partial(_load, str(path))
        except BenchmarkDefinitionError as exc:
            name, version = path.stem, "0"
            summary = f"BROKEN definition {path}: {exc}"
            factory = functools.partial(_broken, str(path), str(exc))
        if name in taken:
            continue
        try:
            register(name, factory, summary=summary, version=version)
        except ValueError:  # the name is taken by another plugin or an invalid name
            continue
        taken.add(name)
