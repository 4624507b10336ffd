"""The out folder: checks, staging next to it and the all-or-nothing move into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from twin.errors import ScenarioError
from twin.io.osm.constants import IMPORTER_FILES, SCENARIO_FILES

# --------------------------------------------------------------------------------------------
# the out folder and atomic writes


def check_out_dir(out_dir: Path) -> None:
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ScenarioError(f"out_dir {str(out_dir)!r} exists and is not a folder")
    entries = {entry.name for entry in out_dir.iterdir() if not entry.name.startswith(".")}
    if entries and not entries & SCENARIO_FILES:
        raise ScenarioError(
            f"out_dir {str(out_dir)!r} exists and is not a scenario folder: it should be empty or "
            f"hold scenario files such as network.gpkg or scenario.toml; "
            f"found {sorted(entries)[:5]}"
        )


@contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """A temporary folder next to ``out_dir``; its files replace ``out_dir``'s on success."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.import-", dir=out_dir.parent))
    try:
        yield stage
        shutil.rmtree(stage / "_work", ignore_errors=True)
        _commit(stage, out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _commit(stage: Path, out_dir: Path) -> None:
    """Move the staged files into ``out_dir``; restore the old ones if a move fails."""
    if not out_dir.exists():
        os.rename(stage, out_dir)
        return
    backup = stage / "_previous"
    backup.mkdir()
    moved: list[str] = []
    try:
        for name in IMPORTER_FILES:
            if (out_dir / name).exists():
                os.replace(out_dir / name, backup / name)
            os.replace(stage / name, out_dir / name)
            moved.append(name)
    except OSError:
        for name in IMPORTER_FILES:
            if (backup / name).exists():
                os.replace(backup / name, out_dir / name)
            elif name in moved:
                (out_dir / name).unlink(missing_ok=True)
        raise
