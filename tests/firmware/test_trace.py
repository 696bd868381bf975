"""run_traced: the -DTQ_TRACE firmware on QEMU dumps each kernel call's output through semihosting."""
import numpy as np
import pytest

from tinyq.errors import RunError
from tinyq.targets.trace import run_traced

from . import dummy

pytestmark = [pytest.mark.firmware, pytest.mark.slow]


def _records(path):
    data, pos, out = path.read_bytes(), 0, []
    while pos < len(data):
        call, n = np.frombuffer(data[pos:pos + 8], "<i4")
        out.append((int(call), data[pos + 8:pos + 8 + int(n)]))
        pos += 8 + int(n)
    return out


def test_trace_records_every_call_of_every_sample(tmp_path):
    d = dummy.make_project(tmp_path, "mps2-an500")
    x = dummy.sample_inputs(2, seed=11)
    batches = [x["in0"].reshape(2, 1, 4), x["in1"].reshape(2, 1, 3)]  # internal (N, *shape) layout
    path = run_traced(d, batches)
    assert path == d / "build" / "trace" / "tq_trace.bin"
    want = dummy.expected_outputs(x)
    expected = []
    for k in range(2):
        expected += [(0, want["out0"][k].astype("<i1").tobytes()), (1, want["out1"][k].astype("<i2").tobytes())]
    assert _records(path) == expected
    assert not (d / ".pio" / "build" / "firmware").exists()  # the trace build has its own env


def test_trace_needs_an_emulated_board(tmp_path):
    with pytest.raises(RunError, match="emulated board"):
        run_traced(dummy.make_project(tmp_path, "host"), [np.zeros((1, 1, 4), np.int8), np.zeros((1, 1, 3), np.int16)])
