"""Memory planner: plans of real models pass the overlap checker; the checker catches a planted overlap."""
import dataclasses

import pytest

from tests.samples import MODELS, model_path
from tinyq.errors import PlanError
from tinyq.planner import ALIGN, check_plan, lifetimes, plan_memory
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
