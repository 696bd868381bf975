"""The wheel ships templates/, firmware/ and boards/, and an installed tinyq finds them."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_contains_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, timeout=300)
    wheel = next(tmp_path.glob("tinyq-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("tinyq/_data/templates/model.c.j2", "tinyq/_data/firmware/include/tinyq/tq_fixedpoint.h",
                     "tinyq/_data/firmware/library.json", "tinyq/_data/boards/mps2-an386.toml", "tinyq/cli.py"):
        assert required in names, f"{required} missing from {wheel.name}"
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
