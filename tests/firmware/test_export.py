"""`tinyq export`: the exported directory builds on its own, anywhere, with Make and with CMake; a program
linked with its library computes the simulator's outputs exactly. For an Arm board the library builds with the
board's CPU flags and holds the kernel variants the model calls. Bad directories get one error line."""
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.samples import model_path
from tinyq.sim.run import as_program, run_program
from tinyq.verify import random_batches

STEM = "mlperf_kws_dscnn_int8"

MAIN = r"""
#include <stdio.h>
#include "model.h"

static const int8_t input[MODEL_INPUT0_ELEMENTS] = {%s};
static int8_t output[MODEL_OUTPUT0_ELEMENTS];

int main(void) {
    if (model_invoke(input, output) != TQ_OK) return 3;
    for (unsigned i = 0; i < MODEL_OUTPUT0_ELEMENTS; i++) printf("%%d\n", output[i]);
    return 0;
}
"""


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tinyq.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    assert _cli("compile", model_path(STEM), "-o", d / "host").returncode == 0
    program = as_program(model_path(STEM))
    x = random_batches(program, 1, seed=4)
    want = run_program(program, x)[program.outputs[0]].ravel().tolist()
    (d / "main.c").write_text(MAIN % ", ".join(str(int(v)) for v in x[0].ravel()))
    return d, want


def _run_linked(exported, lib, main_c, tmp):
    exe = tmp / "app"
    p = subprocess.run(["cc", "-std=c99", "-Wall", "-Werror", "-I", exported / "model", "-I", exported / "tinyq" / "include",
                        main_c, lib, "-lm", "-o", exe], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    run = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return [int(v) for v in run.stdout.split()]


def test_make_export_moved_elsewhere_builds_and_equals_simulator(compiled, tmp_path):
    d, want = compiled
    p = _cli("export", d / "host", "-o", tmp_path / "e", "--format", "make")
    assert p.returncode == 0, p.stderr
    moved = shutil.move(tmp_path / "e", tmp_path / "moved")  # nothing in it names where it was written
    done = subprocess.run(["make", "-C", moved, "-j2", "-s"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert _run_linked(moved, moved / "libmodel.a", d / "main.c", tmp_path) == want


def test_cmake_export_builds_and_equals_simulator(compiled, tmp_path):
    d, want = compiled
    assert _cli("export", d / "host", "-o", tmp_path / "e", "--format", "cmake").returncode == 0
    assert (tmp_path / "e" / "CMakeLists.txt").is_file() and not (tmp_path / "e" / "Makefile").exists()
    for step in (["cmake", "-S", tmp_path / "e", "-B", tmp_path / "b"], ["cmake", "--build", tmp_path / "b", "-j2"]):
        done = subprocess.run(list(map(str, step)), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    assert _run_linked(tmp_path / "e", tmp_path / "b" / "libmodel.a", d / "main.c", tmp_path) == want


def test_files_export_is_the_sources_only(compiled, tmp_path):
    d, _ = compiled
    assert _cli("export", d / "host", "-o", tmp_path / "e").returncode == 0
    assert sorted(p.name for p in (tmp_path / "e" / "model").iterdir()) == ["model.c", "model.h", "model_data.c",
                                                                          "model_data.h"]
    assert (tmp_path / "e" / "tinyq" / "include" / "tinyq" / "tq_types.h").is_file()
    assert not (tmp_path / "e" / "Makefile").exists() and not (tmp_path / "e" / "CMakeLists.txt").exists()


@pytest.mark.slow
@pytest.mark.firmware
def test_arm_export_builds_with_the_board_flags(tmp_path):
    assert _cli("compile", model_path(STEM), "-b", "mps2-an386", "-o", tmp_path / "c").returncode == 0
    assert _cli("export", tmp_path / "c", "-o", tmp_path / "e", "--format", "make").returncode == 0
    assert "-mcpu=cortex-m4" in (tmp_path / "e" / "tinyq.mk").read_text()
    done = subprocess.run(["make", "-C", tmp_path / "e", "-j2", "-s"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    symbols = subprocess.run(["arm-none-eabi-nm", tmp_path / "e" / "libmodel.a"], capture_output=True, text=True).stdout
    called = {w for w in (tmp_path / "c" / "src" / "model.c").read_text().replace("(", " ").split() if w.endswith("_dsp")}
    assert called and all(f" T {name}\n" in symbols for name in called), called
    assert " T model_invoke\n" in symbols


def test_export_refuses_what_compile_did_not_write(compiled, tmp_path):
    d, _ = compiled
    for args, fragment in (([tmp_path / "nothing", "-o", tmp_path / "e"], "no such directory"),
                           ([tmp_path, "-o", tmp_path / "e"], "tinyq.json"),
                           ([d / "host", "-o", d / "host" / "inside"], "must not be inside"),
                           ([d / "host", "-o", tmp_path / "e", "--format", "bazel"], "--format")):
        p = _cli("export", *args)
        assert p.returncode == 2 and p.stderr.startswith("tinyq: error:") and fragment in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
