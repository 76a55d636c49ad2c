"""The ``fmbench`` command line. Thin: parse options, call the library, print.

Each core command group lives in its own module and is attached here; plugins add
theirs through the ``fmbench_register_commands`` hook (the core imports no plugin).
Heavy imports happen inside the commands so ``fmbench --help`` stays fast.
"""

from __future__ import annotations

import click

from fmbench import __version__
from fmbench.cli import data as _data
from fmbench.cli import demo as _demo
from fmbench.cli import docs as _docs
from fmbench.cli import models as _models
from fmbench.cli import patch as _patch
from fmbench.cli import plugins as _plugins
from fmbench.cli import render as _render
from fmbench.cli import report as _report
from fmbench.cli import results as _results
from fmbench.cli import run as _run
from fmbench.cli import show as _show
from fmbench.cli.common import FmbenchGroup


@click.group(cls=FmbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="fmbench")
def main() -> None:
    """fmbench: evaluate text-to-DX7-patch models, from a caption to a leaderboard row.

    Generators, renderers, metrics, embedders and benchmarks are plugins; `fmbench
    plugins` shows what is installed and `fmbench list` what it provides.
    """


main.add_command(_plugins.plugins_cmd)
main.add_command(_plugins.list_cmd)
main.add_command(_patch.patch_group)
main.add_command(_run.run_cmd)
for _cmd in _results.COMMANDS:
    main.add_command(_cmd)
main.add_command(_demo.demo_cmd)
main.add_command(_docs.docs_cmd)
main.add_command(_data.data_group)
main.add_command(_render.render_cmd)
main.add_command(_report.report_cmd)
main.add_command(_models.models_group)
main.add_command(_show.show_cmd)
