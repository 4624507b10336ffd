"""Every third-party import in the tree is declared in the requirements file its code runs from.

The app, the twin and its command line must install from ``requirements.txt`` alone; the tests
add ``requirements-test.txt``; the benchmarks (``bench/``) add
``requirements-bench.txt``. Each ``import`` is read with :mod:`ast`, its top-level module mapped
to the distribution that provides it (:func:`importlib.metadata.packages_distributions`), and
the test fails naming the module and the file when that distribution is not declared.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCAL = {"app", "twin", "auth", "layouts", "callbacks", "bench", "tests"}
SKIP_DIRS = {
    ".git",
    ".venv",
    ".venv-test",
    "venv",
    "node_modules",
    "__pycache__",
    "var",
    "instance",
}

# Modules whose distribution is named differently and may not be installed where the test runs
# (the benchmark peers are not in the test environment): module -> distribution.
NOT_INSTALLED_HERE = {"PIL": "pillow", "sumo": "eclipse-sumo", "uxsim": "uxsim"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(requirements: Path) -> set[str]:
    """Distribution names declared in ``requirements`` and the files it includes with ``-r``."""
    names: set[str] = set()
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            names |= declared(requirements.parent / line.split(maxsplit=1)[1])
            continue
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9_.\-]*)", line)
        if match:
            names.add(_normalise(match.group(1)))
    return names


def top_level_imports(path: Path) -> set[str]:
    """Top-level module names that ``path`` imports (absolute imports only)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def requirements_for(path: Path) -> Path:
    """The requirements file that ``path``'s code is run from."""
    relative = path.relative_to(ROOT)
    if relative.parts[0] == "tests":
        return ROOT / "requirements-test.txt"
    if relative.parts[0] == "bench":
        return ROOT / "requirements-bench.txt"
    return ROOT / "requirements.txt"


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if not SKIP_DIRS & set(p.relative_to(root).parts))


def undeclared_imports(root: Path) -> list[str]:
    """``module (distribution) in file: not in requirements`` for every undeclared import."""
    owners = packages_distributions()
    problems = []
    cache: dict[Path, set[str]] = {}
    for path in python_files(root):
        req = requirements_for(path)
        allowed = cache.setdefault(req, declared(req) | (declared(ROOT / "requirements.txt")))
        for module in sorted(top_level_imports(path)):
            if module in sys.stdlib_module_names or module in LOCAL or module == "__future__":
                continue
            dists = owners.get(module) or [NOT_INSTALLED_HERE.get(module, module)]
            if not {_normalise(d) for d in dists} & allowed:
                problems.append(
                    f"{module} (distribution {dists[0]}) imported in "
                    f"{path.relative_to(root)}: not declared in {req.name}"
                )
    return problems


def test_every_third_party_import_is_declared():
    problems = undeclared_imports(ROOT)
    assert not problems, "undeclared imports:\n" + "\n".join(problems)


def test_an_undeclared_import_is_named_with_its_file(tmp_path, monkeypatch):
    """The check itself fails on a tree that imports something nobody declared."""
    (tmp_path / "twin").mkdir()
    (tmp_path / "twin" / "model.py").write_text(
        "import numpy\nimport yaml\nfrom PIL import Image\n"
    )
    (tmp_path / "requirements.txt").write_text("numpy>=2\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    problems = undeclared_imports(tmp_path)
    assert len(problems) == 2
    assert any(p.startswith("yaml ") and "twin/model.py" in p for p in problems)
    assert any(p.startswith("PIL (distribution pillow") for p in problems)


@pytest.mark.parametrize(
    "line, name",
    [
        ("numba>=0.60", "numba"),
        ("Flask_Caching>=2.3", "flask-caching"),
        ("eclipse-sumo>=1.20  # peers", "eclipse-sumo"),
    ],
)
def test_requirement_lines_parse(tmp_path, line, name):
    (tmp_path / "r.txt").write_text(line + "\n")
    assert declared(tmp_path / "r.txt") == {name}
