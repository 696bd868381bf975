"""`tinyq bench` as a user runs it: the JSON the issue names, consistent with itself and repeatable."""
import json

import pytest

from tinyq.cli import main
from tinyq.program import Program
from tinyq.sim.run import as_program

pytestmark = [pytest.mark.firmware, pytest.mark.slow]


def _bench(model, tmp_path, name):
    out = tmp_path / f"{name}.json"
    assert main(["bench", str(model), "--board", "mps2-an386", "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_bench_json(shared_models, tmp_path, capsys):
    model = shared_models / "tflm_hello_world_int8.tflite"
    first = _bench(model, tmp_path, "a")
    printed = capsys.readouterr().out
    program: Program = as_program(model)

    assert first["instructions"] > 0
    assert [layer["op"] for layer in first["layers"]] == [c.opcode for c in program.calls]
    # what ran on the board's CPU: the M4's DSP variant of each FULLY_CONNECTED
    assert [layer["implementation"] for layer in first["layers"]] == [f"{c.kernel}_dsp" for c in program.calls]
    assert "tq_fully_connected_s8_dsp" in printed
    assert 0 < sum(layer["instructions"] for layer in first["layers"]) < first["instructions"]
    flash, ram = first["flash_bytes"], first["ram_bytes"]
    assert flash["total"] == flash["code"] + flash["weights"] and flash["weights"] >= 444
    assert ram["total"] == ram["arena"] + ram["stack"] + ram["other"]
    assert ram["arena"] == first["plan"]["arena_bytes"]
    # the measured stack of one invoke: real (a kernel call needs a frame) and inside the reservation
    assert 0 < ram["stack_used"] < ram["stack"]
    assert f"{first['instructions']:,}" in printed and "measured by stack painting" in printed

    second = _bench(model, tmp_path, "b")
    assert second["instructions"] == first["instructions"]
    assert second["layers"] == first["layers"] and second["ram_bytes"] == first["ram_bytes"]
