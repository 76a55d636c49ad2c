"""What a plugin registers: component metadata that the whole system reads.

A component is anything that varies between runs: a generator, a renderer, a metric,
an embedder or a benchmark. Plugins register a *factory* plus metadata; nothing is
constructed until a run asks for it, so listing plugins never loads a model.

The metadata here is the single source of truth for the CLI (`fmbench list`), the
leaderboard (arrows, best-per-column) and the regression check (direction).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ComponentKind(StrEnum):
    """The five kinds of component a plugin can register."""

    GENERATOR = "generator"
    RENDERER = "renderer"
    METRIC = "metric"
    EMBEDDER = "embedder"
    BENCHMARK = "benchmark"

    @property
    def plural(self) -> str:
        return self.value + "s"


class Direction(StrEnum):
    """Whether a larger metric value is better or worse."""

    HIGHER = "higher"
    LOWER = "lower"

    @property
    def arrow(self) -> str:
        """The column-head marker: ↑ when higher is better, ↓ when lower is."""
        return "↑" if self is Direction.HIGHER else "↓"


class MetricKind(StrEnum):
    """How a metric consumes samples."""

    PATCH = "patch"  # compares generated and reference patches (or parse outcomes)
    PAIRED_AUDIO = "paired_audio"  # generated audio vs the same item's reference audio
    TEXT_AUDIO = "text_audio"  # generated audio vs the caption
    AUDIO = "audio"  # generated audio alone (e.g. aesthetics)
    SET = "set"  # a distribution of generated audio vs the reference set


class Need(StrEnum):
    """Inputs a metric reads from a sample; the runner prepares exactly these."""

    RAW_OUTPUT = "raw_output"
    PATCH = "patch"
    REFERENCE_PATCH = "reference_patch"
    AUDIO = "audio"
    REFERENCE_AUDIO = "reference_audio"
    CAPTION = "caption"


def lazy_factory(reference: str) -> Callable[..., Any]:
    """A factory for ``"package.module:attr"``: imports the module only when a run builds
    the component, so registering never imports heavy code."""
    module_name, sep, attr = reference.partition(":")
    if not sep or not module_name or not attr.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"a lazy factory is 'package.module:attr', not {reference!r}")

    def build(**options: Any) -> Any:
        import importlib

        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
        return target(**options)

    build.__name__ = build.__qualname__ = f"lazy({reference})"
    return build


#: ``ModelFile.format`` values the model store can check without loading the file
MODEL_FORMATS = ("torch",)


@dataclass(frozen=True)
class ModelFile:
    """A weight file (or folder) a component needs, resolved inside the model store.

    ``url`` is a plain ``https://`` URL the file can be downloaded from (for a folder:
    the base URL its ``members`` are fetched from, ``url + member``). ``format="torch"``
    declares a PyTorch checkpoint: a file in the store that is not one (a text file, a
    truncated download) is reported as corrupt before any run starts. ``members`` makes
    the entry a folder that must hold those files.
    """

    name: str  # file name inside the model folder, e.g. "music_audioset_epoch_15_esc_90.14.pt"
    sha256: str | None = None
    size: int | None = None
    url: str | None = None  # where a user can obtain it: a valid URL, never prose
    description: str = ""
    format: str | None = None  # "torch": a torch.save checkpoint
    members: tuple[str, ...] = ()  # a folder entry: the files it must hold

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in MODEL_FORMATS:
            raise ValueError(
                f"model file {self.name!r}: unknown format {self.format!r}"
                f" (known: {', '.join(MODEL_FORMATS)})"
            )


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable download URL (None when it is): it must be ``https``,
    ``http`` or ``file`` with a host (except ``file``), and contain no spaces or control
    characters."""
    from urllib.parse import urlparse

    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "contains spaces or control characters (a URL, not a description, is needed)"
    parts = urlparse(url)
    if parts.scheme not in ("https", "http", "file"):
        return f"has the unsupported scheme {parts.scheme!r} (use https)"
    if parts.scheme != "file" and not parts.netloc:
        return "has no host"
    return None


@dataclass(frozen=True)
class MetricOutput:
    """One named value a metric produces (a metric may produce several columns).

    ``worst`` is the value an item receives under the default ``score-as-failure`` policy
    when it failed upstream (unparsable, invalid, unrenderable or non-finite output) or
    when the metric could not score it (NaN): the worst value the output can take, so
    every item counts. It is required for every per-sample output (the outputs of all
    metrics except ``set`` ones); see docs/plugins.md.
    """

    name: str
    direction: Direction
    description: str = ""
    worst: float | None = None


@dataclass(frozen=True)
class ComponentInfo:
    """A registered component: a lazy factory plus the metadata every consumer reads.

    ``factory(**options)`` builds the component. ``requires`` lists importable module
    names (checked with ``importlib.util.find_spec``, which does not import them) and
    ``extras`` the pip extras that provide them, so a missing dependency disables one
    component with a message naming the extra instead of breaking the CLI.
    """

    kind: ComponentKind
    name: str
    factory: Callable[..., Any]
    summary: str
    version: str = "0"
    aliases: tuple[str, ...] = ()
    plugin: str = ""
    extras: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    #: how to install what ``requires`` names, when neither an extra nor the module's
    #: own name says it (e.g. ``pip install dexed-py`` for the module ``dexed``)
    install_hint: str | None = None
    #: modules that no extra provides, with the pip arguments that install each
    #: (``{"timbral_models": "--no-deps timbral-models==0.4.0"}``); the others in
    #: ``requires`` come from ``extras``
    providers: tuple[tuple[str, str], ...] = ()
    model_files: tuple[ModelFile, ...] = ()
    #: the option filled by a ``NAME:ARG`` spec on the command line, e.g. "embedder" for
    #: ``kad:mfcc`` or "path" for ``outputs:preds.csv``
    arg_option: str | None = None
    #: the file that defines the component when it does not come from code (e.g. a
    #: named generator of ``fmbench.toml``); empty for plugin-registered components
    defined_in: str = ""
    # metrics only
    direction: Direction | None = None
    metric_kind: MetricKind | None = None
    needs: frozenset[Need] = field(default_factory=frozenset)
    outputs: tuple[MetricOutput, ...] = ()
    #: the worst value of the single default output (metrics that declare no ``outputs``)
    worst: float | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"invalid component name {self.name!r}: use letters, digits, - and _")
        if self.kind is ComponentKind.METRIC:
            if self.direction is None or self.metric_kind is None:
                raise ValueError(f"metric {self.name!r} must declare direction and metric_kind")
            if not self.outputs:
                default = MetricOutput(self.name, self.direction, self.summary, self.worst)
                object.__setattr__(self, "outputs", (default,))
            if self.per_sample:
                lacking = [o.name for o in self.outputs if o.worst is None]
                if lacking:
                    raise ValueError(
                        f"metric {self.name!r} must declare the worst value of its per-sample "
                        f"output(s) {', '.join(lacking)} (register(..., worst=...) or a 4th "
                        "element of each output): failed items are scored with it. "
                        "See docs/plugins.md"
                    )

    @property
    def per_sample(self) -> bool:
        """Whether this metric scores each item (every kind except ``set``)."""
        return self.kind is ComponentKind.METRIC and self.metric_kind != MetricKind.SET

    @property
    def missing_modules(self) -> tuple[str, ...]:
        """Modules in ``requires`` that are not importable here (without importing them)."""
        missing = []
        for module in self.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                missing.append(module)
        return tuple(missing)

    @property
    def available(self) -> bool:
        return not self.missing_modules

    def install_commands(self, missing: tuple[str, ...] | None = None) -> list[str]:
        """The pip commands that install the ``missing`` modules (default: those missing
        here), each to be run as printed: one per distinct ``providers`` entry, then the
        extras (or ``install_hint``, or the module names) for the rest."""
        missing = self.missing_modules if missing is None else missing
        provided = dict(self.providers)
        commands: list[str] = []
        for module in missing:
            if module in provided:
                command = f"pip install {provided[module]}"
                if command not in commands:
                    commands.append(command)
        rest = [m for m in missing if m not in provided]
        if rest:
            if self.install_hint:
                commands.append(self.install_hint)
            elif self.extras:
                commands.append(f"pip install 'fmbench[{','.join(self.extras)}]'")
            else:
                commands.append(f"pip install {' '.join(rest)}")
        return commands

    def unavailable_reason(self) -> str | None:
        """A one-line explanation with the commands that install what is missing, or None
        if available. Following it literally makes the component available."""
        missing = self.missing_modules
        if not missing:
            return None
        hint = " && ".join(self.install_commands(missing))
        return f"{self.kind} {self.name!r} needs {', '.join(missing)}: {hint}"

    def output_direction(self, output: str) -> Direction:
        """The direction of one of this metric's output columns."""
        for out in self.outputs:
            if out.name == output:
                return out.direction
        raise KeyError(f"metric {self.name!r} has no output {output!r}")

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description (used by ``fmbench list --json``)."""
        data: dict[str, Any] = {
            "kind": str(self.kind),
            "name": self.name,
            "aliases": list(self.aliases),
            "version": self.version,
            "summary": self.summary,
            "plugin": self.plugin,
            "extras": list(self.extras),
            "requires": list(self.requires),
            "available": self.available,
            "unavailable_reason": self.unavailable_reason(),
            "model_files": [f.name for f in self.model_files],
            "arg_option": self.arg_option,
            "defined_in": self.defined_in,
        }
        if self.kind is ComponentKind.METRIC:
            data.update(
                direction=str(self.direction),
                metric_kind=str(self.metric_kind),
                needs=sorted(str(n) for n in self.needs),
                outputs=[
                    {
                        "name": o.name,
                        "direction": str(o.direction),
                        "description": o.description,
                        "worst": o.worst,
                    }
                    for o in self.outputs
                ],
            )
        return data
