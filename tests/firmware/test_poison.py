"""The poisoning test of the memory plan: host C built with -DTQ_POISON overwrites, before each call, every arena
byte no live buffer holds (tinyq.planner.dead_ranges: freed buffers, the bytes an in-place or elementwise call is
about to overwrite, the call's own outputs and scratch). Every shared model must still equal the simulator
exactly, under ASan/UBSan and the kernel asserts; their plans include convolutions writing over their dying
input (tinyq.raster), and IC's first ResNet block in bands with its ADD output lagging behind the block input
(tinyq.planner.lag_limits; the poison then also covers the consumed rows of the block input, dead_bytes).
Planted planner faults must make the poisoned build differ: a tensor freed one call early (poisoned by its lifetime, not
by dead_bytes), an overlap past its limit, a lag one step short and a halo kept one row short (their checkers switched
off)."""
import numpy as np
import pytest

import tinyq.planner as planner
from tests.samples import MODELS, model_path
from tinyq.compiler import compile_model
from tinyq.sim.run import as_program, run_program
from tinyq.testing import build_host_runner, run_host_runner
from tinyq.verify import random_batches

FLAGS = ("-DTQ_POISON", "-DTQ_ENABLE_ASSERT")


def _poisoned_outputs(stem, out, batches, io="caller", patch="auto"):
    compile_model(model_path(stem), out, board="host", io=io, patch=patch)
    assert stem == "tflm_simple_add_int8" or "MODEL_POISON(" in (out / "src" / "model.c").read_text()
    return run_host_runner(out, build_host_runner(out, sanitize=True, extra_flags=FLAGS), batches)


@pytest.mark.slow
@pytest.mark.parametrize("io", ["caller", "arena"])
@pytest.mark.parametrize("stem", MODELS)
def test_poisoned_build_equals_simulator(stem, io, tmp_path):
    """io=arena: the inputs and outputs are arena buffers too (the runner's own buffers are copied in and out)."""
    program = as_program(model_path(stem))
    batches = random_batches(program, 4, seed=11)
    want = run_program(program, batches)
    for got, i in zip(_poisoned_outputs(stem, tmp_path, batches, io), program.outputs):
        np.testing.assert_array_equal(got, want[i], err_msg=f"{stem}: poisoned host C (--io {io}) != simulator")


@pytest.mark.slow
@pytest.mark.parametrize("io", ["caller", "arena"])
@pytest.mark.parametrize("stem", ["mlperf_kws_dscnn_int8", "mlperf_vww_mobilenetv1_025_int8", "mlperf_ic_resnet8_int8"])
def test_poisoned_patched_build_equals_simulator(stem, io, tmp_path):
    """Every chain in 3 bands (tinyq.patch): the inner bands' buffers are dead (poisoned) between bands, and the
    chain's output, filled band by band, must not be poisoned from its first band on."""
    program = as_program(model_path(stem))
    batches = random_batches(program, 2, seed=12)
    want = run_program(program, batches)
    for got, i in zip(_poisoned_outputs(stem, tmp_path, batches, io, patch=3), program.outputs):
        np.testing.assert_array_equal(got, want[i], err_msg=f"{stem}: poisoned patched host C (--io {io}) != simulator")


@pytest.mark.slow
def test_poison_catches_a_tensor_freed_too_early(tmp_path, monkeypatch):
    stem = "mlperf_ic_resnet8_int8"
    program = as_program(model_path(stem))
    real = planner.lifetimes

    def early(p, *args):  # the first buffer read by a later call than the one after its producer, and not in a
        bufs = real(p, *args)  # lagged pair (a lagging output that covers its bytes would keep them), ends a call early
        lagged = {t for pair in planner.lag_limits(p, bufs, *args) for t in pair}
        k = next(n for n, b in enumerate(bufs) if b.tensor >= 0 and b.last > b.first + 1 and b.tensor not in lagged)
        bufs[k] = planner.Allocation(bufs[k].name, bufs[k].tensor, bufs[k].call, bufs[k].first, bufs[k].last - 1,
                                     bufs[k].size, -1)
        return bufs

    monkeypatch.setattr(planner, "lifetimes", early)
    # poisoning the bytes outside the (wrong) live buffers, not dead_bytes' (which follow the reads)
    monkeypatch.setattr(planner, "dead_bytes", lambda program, plan: None)
    batches = random_batches(program, 4, seed=11)
    want = run_program(program, batches)
    got = _poisoned_outputs(stem, tmp_path, batches)
    assert any(not np.array_equal(g, want[i]) for g, i in zip(got, program.outputs)), "the poison did not bite"


@pytest.mark.slow
def test_poison_catches_an_overlap_past_its_limit(tmp_path, monkeypatch):
    """A convolution output placed 64 bytes further into its input than tinyq.raster allows (the overlap
    checker switched off) overwrites input rows still to be read: the build must differ."""
    stem = "mlperf_kws_dscnn_int8"
    real = planner.write_limit
    monkeypatch.setattr(planner, "write_limit", lambda *a: real(*a) + 64)
    monkeypatch.setattr(planner, "check_overlaps", lambda program, plan: None)
    program = as_program(model_path(stem))
    batches = random_batches(program, 4, seed=11)
    want = run_program(program, batches)
    got = _poisoned_outputs(stem, tmp_path, batches)
    assert any(not np.array_equal(g, want[i]) for g, i in zip(got, program.outputs)), "the overlap did not bite"


@pytest.mark.slow
def test_poison_catches_a_lag_past_its_limit(tmp_path, monkeypatch):
    """IC's ADD outputs placed 16 bytes further into the block input than tinyq.planner.lag_limits allows
    (placement made to keep a positive offset, the dataflow checker switched off; with the halos kept, the first
    block's limit is 0): each band overwrites input bytes it or the next band still reads."""
    import tinyq.placement as placement

    stem = "mlperf_ic_resnet8_int8"
    real = planner.lag_limits
    monkeypatch.setattr(planner, "lag_limits", lambda *a: {key: (k, limit + 16) for key, (k, limit) in real(*a).items()})
    monkeypatch.setattr(placement, "_lead", lambda limit: limit // placement.ALIGN * placement.ALIGN)
    monkeypatch.setattr(planner, "check_dataflow", lambda program, plan: None)
    program = as_program(model_path(stem))
    batches = random_batches(program, 4, seed=11)
    want = run_program(program, batches)
    got = _poisoned_outputs(stem, tmp_path, batches)
    assert any(not np.array_equal(g, want[i]) for g, i in zip(got, program.outputs)), "the lag did not bite"


@pytest.mark.slow
def test_poison_catches_a_strided_blocks_add_past_its_limit(tmp_path, monkeypatch):
    """IC's second block (its stride-2 shortcut in bands): the ADD output placed 16 bytes further into the
    block input than tinyq.planner.lag_limits allows (placement made to keep a positive offset, the dataflow
    checker switched off): a band overwrites rows of the block input the next band still reads."""
    import tinyq.patch as patch
    import tinyq.placement as placement

    stem = "mlperf_ic_resnet8_int8"
    real = planner.lag_limits
    monkeypatch.setattr(planner, "lag_limits",
                        lambda *a: {key: (k, limit + 16 if limit > 0 else limit) for key, (k, limit) in real(*a).items()})
    monkeypatch.setattr(placement, "_lead", lambda limit: limit // placement.ALIGN * placement.ALIGN)
    monkeypatch.setattr(planner, "check_dataflow", lambda program, plan: None)
    program = as_program(model_path(stem))
    patched, _ = patch.patch_program(program, "auto")
    plan = planner.plan_memory(patched)
    inside = [(x, d, delta) for x, d, delta in plan.lagged if delta > 0]
    assert inside and all(real(patched, planner.lifetimes(patched))[x, d][1] + 16 == delta for x, d, delta in inside)
    batches = random_batches(program, 4, seed=11)
    want = run_program(program, batches)
    got = _poisoned_outputs(stem, tmp_path, batches)
    assert any(not np.array_equal(g, want[i]) for g, i in zip(got, program.outputs)), "the lag did not bite"


@pytest.mark.slow
def test_poison_catches_a_halo_one_row_short(tmp_path, monkeypatch):
    """IC in 3 bands with its first copy of kept halo rows into a band buffer one row short (the dataflow
    checker, which refuses it, switched off): the band's convolution reads a row of some other buffer, and the
    build must differ."""
    import tinyq.compiler as compiler
    from tests.unit.test_patch import _short_halo

    stem = "mlperf_ic_resnet8_int8"
    real = compiler.patch_program
    monkeypatch.setattr(compiler, "patch_program", lambda *a, **k: (lambda p, r: (_short_halo(p), r))(*real(*a, **k)))
    monkeypatch.setattr(planner, "check_dataflow", lambda program, plan: None)
    program = as_program(model_path(stem))
    batches = random_batches(program, 4, seed=11)
    want = run_program(program, batches)
    got = _poisoned_outputs(stem, tmp_path, batches, patch=3)
    assert any(not np.array_equal(g, want[i]) for g, i in zip(got, program.outputs)), "the short halo did not bite"
