"""Memory planner: plans of real models pass the overlap and alias checkers; the checkers catch planted faults."""
import dataclasses

import numpy as np
import pytest

from tests.samples import MODELS, model_path
from tinyq.errors import PlanError
from tinyq.lower.activation import ReluCall
from tinyq.planner import ALIGN, check_aliases, check_overlaps, check_plan, dead_ranges, lifetimes, plan_memory
from tinyq.program import Program, TensorInfo
from tinyq.sim.run import as_program


@pytest.mark.parametrize("stem", MODELS)
def test_plan_is_valid_and_no_worse_than_naive(stem):
    program = as_program(model_path(stem))
    plan = plan_memory(program)
    check_plan(plan)
    naive = sum((b.size + ALIGN - 1) // ALIGN * ALIGN for b in lifetimes(program))
    assert plan.arena_bytes <= naive
    for a in plan.allocations:
        assert a.offset % ALIGN == 0


def test_checker_catches_overlap():
    program = as_program(model_path("mlperf_ad_fc_autoencoder_int8"))
    plan = plan_memory(program)
    allocs = list(plan.allocations)
    # two consecutive layer outputs are live together (one is the other's input): force them to share an offset
    a, b = allocs[0], allocs[1]
    assert a.last >= b.first
    allocs[1] = dataclasses.replace(b, offset=a.offset)
    with pytest.raises(PlanError, match="overlap while both are live"):
        check_plan(dataclasses.replace(plan, allocations=tuple(allocs)))


def test_checker_catches_out_of_arena():
    program = as_program(model_path("mlperf_ad_fc_autoencoder_int8"))
    plan = plan_memory(program)
    with pytest.raises(PlanError, match="outside the arena"):
        check_plan(dataclasses.replace(plan, arena_bytes=plan.arena_bytes - ALIGN))


def test_reshape_output_shares_its_input_buffer():
    program = as_program(model_path("mlperf_kws_dscnn_int8"))
    plan = plan_memory(program)
    (reshape,) = [c for c in program.calls if c.opcode == "RESHAPE"]
    src, dst = reshape.inputs[0], reshape.outputs[0]
    assert (dst, src) in plan.aliases
    assert plan.tensor_offset(dst) == plan.tensor_offset(src) is not None


# ---- elementwise ops take over their dead input's buffer -------------------------------------------

def test_residual_add_writes_over_a_dead_input():
    """ResNet-8's ADDs: each output takes the buffer of an input nothing reads afterwards."""
    program = as_program(model_path("mlperf_ic_resnet8_int8"))
    plan = plan_memory(program)
    adds = [c for c in program.calls if c.opcode == "ADD"]
    assert len(adds) == 3
    for add in adds:
        (dst,) = add.outputs
        src = dict(plan.aliases)[dst]
        assert src in add.inputs and plan.tensor_offset(dst) == plan.tensor_offset(src)


def _relu_chain() -> Program:
    """in -> relu -> t1 -> relu -> t2 -> relu(t1) -> out: t1 is read again after t2 is written."""
    tensors = tuple(TensorInfo(i, f"t{i}", (1, 64), "int8", 0.5, 0) for i in range(4))

    def relu(k, src, dst):
        return ReluCall("tq_relu_s8", k, "RELU", (src,), (dst,), size=64, input_offset=0, output_offset=0,
                        multiplier=1 << 30, shift=1, act_min=0, act_max=127)

    return Program(tensors, (relu(0, 0, 1), relu(1, 1, 2), relu(2, 1, 3)), (0,), (3,), "0" * 64)


def test_elementwise_output_does_not_take_over_an_input_read_later():
    program = _relu_chain()
    plan = plan_memory(program)
    assert plan.aliases == ()  # t1 is read by call 2, so call 1 may not write t2 over it
    with pytest.raises(PlanError, match="over tensor #1, which call 2 still reads"):
        check_aliases(program, dataclasses.replace(plan, aliases=((2, 1),)))


def test_alias_checker_refuses_a_call_that_does_not_read_element_for_element():
    program = as_program(model_path("mlperf_ic_resnet8_int8"))
    plan = plan_memory(program)
    conv = program.calls[2]  # a 3x3 conv with equal input and output sizes: sizes alone would allow it
    assert conv.opcode == "CONV_2D" and program.tensor(conv.inputs[0]).size == program.tensor(conv.outputs[0]).size
    forged = dataclasses.replace(plan, aliases=((conv.outputs[0], conv.inputs[0]),))
    with pytest.raises(PlanError, match="which it does not read element for element"):
        check_aliases(program, forged)


def test_alias_checker_refuses_graph_tensors():
    program = _relu_chain()
    plan = plan_memory(program)
    with pytest.raises(PlanError, match="is not the one output of a call"):
        check_aliases(program, dataclasses.replace(plan, aliases=((3, 2),)))  # the graph output into the arena


def test_dead_ranges_leave_exactly_the_buffers_a_call_may_read():
    program = as_program(model_path("mlperf_ic_resnet8_int8"))
    plan = plan_memory(program)
    for k in range(len(program.calls)):
        dead = np.zeros(plan.arena_bytes, bool)
        for o, n in dead_ranges(plan, k):
            assert n > 0 and not dead[o:o + n].any()
            dead[o:o + n] = True
        held = np.zeros(plan.arena_bytes, bool)
        for a in plan.allocations:
            if a.first < k <= a.last:
                held[a.offset:a.offset + a.size] = True
        assert np.array_equal(dead, ~held), k  # dead = every byte no buffer live into call k holds


# ---- convolutions write over their dying input (tinyq.raster) ---------------------------------------

def _kws_plan():
    program = as_program(model_path("mlperf_kws_dscnn_int8"))
    return program, plan_memory(program)


def test_convolutions_overlap_their_dying_inputs():
    """DS-CNN: each depthwise/pointwise output reaches into the input it replaces, so the arena holds little
    more than one 25x5x64 activation instead of two."""
    program, plan = _kws_plan()
    assert len(plan.overlaps) >= 8
    one = 25 * 5 * 64
    assert plan.arena_bytes < 1.3 * one
    at = {a.tensor: a for a in plan.allocations}
    for k, s, d in plan.overlaps:
        assert program.calls[k].opcode in ("CONV_2D", "DEPTHWISE_CONV_2D") and at[s].last == k == at[d].first
        assert at[s].offset < at[d].offset + at[d].size and at[d].offset < at[s].offset + at[s].size


def test_overlap_checker_catches_an_output_one_step_too_far():
    program, plan = _kws_plan()
    k, s, d = next(o for o in plan.overlaps if program.calls[o[0]].opcode == "DEPTHWISE_CONV_2D")
    moved = tuple(dataclasses.replace(a, offset=a.offset + ALIGN) if a.tensor == d else a for a in plan.allocations)
    with pytest.raises(PlanError, match="over input bytes of tensor .* that it still reads"):
        check_overlaps(program, dataclasses.replace(plan, allocations=moved))


def test_overlap_checker_refuses_a_kernel_without_a_raster_order():
    program, plan = _kws_plan()
    k = next(n for n, c in enumerate(program.calls) if c.opcode == "FULLY_CONNECTED")
    (s,), (d,) = program.calls[k].inputs, program.calls[k].outputs
    s = dict(plan.aliases).get(s, s)
    with pytest.raises(PlanError, match=f"call {k} may not write"):
        check_overlaps(program, dataclasses.replace(plan, overlaps=((k, s, d),)))


def test_unlisted_overlap_is_refused():
    program, plan = _kws_plan()
    with pytest.raises(PlanError, match="overlap while both are live"):
        check_plan(dataclasses.replace(plan, overlaps=()))


def test_lowest_clear_offset_equals_testing_every_candidate():
    """placement._lowest_clear (one sweep of the gaps) picks what testing each candidate against every gap does."""
    import random

    from tinyq.placement import _lowest_clear, align

    rng = random.Random(5)
    for _ in range(2000):
        gaps = []
        for _ in range(rng.randrange(0, 12)):
            lo = rng.randrange(-200, 400)
            gaps.append((lo, lo + rng.choice([0, 1, 16, rng.randrange(1, 300)])))
        want = min(c for c in [0] + [align(hi) for _, hi in gaps]
                   if c >= 0 and all(not (lo < c < hi) for lo, hi in gaps))
        assert _lowest_clear(gaps) == want, gaps
