"""The web side stays thin (issue 14.2): every Dash callback in ``callbacks/`` is at most
:data:`MAX_LINES` lines and no callback module reaches into the engine (``.state.``/``.net.``).

Callbacks are found with ``ast``: a function decorated with ``<something>.callback(...)``
(``app.callback``) or with a name bound to ``operator_callback(app)`` (the operator-only
decorator of :mod:`callbacks.operator`). Lines are counted from ``def`` to the function's last
line, docstring included, decorators excluded.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

CALLBACKS = Path(__file__).resolve().parents[2] / "callbacks"
MAX_LINES = 30
ENGINE_INTERNALS = re.compile(r"\.(state|net)\.")


def _decorator_binders(tree: ast.Module) -> set[str]:
    """Names bound to ``operator_callback(...)`` (callback decorators under another name)."""
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "operator_callback"
        ):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def _is_callback_decorator(decorator: ast.expr, binders: set[str]) -> bool:
    func = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(func, ast.Attribute):
        return func.attr == "callback"
    return isinstance(func, ast.Name) and func.id in binders


def callbacks_of(path: Path) -> list[tuple[str, int, int]]:
    """``(name, first line, length in lines)`` of every callback function in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    binders = _decorator_binders(tree)
    return [
        (node.name, node.lineno, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(_is_callback_decorator(d, binders) for d in node.decorator_list)
    ]


def _modules() -> list[Path]:
    return sorted(CALLBACKS.glob("*.py"))


def test_the_finder_sees_both_decorator_styles(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "def register(app):\n"
        "    guarded = operator_callback(app)\n"
        "    @app.callback(1)\n"
        "    def one(x):\n"
        "        return x\n"
        "    @guarded(2)\n"
        "    def two(x):\n"
        "        y = x\n"
        "        return y\n"
        "    def helper(x):\n"
        "        return x\n"
    )
    assert callbacks_of(source) == [("one", 4, 2), ("two", 7, 3)]


def test_callbacks_are_found_in_the_modules_that_register_them():
    found = {path.name for path in _modules() if callbacks_of(path)}
    assert {"alerts.py", "replay.py", "operator.py", "summary.py", "pages.py"} <= found


def _offenders() -> list[str]:
    """Long callbacks and engine reaches, per module."""
    failing = []
    for path in _modules():
        problems = [
            f"{path.name}:{line} callback {name} is {length} lines (max {MAX_LINES})"
            for name, line, length in callbacks_of(path)
            if length > MAX_LINES
        ]
        problems += [
            f"{path.name}:{number} reaches into the engine: {text.strip()}"
            for number, text in enumerate(path.read_text().splitlines(), start=1)
            if ENGINE_INTERNALS.search(text)
        ]
        failing.extend(problems)
    return failing


def test_callbacks_are_short_and_never_touch_engine_internals():
    failing = _offenders()
    assert not failing, "\n".join(failing)


def test_every_callback_of_a_built_app_is_one_the_finder_sees(tmp_path):
    """The ``ast`` finder misses no registration style: every server-side callback of an app
    with every feature on (sign-in, replay, operator panels) is among the functions it found."""
    from app import create_app
    from tests.app.conftest import small_wall_config

    app = create_app(
        small_wall_config(auth_db=str(tmp_path / "auth.sqlite"), secret_key="k" * 40, start=False)
    )
    registered = {
        (inspect.unwrap(entry["callback"]).__module__, inspect.unwrap(entry["callback"]).__name__)
        for entry in app.callback_map.values()
        if entry.get("callback") is not None
    }
    found = {
        (f"callbacks.{path.stem}", name) for path in _modules() for name, _, _ in callbacks_of(path)
    }
    assert len(registered) > 30
    assert registered <= found, f"callbacks the finder missed: {sorted(registered - found)}"
