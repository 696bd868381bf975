"""`tinyq bench` as a user runs it: the JSON the issue names, consistent with itself and repeatable; a real board
counted on its emulated twin with estimated milliseconds; the kernel named is the one model.c calls."""
import json
import re

import pytest

from tinyq.bench.cycles import CLASSES, M4, estimate_cycles
from tinyq.cli import main
from tinyq.program import Program
from tinyq.sim.run import as_program

pytestmark = [pytest.mark.firmware, pytest.mark.slow]


def _bench(model, tmp_path, name, board="mps2-an386"):
    out = tmp_path / f"{name}.json"
    assert main(["bench", str(model), "--board", board, "--json", str(out), "--work-dir", str(tmp_path / name)]) == 0
    return json.loads(out.read_text())


def test_bench_json(shared_models, tmp_path, capsys):
    model = shared_models / "tflm_hello_world_int8.tflite"
    first = _bench(model, tmp_path, "a")
    printed = capsys.readouterr().out
    program: Program = as_program(model)

    assert first["instructions"] > 0
    assert [layer["op"] for layer in first["layers"]] == [c.opcode for c in program.calls]
    # "kernel" is what ran on the board's CPU: the M4's prepared DSP kernel of each FULLY_CONNECTED, as model.c
    # calls it (tinyq/specialize/fully_connected_dsp.py; int16 weights: --weights-layout auto, they fit)
    assert [layer["kernel"] for layer in first["layers"]] == ["tq_fully_connected_s8_wide_dsp"] * 3
    assert [layer["lowered_kernel"] for layer in first["layers"]] == [c.kernel for c in program.calls]
    model_c = next((tmp_path / "a").rglob("model.c")).read_text()
    assert all(re.search(rf"\b{layer['kernel']}\(", model_c) for layer in first["layers"])
    assert "tq_fully_connected_s8_wide_dsp" in printed
    assert first["plan"]["widened_weight_bytes"] > 0
    assert 0 < sum(layer["instructions"] for layer in first["layers"]) < first["instructions"]

    # MACs from the lowered calls (hello world: 1x16, 16x16, 16x1), instructions/MAC, estimated cycles
    assert [layer["macs"] for layer in first["layers"]] == [16, 256, 16] and first["macs"] == 288
    for layer in first["layers"]:
        assert layer["instructions_per_mac"] == round(layer["instructions"] / layer["macs"], 3)
        assert sum(layer["classes"][c] for c in CLASSES) == layer["instructions"]
        assert layer["cycles"] == round(estimate_cycles(layer["classes"], M4)) > layer["instructions"]
    assert sum(first["classes"][c] for c in CLASSES) == first["instructions"]
    assert first["cycles"] == round(estimate_cycles(first["classes"], M4))
    assert first["core"] == "cortex-m4" and first["counted_on"] == "mps2-an386" and first["ms"] is None
    assert f"{first['cycles']:,}" in printed and "instr/MAC" in printed

    flash, ram = first["flash_bytes"], first["ram_bytes"]
    assert flash["total"] == flash["code"] + flash["weights"] and flash["weights"] >= 444
    assert ram["total"] == ram["arena"] + ram["stack"] + ram["other"]
    assert ram["arena"] == first["plan"]["arena_bytes"]
    # the measured stack of one invoke: real (a kernel call needs a frame), within the static bound of GCC's call
    # graph, and the whole run (main, stdio, invoke) within the reserve the builder sized from that bound
    assert 0 < ram["stack_used"] <= ram["stack_bound"] < ram["stack"]
    assert ram["stack_used"] < ram["stack_total"] <= ram["stack_bound"] + 2048
    assert ram["stack"] < 4096  # sized from the call graph, not the board's fixed 16 KB
    # the peak: arena + caller-owned I/O + the stack one invoke uses
    assert ram["peak"] == ram["arena"] + first["plan"]["io_bytes"] + ram["stack_used"]
    assert f"peak data RAM: {ram['peak']:,} B" in printed
    assert f"{first['instructions']:,}" in printed and "measured by stack painting" in printed

    second = _bench(model, tmp_path, "b")
    assert second["instructions"] == first["instructions"] and second["cycles"] == first["cycles"]
    assert second["layers"] == first["layers"] and second["ram_bytes"] == first["ram_bytes"]


def test_real_board_is_counted_on_its_core_with_estimated_ms(shared_models, tmp_path, capsys):
    """NUCLEO-L4R5ZI (Cortex-M4F, 120 MHz): counted on mps2-an386 with the same kernels; ms = cycles / clock."""
    r = _bench(shared_models / "tflm_hello_world_int8.tflite", tmp_path, "real", board="nucleo_l4r5zi")
    printed = capsys.readouterr().out
    assert r["board"] == "nucleo_l4r5zi" and r["counted_on"] == "mps2-an386" and r["core"] == "cortex-m4"
    assert r["clock_hz"] == 120_000_000 and r["ms"] == round(1000 * r["cycles"] / 120e6, 4) > 0
    assert {layer["kernel"] for layer in r["layers"]} == {"tq_fully_connected_s8_wide_dsp"}
    assert "counted on mps2-an386" in printed and "ms at 120 MHz" in printed and "ESTIMATE" in printed
    assert "flash wait states" in printed
