"""Locate the data directories shipped with tinyq (templates/, firmware/, boards/).

In a source checkout they sit at the repository root; in an installed wheel they are packaged
under tinyq/_data/ (see pyproject.toml, [tool.hatch.build.targets.wheel.force-include]).
"""
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the directory `name` ("templates", "firmware" or "boards")."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"tinyq data directory '{name}' not found (broken installation?)")
