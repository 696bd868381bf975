"""The host target: cc builds the harness + model + kernel library; the runner streams samples through files."""
import time

import numpy as np
import pytest

from tinyq.cli import main
from tinyq.errors import InputError, RunError
from tinyq.targets.build import build_project
from tinyq.targets.qemu import FirmwareTimeout
from tinyq.targets.run import run_project

from . import dummy


@pytest.fixture(scope="module")
def host_project(tmp_path_factory):
    d = dummy.make_project(tmp_path_factory.mktemp("host"), "host")
    build_project(d)
    return d


def test_build_reports_sizes_from_the_elf(host_project):
    r = build_project(host_project)
    assert r.artifact == host_project / "build" / "runner" and r.artifact.is_file()
    assert r.sizes.weight_bytes == 20  # int8[4] + int16[3], each aligned 16 in .tq_weights
    assert r.sizes.arena_bytes == 32 and r.sizes.code_bytes > 0 and r.sizes.stack_bytes == 0
    assert r.log == ""  # up to date: not rebuilt


def test_batch_runs_bit_exact(host_project):
    x = dummy.sample_inputs(9, seed=1)
    r = run_project(host_project, x)
    assert r.samples == 9 and list(r.outputs) == ["out0", "out1"]
    for name, want in dummy.expected_outputs(x).items():
        np.testing.assert_array_equal(r.outputs[name], want)
        assert r.outputs[name].dtype == want.dtype


def test_inputs_by_position_and_float_quantization(host_project):
    # in0: scale 0.5, zero point -1; x/scale lands on ties, which round half away from zero
    f0 = np.array([[0.25, -0.25, 0.75, -1.25]], np.float32)  # /0.5 -> 0.5 -0.5 1.5 -2.5 -> 1 -1 2 -3
    in1 = np.array([[1, -2, 3]], np.int16)
    r = run_project(host_project, [f0, in1])
    want = dummy.expected_outputs({"in0": np.array([[0, -2, 1, -4]]), "in1": in1})
    np.testing.assert_array_equal(r.outputs["out0"], want["out0"])
    np.testing.assert_array_equal(r.outputs["out1"], want["out1"])


def test_bad_inputs_are_refused(host_project):
    with pytest.raises(InputError, match="in1"):
        run_project(host_project, {"in0": np.zeros((1, 4), np.int8)})
    with pytest.raises(InputError, match="range"):
        run_project(host_project, {"in0": np.full((1, 4), 300), "in1": np.zeros((1, 3), np.int16)})


def test_model_error_status_is_reported(host_project):
    with pytest.raises(RunError, match="error status.*returned status 7"):
        run_project(host_project, dummy.hook_inputs(dummy.BAD_STATUS))


def test_crash_is_reported(host_project):
    with pytest.raises(RunError, match="SIGILL"):
        run_project(host_project, dummy.hook_inputs(dummy.FAULT))


def test_hung_runner_is_killed(host_project):
    start = time.monotonic()
    with pytest.raises(FirmwareTimeout, match="did not finish within 1 s"):
        run_project(host_project, dummy.hook_inputs(dummy.HANG), timeout=1.0)
    assert time.monotonic() - start < 10


def test_cli_build_and_run(host_project, tmp_path, capsys):
    x = dummy.sample_inputs(3, seed=2)
    np.savez(tmp_path / "in.npz", **x)
    assert main(["build", str(host_project)]) == 0
    assert "weights" in capsys.readouterr().out
    assert main(["run", str(host_project), "--input", str(tmp_path / "in.npz"), "--output",
                 str(tmp_path / "out.npz")]) == 0
    got = np.load(tmp_path / "out.npz")
    for name, want in dummy.expected_outputs(x).items():
        np.testing.assert_array_equal(got[name], want)
    assert main(["run", str(host_project), "-i", str(tmp_path / "in.npz"), "-o", str(tmp_path / "o.npy")]) == 2
    assert "write an .npz" in capsys.readouterr().err


def test_compile_error_is_shown_in_full(tmp_path, capsys):
    d = dummy.make_project(tmp_path, "host")
    (d / "src" / "broken.c").write_text("int broken(void) { return undeclared_name; }\n")
    assert main(["build", str(d)]) == 2
    err = capsys.readouterr().err
    assert "undeclared_name" in err and err.strip().splitlines()[-1].startswith("tinyq: error: build for host failed")
