"""Interactive apps: each a small object with controls, a ``refresh()`` that calls the models and
redraws, and its outputs. Tests drive them by setting control values in Python."""
