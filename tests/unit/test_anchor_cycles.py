"""benchmarks/anchors.json's cycle anchor (benchmarks/cmsis_nn_cycles.py) against what docs/PERFORMANCE.md says of it."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANCHORS = json.loads((ROOT / "benchmarks" / "anchors.json").read_text())
BOARDS = ("mps2-an386", "mps2-an500", "mps2-an505", "mps3-an547")


def test_every_model_has_kernel_cycles_on_every_core():
    for model in ANCHORS["instructions"]:
        for board in BOARDS:
            entry = ANCHORS["cycles"][model][board]
            assert entry["cycles"] > 0 and entry["instructions"] > 0, (model, board)
            assert sum(op["instructions"] for op in entry["per_op"].values()) <= entry["instructions"]


def test_kernels_are_within_two_percent_of_tflm_invoke():
    # the glue calls only the kernels: a little fewer instructions than TFLM's Invoke (its interpreter), never more
    for model, per_board in ANCHORS["instructions"].items():
        for board, figures in per_board.items():
            kernels = ANCHORS["cycles"][model][board]["instructions"]
            assert 0.98 * figures["cmsis_nn"] <= kernels <= figures["cmsis_nn"], (model, board)


def test_the_file_is_kept_in_the_scripts_layout():
    spec = importlib.util.spec_from_file_location("cmsis_nn_cycles", ROOT / "benchmarks" / "cmsis_nn_cycles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.dump(ANCHORS) == (ROOT / "benchmarks" / "anchors.json").read_text()
