"""Listening and looking at runs: the HTML report (``fmbench report``), audio export
(``fmbench run --save-audio``) and the leaderboard page (``fmbench leaderboard --format
html``). See ``docs/report.md``."""

from __future__ import annotations

from fmbench.report.sources import ReportError, RunAudio, export_audio, safe_name

__all__ = ["ReportError", "RunAudio", "build_report", "export_audio", "safe_name"]


def build_report(*args, **kwargs):  # noqa: ANN002, ANN003 - re-exported lazily
    """See :func:`fmbench.report.site.build_report`."""
    from fmbench.report.site import build_report as build

    return build(*args, **kwargs)
