"""Fixtures of the dx7 engine tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def renderer():
    from fmbench_plugins.dx7.renderer import DX7Renderer

    return DX7Renderer()
