"""fmbench's built-in plugins, one subpackage each.

Each subpackage is declared in the ``fmbench`` entry-point group of ``pyproject.toml``
exactly as a third-party plugin declares itself; the only difference is that built-ins
load whatever ``FMBENCH_LOAD_PLUGINS`` says (that filter is for third-party plugins).
"""
