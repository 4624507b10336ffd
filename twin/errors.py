"""Exceptions raised by the twin for bad input.

Every message names the file, row or field and the rule that was broken, so an operator or a
scenario author can fix the input without reading code.
"""


class ScenarioError(ValueError):
    """A scenario file or folder is missing, malformed or breaks a rule."""


class ActionError(ValueError):
    """An operator action was refused; the twin's state is unchanged."""
