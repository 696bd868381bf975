"""Patch-based execution (tinyq.patch): chains of convolutions run in bands of rows.

Exact: the rows a band reads are those its windows touch (brute force); a patched program computes, band for
band, the rows of the unpatched tensors, and the same outputs, on the shared models. Auto lowers the arena of
VWW within its MAC budget and leaves KWS alone. A halo one row short, or a view outside its base, must fail."""
import random
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

import tinyq.patch as patch
from tests.samples import model_path
from tinyq.errors import InputError, PlanError
from tinyq.planner import plan_memory
from tinyq.sim.run import as_program, run_program
from tinyq.verify import random_batches

CHAINED = ["mlperf_kws_dscnn_int8", "mlperf_vww_mobilenetv1_025_int8", "mlperf_ic_resnet8_int8", "tflm_person_detect_int8"]


class _Geometry:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_input_rows_are_the_rows_the_windows_touch():
    rng = random.Random(5)
    for _ in range(3000):
        kh, s, d = rng.randint(1, 5), rng.randint(1, 3), rng.randint(1, 2)
        h, pad = rng.randint(1, 20), rng.randint(0, 3)
        out_h = max(1, (h + 2 * pad - (kh - 1) * d - 1) // s + 1)
        call = _Geometry(filter_height=kh, stride_height=s, dilation_height=d, pad_height=pad, input_height=h)
        r0 = rng.randrange(out_h)
        r1 = rng.randint(r0 + 1, out_h)
        touched = {r * s - pad + t * d for r in range(r0, r1) for t in range(kh)}
        real = sorted(x for x in touched if 0 <= x < h)
        first, end, top = patch.input_rows(call, r0, r1)
        if not real:  # every window in the padding (or, dilated, between rows): nothing to read but bounds
            assert 0 <= first and end <= h
            continue
        # every row the windows touch, inside the input; exactly to the first and last touched row when the end
        # windows are contiguous (no dilation) and start inside the input
        assert 0 <= first <= real[0] and real[-1] < end <= h
        if d == 1 and r0 * s - pad >= 0:
            assert first == real[0]
        if d == 1 and (r1 - 1) * s - pad < h:
            assert end == real[-1] + 1
        assert top == first - (r0 * s - pad)  # band row 0 is input row `first`: `top` rows of padding above it


def _rows(value: np.ndarray, t) -> np.ndarray:
    """Rows [row0, row0 + rows) of an (N, 1, H, W, C) value."""
    return value[:, :, t.row0 : t.row0 + t.shape[1]]


@pytest.mark.parametrize("stem", CHAINED)
@pytest.mark.parametrize("bands", [2, 3, 5])
def test_every_band_holds_the_rows_of_the_unpatched_tensor(stem, bands):
    program = as_program(model_path(stem))
    patched, report = patch.patch_program(program, bands)
    assert report.patches and len(patched.calls) > len(program.calls)
    plan_memory(patched)  # the checkers accept it
    batches = random_batches(program, 3, seed=bands)
    want = run_program(program, batches, trace=True)
    got = run_program(patched, batches, trace=True)
    for i in program.outputs:
        np.testing.assert_array_equal(got[i], want[i])
    bands_seen = 0
    for t in patched.tensors:
        if t.band_of >= 0 and t.index in got:  # (a chain's input band is read in place, never written)
            np.testing.assert_array_equal(got[t.index], _rows(want[t.band_of], t), err_msg=t.name)
            bands_seen += 1
    assert bands_seen >= bands * 2


def test_auto_patches_where_it_lowers_the_arena_within_its_budget():
    vww = as_program(model_path("mlperf_vww_mobilenetv1_025_int8"))
    patched, report = patch.patch_program(vww, "auto")
    assert report.patches and report.arena_after < report.arena_before
    assert plan_memory(patched).arena_bytes == report.arena_after < plan_memory(vww).arena_bytes
    assert report.extra_macs == 0 and all(p.kept_bytes > 0 for p in report.patches)  # halos kept, not recomputed
    kws = as_program(model_path("mlperf_kws_dscnn_int8"))  # its peak is not inside a chain's inner tensors
    same, none = patch.patch_program(kws, "auto")
    assert same is kws and not none.patches
    off, report = patch.patch_program(vww, "off")
    assert off is vww and not report.patches


def test_on_the_m55_a_depthwise_band_call_is_priced_by_its_channels():
    """Helium's depthwise pays a bordered copy and line passes per channel a call (tinyq/patch.py
    MVE_DW_CALL_WORK): KWS's 8-band plan, within the budget in M4 terms, costs more than the whole budget on the
    M55, so auto leaves KWS with int4 weights unbanded there (it ran 1.6x the instructions in bands)."""
    kws = as_program(model_path("mlperf_kws_dscnn_int8"))
    (chain,) = [r for r in patch.chains(kws) if len(r) > 2]
    calls = patch._convs(kws, chain)
    dw = sum(isinstance(c, patch.DepthwiseConvCall) for c in calls)
    m4, m55 = patch.extra_work(calls, 8), patch.extra_work(calls, 8, isa="mve")
    assert m55 - m4 == patch.MVE_DW_CALL_WORK * 64 * dw * 7
    work = patch._macs(kws.calls) + patch.OUTPUT_WORK * sum(kws.tensor(i).size for c in kws.calls for i in c.outputs)
    assert m4 < patch.AUTO_BUDGET * work < m55
    from tests.encode.helpers import rewrite

    data, _ = rewrite.rewrite_model(model_path("mlperf_kws_dscnn_int8").read_bytes(), "int4", seed=0)
    int4 = as_program(data, "int4")
    assert patch.patch_program(int4, "auto")[1].patches  # M4 terms: worth banding
    assert not patch.patch_program(int4, "auto", isa="mve")[1].patches


def test_a_halo_one_row_short_is_caught(monkeypatch):
    program = as_program(model_path("mlperf_kws_dscnn_int8"))
    real = patch.input_rows

    def short(call, r0, r1):
        first, end, top = real(call, r0, r1)
        return (first, end - 1, top) if end - first > 1 and end < call.input_height else (first, end, top)

    monkeypatch.setattr(patch, "input_rows", short)
    patched, _ = patch.patch_program(program, 3)
    batches = random_batches(program, 2, seed=1)
    want, got = run_program(program, batches, trace=True), run_program(patched, batches, trace=True)
    assert any(not np.array_equal(got[i], want[i]) for i in want if i in got)


def test_a_view_outside_its_base_is_refused():
    patched, _ = patch.patch_program(as_program(model_path("mlperf_kws_dscnn_int8")), 2)
    view = next(t for t in patched.tensors if t.view and t.row0 > 0)
    bad = replace(patched, tensors=tuple(replace(t, row0=t.row0 + 1) if t is view else t for t in patched.tensors))
    with pytest.raises(PlanError, match="not a band of rows"):
        plan_memory(bad)


@pytest.mark.parametrize("value", ["0", "1", "65", "banana", "2.5", ""])
def test_bad_patch_values_are_refused(value):
    with pytest.raises(InputError, match="--patch"):
        patch.parse_patch(value)


def test_cli_names_a_bad_patch_value(tmp_path):
    for command in (["compile", "-o", str(tmp_path / "out")], ["inspect"]):
        p = subprocess.run([sys.executable, "-m", "tinyq.cli", command[0], str(model_path("mlperf_kws_dscnn_int8")),
                            *command[1:], "--patch", "many"], capture_output=True, text=True, timeout=120)
        assert p.returncode == 2 and p.stderr.startswith("tinyq: error: --patch 'many'"), p.stderr
        assert "Traceback" not in p.stderr


def test_compile_reports_the_bands(tmp_path):
    p = subprocess.run([sys.executable, "-m", "tinyq.cli", "compile", str(model_path("mlperf_kws_dscnn_int8")),
                        "-o", str(tmp_path), "--patch", "4"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "in 4 bands" in p.stdout and "B of halo rows kept" in p.stdout and "--patch off" in p.stdout
    assert "MACs recomputed" not in p.stdout


@pytest.mark.parametrize("bands", [2, 3, 4, 8])
def test_each_row_is_computed_once_and_the_halo_rows_are_copied(bands):
    """Band by band, each convolution computes the rows no earlier band did: as many MACs as unpatched (what auto
    weighs, extra_macs); the halo rows travel by copies through a stash of the rows later bands read."""
    program = as_program(model_path("mlperf_vww_mobilenetv1_025_int8"))
    for run in (range(0, 4), range(0, 8), range(3, 9)):
        patched, p, _ = patch.patch_chain(program, run, bands)
        assert patch.extra_macs(program.calls[run.start:run.stop], bands) == p.extra_macs == 0 < p.kept_bytes
        rows = {}
        for c in patched.calls[run.start:len(patched.calls) - len(program.calls) + run.stop]:
            if c.opcode != "COPY":
                rows[c.layer] = rows.get(c.layer, 0) + c.output_height
        assert rows == {c.layer: c.output_height for c in program.calls[run.start:run.stop]}
        assert any(c.opcode == "COPY" for c in patched.calls)


def _short_halo(program):
    """The program with its first copy of halo rows into a band buffer one row short (the buffer's first row
    left unwritten): a deliberately wrong halo."""
    from tinyq.lower.shape import RowCopyCall

    def into_a_band(c):  # a copy from the stash into a band buffer, of two rows or more
        out = program.tensor(c.outputs[0])
        return type(c) is RowCopyCall and program.tensor(out.window).band_of >= 0 and out.shape[1] > 1

    k = next(k for k, c in enumerate(program.calls) if into_a_band(c))
    call, extra = program.calls[k], []
    ins, outs = (program.tensor(i) for i in (call.inputs[0], call.outputs[0]))
    row = ins.nbytes // ins.shape[1]
    for t in (ins, outs):
        extra.append(replace(t, shape=(1, t.shape[1] - 1, *t.shape[2:]), row0=t.row0 + 1, slot=t.slot + 1))
    tensors = tuple(extra[0] if t is ins else extra[1] if t is outs else t for t in program.tensors)
    calls = program.calls[:k] + (replace(call, bytes=call.bytes - row),) + program.calls[k + 1:]
    return replace(program, tensors=tensors, calls=calls)


def test_the_dataflow_checker_catches_a_halo_one_row_short():
    program = as_program(model_path("mlperf_ic_resnet8_int8"))
    patched, _ = patch.patch_program(program, 3)
    plan_memory(patched)
    with pytest.raises(PlanError, match="reads tensor #.* which holds"):
        plan_memory(_short_halo(patched))


IC_TFLM_ARENA = 54996  # TFLM + CMSIS-NN's arena for IC on mps2-an386 (benchmarks/anchors.json)


def _residual_plan(io_in_arena=True):
    program = as_program(model_path("mlperf_ic_resnet8_int8"))
    patched, report = patch.patch_program(program, "auto", io_in_arena)
    return program, patched, report, plan_memory(patched, io_in_arena)


def _exact_band_by_band(program, patched):
    batches = random_batches(program, 3, seed=4)
    want, got = run_program(program, batches, trace=True), run_program(patched, batches, trace=True)
    for i in program.outputs:
        np.testing.assert_array_equal(got[i], want[i])
    for t in patched.tensors:
        if t.band_of >= 0 and t.index in got and not t.view:
            np.testing.assert_array_equal(got[t.index], _rows(want[t.band_of], t), err_msg=t.name)


def test_auto_runs_a_resnet_block_in_bands_its_add_lagging_behind_the_block_input():
    """IC's first block (conv, conv, ADD of the block input): in bands, the ADD's output written right over the
    block input (no later band reads a row of it above its own band: the halo rows of the first convolution's
    output are kept, not recomputed from the block input); exact against the unpatched program, band by band."""
    program, patched, report, plan = _residual_plan()
    p = report.patches[0]
    assert [program.calls[k].opcode for k in range(4)][1:] == ["CONV_2D", "CONV_2D", "ADD"] and p.layers == (1, 2, 3)
    assert report.extra_macs == 0 and p.kept_bytes > 0
    x, out, delta = plan.lagged[0]
    assert delta == 0 and program.tensor(x).shape == program.tensor(out).shape == (1, 32, 32, 16)
    adds = [c for c in patched.calls if c.opcode == "ADD"]
    assert all(patched.tensor(c.outputs[0]).view for c in adds[:p.bands])
    _exact_band_by_band(program, patched)
    off, none = patch.patch_program(program, "off", True)
    assert off is program and not none.patches


@pytest.mark.parametrize("io_in_arena", [False, True])
def test_auto_runs_a_block_with_its_strided_shortcut_in_bands_its_add_inside_the_block_input(io_in_arena):
    """IC's second block (3x3 stride 2 -> 3x3, and a 1x1 stride-2 shortcut of the block input, then ADD): in
    bands, each band's shortcut rows computed into a band-sized buffer just before its ADD, whose 16x16x32 output
    lands inside the 32x32x16 block input's bytes (rows no later band reads). With caller-owned I/O too, the
    arena and the I/O are under half of TFLM's arena; exact against the unpatched program, band by band."""
    program, patched, report, plan = _residual_plan(io_in_arena)
    p = report.patches[1]
    assert [program.calls[k].layer for k in range(4, 8)] == [4, 5, 6, 7] and p.layers == (4, 5, 6, 7)
    assert patch.shortcut(program, range(4, 8)) == 6 and patch.chains(program)[1] == range(4, 8)
    x, out, delta = plan.lagged[1]
    assert program.tensor(x).shape == (1, 32, 32, 16) and program.tensor(out).shape == (1, 16, 16, 32)
    assert 0 <= delta <= program.tensor(x).nbytes - program.tensor(out).nbytes
    shortcut_bands = [c for c in patched.calls if c.layer == 6]
    assert len(shortcut_bands) == p.bands and not any(patched.tensor(c.outputs[0]).view for c in shortcut_bands)
    assert plan.arena_bytes + plan.io_bytes < IC_TFLM_ARENA // 2 < plan_memory(program, io_in_arena).arena_bytes
    _exact_band_by_band(program, patched)


def test_reorder_readers_runs_a_shortcut_first_so_the_main_branch_writes_over_the_block_input():
    """IC's second block run whole: its 1x1 shortcut (layer 6) moved before the main branch's first convolution
    (layer 4), which then, the block input's last reader, writes over it (an overlap the raster checker proves)."""
    program = as_program(model_path("mlperf_ic_resnet8_int8"))
    in_order, _, _ = patch.patch_chain(program, range(1, 4), 3)
    moved, layers = patch.reorder_readers(in_order, True)
    assert layers[0] == 6
    order = [c.layer for c in moved.calls]
    assert order.index(6) < order.index(4)
    plan = plan_memory(moved, True)
    k = order.index(4)
    call = moved.calls[k]
    assert any(o == (k, call.inputs[0], call.outputs[0]) for o in plan.overlaps)
    assert plan.arena_bytes < plan_memory(in_order, True).arena_bytes


@pytest.mark.parametrize("pair", [0, 1])
def test_the_dataflow_checker_catches_a_lag_one_step_short(pair):
    """The ADD's output 16 bytes later than lag_limits allows (for the strided block, past its largest offset
    inside the block input, not only past where the plan put it): its band overwrites the first bytes of rows
    of the block input that the next band's convolutions still read."""
    from tinyq.planner import check_dataflow, lag_limits, lifetimes

    _, patched, _, plan = _residual_plan()
    check_dataflow(patched, plan)
    x, out, delta = plan.lagged[pair]
    _, limit = lag_limits(patched, lifetimes(patched, True), True)[x, out]
    assert delta <= limit
    at = {a.tensor: a.offset for a in plan.allocations}
    moved = tuple(replace(a, offset=at[x] + limit + 16) if a.tensor == out else a for a in plan.allocations)
    # (for the first block the limit is 0: the ADD would write each band 16 bytes ahead of the rows it reads)
    with pytest.raises(PlanError, match=f"reads tensor #.* which holds tensor #{out}, not tensor #{x}|"
                                        f"writes tensor #.* over bytes of its input #.* in an order no rule proves"):
        check_dataflow(patched, replace(plan, allocations=moved, lagged=((x, out, limit + 16),)))


def test_the_dataflow_checker_catches_a_buffer_reused_while_still_read():
    from tinyq.planner import check_dataflow

    program = as_program(model_path("mlperf_ic_resnet8_int8"))
    plan = plan_memory(program)
    a = next(b for b in plan.allocations if b.tensor >= 0 and b.last > b.first + 1)  # read two calls later
    later = next(b for b in plan.allocations if b.tensor >= 0 and b.first == a.first + 1 and b.size <= a.size)
    moved = tuple(replace(b, offset=a.offset) if b is later else b for b in plan.allocations)
    with pytest.raises(PlanError, match=f"tensor #{later.tensor}"):
        check_dataflow(program, replace(plan, allocations=moved))


@pytest.mark.parametrize("io_in_arena", [False, True])
def test_poison_ranges_are_finer_than_the_live_buffers(io_in_arena):
    """dead_bytes (the poison build's ranges) holds every byte outside the live buffers, and more: the rows of
    a band-written output not written yet, the rows of a buffer no later call reads."""
    from tinyq.planner import dead_ranges

    program = as_program(model_path("mlperf_ic_resnet8_int8"))
    patched, _ = patch.patch_program(program, 3, io_in_arena)
    plan = plan_memory(patched, io_in_arena)

    def mask(ranges):
        m = np.zeros(plan.arena_bytes, bool)
        for o, n in ranges:
            m[o:o + n] = True
        return m

    finer = 0
    for k in range(len(patched.calls)):
        fine, coarse = mask(dead_ranges(plan, k)), mask(dead_ranges(replace(plan, dead=None), k))
        assert not (coarse & ~fine).any(), k
        finer += int((fine & ~coarse).sum())
    assert finer > 0


def test_layer_by_layer_verification_maps_bands_and_kept_rows_to_the_tflite_tensors():
    """tinyq.verify compares each band (a convolution's rows, a copy of halo rows) with its rows of the TFLM
    tensor: none differs on IC and VWW in 3 bands."""
    from tinyq.verify import _tflm_divergence

    for stem in ("mlperf_ic_resnet8_int8", "mlperf_vww_mobilenetv1_025_int8"):
        program = as_program(model_path(stem))
        patched, _ = patch.patch_program(program, 3)
        assert any(c.opcode == "COPY" for c in patched.calls)
        assert _tflm_divergence(model_path(stem), patched, random_batches(program, 1, seed=3)) is None
