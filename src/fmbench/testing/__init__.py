"""Helpers for tests of fmbench and of its plugins (hypothesis strategies, fixtures).

Nothing here is imported by ``import fmbench``; ``hypothesis`` is only needed when
:mod:`fmbench.testing.strategies` is imported.
"""
