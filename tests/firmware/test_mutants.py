"""Deliberately broken kernels fail verification: each mutant below changes one thing in a copy of tinyq (a
rounding term, a loop bound, a tail), and `tinyq verify` on a real model must then report the firmware stage
unequal (exit 1). A mutant that verifies EQUAL means the tests cannot see that kind of bug."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.samples import model_path

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BOARD = "mps2-an386"

# (id, file, text, replacement, model stem): the text must occur exactly once
MUTANTS = [
    ("requant-ties", "firmware/include/tinyq/tq_requant_fast.h", "(h + round + (h >> 31))", "(h + round)",
     "mlperf_kws_dscnn_int8"),
]


def _mutated_tree(tmp: Path, file: str, text: str, replacement: str) -> Path:
    root = tmp / "tinyq-mutant"
    for part in ("tinyq", "firmware", "templates", "boards"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__", ".pio"))
    target = root / file
    source = target.read_text()
    assert source.count(text) == 1, f"{file}: the mutated text must occur once, found {source.count(text)}"
    target.write_text(source.replace(text, replacement))
    return root


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_mutant_is_caught(mutant, tmp_path):
    _, file, text, replacement, stem = mutant
    root = _mutated_tree(tmp_path, file, text, replacement)
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-m", "tinyq.cli", "verify", str(model_path(stem)), "--board", BOARD,
                           "-n", "8"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert "tinyq-mutant" in subprocess.run([sys.executable, "-c", "import tinyq; print(tinyq.__file__)"], env=env,
                                            capture_output=True, text=True, cwd=tmp_path).stdout
    assert done.returncode == 1, done.stdout + done.stderr
    firmware = [ln for ln in done.stdout.splitlines() if ln.strip().startswith("firmware")]
    assert firmware and "EQUAL" not in firmware[0].split("simulator")[-1], done.stdout
