"""Exceptions raised by the twin for bad input.

Every message names the file, row or field and the rule that was broken, so an operator or a
scenario author can fix the input without reading code. ``code`` is a short stable word
(``refused``, ``out_of_range``, ``unknown_recording`` ...) that programs branch on; the
message is for people.
"""


class TwinError(ValueError):
    """Bad input to the twin; nothing was changed."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class ScenarioError(TwinError):
    """A scenario file or folder is missing, malformed or breaks a rule."""

    code = "bad_scenario"


class ActionError(TwinError):
    """An operator action was refused; the twin's state is unchanged."""

    code = "refused"
