"""A run: generate → parse/validate → render → score → summarise, into one run directory.

- :mod:`fmbench.run.runner` drives the stages;
- :mod:`fmbench.run.rundir` owns every file of a run directory;
- :mod:`fmbench.run.summary` holds the summary value objects, serialised once.
"""
