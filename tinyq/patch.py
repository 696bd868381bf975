"""Patch-based execution: chains of convolutions run in bands of rows (MCUNetV2's idea, with full-width patches).

A chain is a run of convolution calls where each reads only the previous one's output and nothing else reads
it: an inverted residual block (expand 1x1 -> depthwise 3x3 -> project 1x1), or the first stages of a network.
A residual chain ends in the ADD of the chain's input x and its last output (a ResNet block): each band adds
its rows of x to its band of the last output and writes rows of the ADD's output, so the whole block's inner
tensors are band-sized; the planner then lets that output lag behind x in x's own bytes (tinyq.planner
lag_limits: band b writes over the rows of x no later band reads). A block whose shortcut is a convolution of x
(ResNet's stride-2 1x1 when the block halves the rows) runs it in the bands too, just before each band's ADD, into
a band-sized buffer: the whole block then keeps only x whole, and its smaller output lands inside x's bytes.
Its inner tensors are the largest buffers of such models. Run in bands, the chain computes rows [r0, r1) of its
last output at a time, and each call only the rows of its successor's band that no earlier band computed. The rows
where neighbouring bands' windows overlap (the halo) are kept, not recomputed: right after computing its band, a
call copies the rows later bands read into a stash (a buffer of those few rows, one per band, living until the
next band that reads them), and that band's buffer gets them back by a copy at its top, the new rows computed
below them (tq_copy between two distinct buffers). So every row is computed once (no extra MACs), for two small copies per inner tensor and
band. One band buffer of each inner tensor is live at a time, and the stashes; the chain's first call reads its band
of the chain's input in place, and its last call writes its rows straight into the chain's output (views,
TensorInfo.view; a view at a slot of a band buffer or a stash is TensorInfo.window). Full-width bands of an NHWC
tensor are contiguous, so a band is an ordinary tensor to every kernel.

Storage scheduling, not arithmetic: a band call is the same record with fewer rows and its own top padding
(the rows above a band are real rows, not padding), so every output value comes from the same integers as
without patching, and TFLM stays the oracle.

patch_program() applies a choice: "off", "auto" (the chains and band counts that lower the arena most, for the
least extra work, within a budget; and a block's shortcut convolution run before its main branch where that
lets the main branch write over the block input), or a band count forced on every chain. (There is no path that
recomputes the halo instead: a stash costs the halo rows, but the recomputing plans' band buffers were as large or
larger (a call's band held the rows its successor's halo recomputed) and a residual chain's block input had to
outlive its halo; on the shared models and MobileNetV2 the arena came out lower with the halos kept.)
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from tinyq.errors import InputError
from tinyq.lower.conv import ConvCall, DepthwiseConvCall
from tinyq.lower.elementwise import AddSubCall
from tinyq.lower.shape import RowCopyCall
from tinyq.placement import ALIGN, arena_of, place
from tinyq.program import Program

BAND_COUNTS = (2, 3, 4, 6, 8)  # what auto tries for each chain
# Auto weighs time by work: MACs plus OUTPUT_WORK per output value (requantization and loop overhead, about
# that many instructions per value in the prepared M4 kernels), here of rows computed twice (none since the halos
# are kept), plus the copies and calls the bands add (COPY_WORK, CALL_WORK). It takes the least extra work among
# the choices whose live peak is within AUTO_SLACK of the lowest (more bands save ever less memory for ever
# more calls), and adds at most AUTO_BUDGET of the model's work in all (force more with a band count).
AUTO_SLACK = 0.02
AUTO_BUDGET = 0.06
OUTPUT_WORK = 16
# The halo rows a band keeps cost two copies (out of its buffer into the stash, then into the next band's buffer):
# COPY_WORK per value copied (tq_copy: about 0.6 instructions a byte on the M4); each convolution call a band
# adds costs CALL_WORK (the kernels' set-up, loop entries and shorter blocks: IC in 8 and 6 bands on the M4 runs
# about 1,100 instructions a call more than unpatched, besides its copies).
COPY_WORK = 1
CALL_WORK = 1000
# On the M55 (isa "mve") a band's DEPTHWISE_CONV_2D call costs far more: the Helium kernel vectorizes 4 pixels of
# one channel, so each call pays a bordered copy and line passes per channel whatever its rows (MLPerf KWS in 8
# bands: 16,300 instructions a call more at 64 channels, where the model runs about 0.2 instructions a unit of
# work: some 1,200 units a channel, taken as MVE_DW_CALL_WORK). Without it auto banded KWS for 3.6 % of the
# arena at 1.6x the instructions.
MVE_DW_CALL_WORK = 1000
MAX_BANDS = 64


@dataclass(frozen=True)
class Patch:
    """One patched chain, in `bands` bands."""

    bands: int
    layers: tuple[int, ...]  # TFLite operator indices of the chain
    extra_macs: int  # MACs the bands compute more than the unpatched calls (0: halos are kept, not recomputed)
    kept_bytes: int = 0  # the stashes that keep the halo rows between bands


@dataclass(frozen=True)
class PatchReport:
    patches: tuple[Patch, ...]
    macs: int  # MACs of the unpatched program
    arena_before: int
    arena_after: int
    moved: tuple[int, ...] = ()  # TFLite operator indices of the calls run earlier (reorder_readers)

    @property
    def extra_macs(self) -> int:
        return sum(p.extra_macs for p in self.patches)

    def describe(self) -> list[str]:
        lines = [f"layers {p.layers[0]}-{p.layers[-1]} ({len(p.layers)} calls) in {p.bands} bands, "
                 f"{p.kept_bytes:,} B of halo rows kept" for p in self.patches]
        lines += [f"layer {n} runs before the other readers of its input, so that the last one writes over it"
                  for n in self.moved]
        if self.patches:
            lines.append(f"halos kept in {sum(p.kept_bytes for p in self.patches):,} B of stashes, nothing recomputed; "
                         f"without patching the arena would be ~{self.arena_before:,} B (--patch off)")
        return lines


def _macs(calls) -> int:
    from tinyq.bench.macs import call_macs  # (tinyq.bench imports the compiler, which imports this module)

    return sum(call_macs(c) for c in calls)


def _plain(program: Program, index: int) -> bool:
    return program.tensor(index).band_of < 0


def _bandable(program: Program, call) -> bool:
    return (type(call) in (ConvCall, DepthwiseConvCall) and call.batches == 1 and len(call.inputs) == 1
            and len(call.outputs) == 1 and _plain(program, call.inputs[0]) and _plain(program, call.outputs[0])
            and len(program.tensor(call.outputs[0]).shape) == 4)


def _linked(program: Program, run: range) -> bool:
    """Each call of the run reads the previous one's output."""
    return all(program.calls[k].inputs[0] == program.calls[k - 1].outputs[0] for k in run[1:])


def _residual_add(program: Program, run: range, k: int, readers: dict[int, int], shortcut: int | None = None) -> bool:
    """Call k adds the run's last output y element for element (equal shapes, no constant) to the run's input x,
    or to the output s of call `shortcut` (k - 1: a convolution reading nothing but x, s read by the ADD alone),
    and it alone reads y: the run, the shortcut and the ADD can go in bands together (a residual chain)."""
    if not 0 <= k < len(program.calls) or not len(run) or run.stop != (k if shortcut is None else shortcut):
        return False
    add, first, last = program.calls[k], program.calls[run.start], program.calls[run.stop - 1]
    x, y = first.inputs[0], last.outputs[0]
    other = x
    if shortcut is not None:
        side = program.calls[shortcut]
        if (shortcut != k - 1 or not _bandable(program, side) or side.inputs[0] != x
                or readers.get(side.outputs[0]) != 1 or side.outputs[0] in program.outputs):
            return False
        other = side.outputs[0]
    if (type(add) is not AddSubCall or add.opcode != "ADD" or len(add.outputs) != 1 or other == y
            or sorted(add.inputs) != sorted((other, y)) or add.rank != 1 or add.input1_stride != (1,)
            or add.input2_stride != (1,) or add.input1_const is not None or add.input2_const is not None
            or readers.get(y) != 1 or y in program.outputs or not _plain(program, add.outputs[0])):
        return False
    to, ty, tz = (program.tensor(i) for i in (other, y, add.outputs[0]))
    return to.shape == ty.shape == tz.shape and to.dtype == ty.dtype == tz.dtype and len(tz.shape) == 4


def _readers(program: Program) -> dict[int, int]:
    readers: dict[int, int] = {}
    for call in program.calls:
        for i in call.inputs:
            readers[i] = readers.get(i, 0) + 1
    return readers


def _shortcut_of(program: Program, run: range, readers: dict[int, int]) -> int | None | bool:
    """For a run ending in an ADD: None when it is a residual chain without a shortcut, the shortcut's call index
    when it has one (the call before the ADD), False when it is no residual chain."""
    k = run.stop - 1
    if _linked(program, range(run.start, k)) and _residual_add(program, range(run.start, k), k, readers):
        return None
    if (len(run) >= 3 and _linked(program, range(run.start, k - 1))
            and _residual_add(program, range(run.start, k - 1), k, readers, shortcut=k - 1)):
        return k - 1
    return False


def is_residual(program: Program, run: range) -> bool:
    """The run ends in the ADD of a residual chain (its convolutions' input, or a shortcut convolution's output,
    and its last output)."""
    return type(program.calls[run.stop - 1]) is AddSubCall and _shortcut_of(program, run, _readers(program)) is not False


def shortcut(program: Program, run: range) -> int | None:
    """The call index of a residual chain's shortcut convolution, None when it adds the block input itself."""
    side = _shortcut_of(program, run, _readers(program)) if type(program.calls[run.stop - 1]) is AddSubCall else None
    return side if side is not False else None


def valid_run(program: Program, run: range) -> bool:
    """Two or more linked convolutions, or one or more, optionally a shortcut, and the ADD of a residual chain."""
    if type(program.calls[run.stop - 1]) is AddSubCall:
        return is_residual(program, run)
    return len(run) >= 2 and _linked(program, run)


def _convs(program: Program, run: range) -> list:
    """The run's linked convolution calls (without a residual ADD or shortcut)."""
    side = shortcut(program, run)
    return [program.calls[k] for k in run if type(program.calls[k]) is not AddSubCall and k != side]


def chains(program: Program) -> list[range]:
    """Maximal runs of two or more band-able calls, each reading only the previous one's output, which nothing
    else reads and which is not a graph output; or of one or more, optionally a shortcut convolution of their
    input, and the residual ADD that follows them."""
    readers = _readers(program)
    out, start, skip = [], None, 0
    for k, call in enumerate(program.calls):
        if k < skip:
            continue
        bandable = _bandable(program, call)
        linked = (bandable and start is not None and call.inputs[0] == program.calls[k - 1].outputs[0]
                  and readers.get(call.inputs[0]) == 1 and call.inputs[0] not in program.outputs)
        if not linked:
            if start is not None and _residual_add(program, range(start, k), k, readers):
                out.append(range(start, k + 1))
            elif start is not None and _residual_add(program, range(start, k), k + 1, readers, shortcut=k):
                out.append(range(start, k + 2))
                start, skip = None, k + 2
                continue
            elif start is not None and k - start >= 2:
                out.append(range(start, k))
            start = k if bandable else None
    if start is not None and len(program.calls) - start >= 2:
        out.append(range(start, len(program.calls)))
    return out


def input_rows(call, r0: int, r1: int) -> tuple[int, int, int]:
    """(first, end, top padding) of the input rows that output rows [r0, r1) of a convolution read."""
    top = r0 * call.stride_height - call.pad_height
    bottom = (r1 - 1) * call.stride_height - call.pad_height + (call.filter_height - 1) * call.dilation_height + 1
    first, end = max(0, top), min(call.input_height, bottom)
    return first, end, first - top


def _bounds(rows: int, bands: int) -> list[tuple[int, int]]:
    cuts = [rows * k // bands for k in range(bands + 1)]
    return list(zip(cuts, cuts[1:]))


def band_rows(calls, bands: int) -> list[list[tuple[int, int, int, int, int] | None]] | None:
    """Per band, per call of the chain: (first output row computed, end, first input row read, end, top padding),
    or None when the call computes nothing in that band (all the rows its successor reads were computed before;
    then so are the earlier calls'). Each call computes the rows of its successor's band that no earlier band
    computed; the others, the halo, are kept from the band that computed them. None when a band count leaves
    some band of the last output empty (more bands than rows)."""
    rows = calls[-1].output_height
    if not 2 <= bands <= min(rows, MAX_BANDS):
        return None
    out, done = [], [0] * len(calls)  # per call, the end of the rows computed so far
    for r0, r1 in _bounds(rows, bands):
        band = [None] * len(calls)
        for j in reversed(range(len(calls))):
            c0 = max(r0, done[j])
            if r1 <= c0:
                break
            i0, i1, pad = input_rows(calls[j], c0, r1)
            if i1 <= i0:
                return None
            band[j], done[j] = (c0, r1, i0, i1, pad), r1
            r0, r1 = i0, i1
        out.append(band)
    return out


def next_reads(plan, b: int, j: int) -> int | None:
    """The first row of call j's output that a later band than b reads (its first band where call j + 1
    computes), None when none does: the stash keeps the rows from there up to the last one computed."""
    return next((later[j + 1][2] for later in plan[b + 1:] if later[j + 1] is not None), None)


def _stashed(plan, j: int) -> list[tuple[int, int, int]]:
    """(band, first row, end) of the rows of call j's output each band copies to the stash."""
    out = []
    for b, band in enumerate(plan):
        first = next_reads(plan, b, j) if band[j] is not None else None
        if first is not None and first < band[j][1]:
            out.append((b, first, band[j][1]))
    return out


def _outputs(call) -> int:
    return call.batches * call.output_height * call.output_width * call.output_depth


def extra_work(calls, bands: int, output_work: int = OUTPUT_WORK, isa: str = "") -> int | None:
    """The work the bands add: MACs + output_work per output value of rows computed more than once (none: the
    halos are kept), COPY_WORK per kept value (copied out of a band buffer and into the next) and CALL_WORK per
    call more (on "mve", MVE_DW_CALL_WORK a channel more for a depthwise call); None: the band count does not fit
    the chain."""
    plan = band_rows(calls, bands)
    if plan is None:
        return None
    per_row = [(_macs([c]) + output_work * _outputs(c)) // c.output_height for c in calls]
    again = sum(n * (b[j][1] - b[j][0]) for b in plan for j, n in enumerate(per_row) if b[j] is not None) - sum(
        n * c.output_height for n, c in zip(per_row, calls))
    if not output_work:
        return again
    kept = [(j, r1 - r0) for j in range(len(calls) - 1) for _, r0, r1 in _stashed(plan, j)]
    values = sum(rows * calls[j].output_width * calls[j].output_depth for j, rows in kept)
    computing = sum(c is not None for band in plan for c in band)
    per_call = 0
    if isa == "mve":
        per_call = sum(MVE_DW_CALL_WORK * c.output_depth * (sum(band[j] is not None for band in plan) - 1)
                       for j, c in enumerate(calls) if isinstance(c, DepthwiseConvCall))
    return again + 2 * COPY_WORK * values + CALL_WORK * (computing - len(calls)) + per_call


def extra_macs(calls, bands: int) -> int | None:
    """The MACs the bands compute more than the unpatched calls (None: the band count does not fit the chain)."""
    return extra_work(calls, bands, output_work=0)


def patch_chain(program: Program, chain: range, bands: int) -> tuple[Program, Patch, list[int]] | None:
    """The program with `chain` run in `bands` bands of its last output's rows, the patch, and for each new call
    its index in the chain; None when the band count does not fit (band_rows). Band b of an inner tensor (an
    output that the next convolution reads) is a buffer of the rows that convolution reads: its first rows, the
    halo, are copied in from the tensor's stash (kept there by an earlier band, right after computing them), the
    rest computed (a view into the buffer); then the rows later bands read are copied to a new stash. A residual
    chain's ADD runs after each band's convolutions, on its rows; its shortcut convolution, if any, computes just
    before it the band's rows of the shortcut (into a band-sized buffer, from its band of the block input)."""
    calls = [program.calls[k] for k in chain]
    residual = is_residual(program, chain)
    side = shortcut(program, chain)
    convs = _convs(program, chain)
    plan = band_rows(convs, bands)
    if plan is None:
        return None
    next_index = max(t.index for t in program.tensors) + 1
    new_tensors, new_calls, origin = [], [], []

    def band_tensor(of: int, r0: int, r1: int, view: bool, window: int = -1, slot: int = 0) -> int:
        nonlocal next_index
        t = program.tensor(of)
        band = replace(t, index=next_index, name=f"{t.name} rows {r0}:{r1}", shape=(t.shape[0], r1 - r0, *t.shape[2:]),
                       band_of=of, row0=r0, view=view, window=window, slot=slot)
        new_tensors.append(band)
        next_index += 1
        return band.index

    def emit(call, j: int) -> None:
        new_calls.append(call)
        origin.append(pos[j] if j >= 0 else len(calls) - 1)

    def copy(of: int, r0: int, r1: int, src: tuple[int, int], dst: tuple[int, int], j: int) -> None:
        """Rows [r0, r1) of tensor `of` from (buffer, slot) src to dst."""
        t = program.tensor(of)
        ins, outs = (band_tensor(of, r0, r1, True, *where) for where in (src, dst))
        emit(RowCopyCall(kernel="tq_copy", layer=convs[j].layer, opcode="COPY", inputs=(ins,), outputs=(outs,),
                         bytes=t.nbytes // t.shape[1] * (r1 - r0)), j)

    def band_call(call, j: int, source: int, o0: int, o1: int, out: int):
        i0, i1, pad = input_rows(call, o0, o1)
        emit(replace(call, input_height=i1 - i0, output_height=o1 - o0, pad_height=pad,
                     inputs=(band_tensor(source, i0, i1, view=True) if source == x else source,), outputs=(out,)), j)
        return out

    x = convs[0].inputs[0]
    # the chain index of each convolution j, then the shortcut's
    pos = [k - chain.start for k in chain if type(program.calls[k]) is not AddSubCall and k != side]
    pos += [side - chain.start] if side is not None else []
    stash: dict[int, tuple[int, int]] = {}  # inner call j -> (its output's current stash, the first row it holds)
    most = {}  # inner call j -> the rows of its largest stash

    def keep(y: int, j: int, buffer: int, r0: int, r1: int, h0: int) -> None:
        """Rows [r0, r1) of tensor y, from band buffer `buffer` (rows from h0), to a new stash: one per band, so
        that no stash lives while its band computes the rows it would hold (placement may put others there)."""
        nonlocal next_index
        t = program.tensor(y)
        s = replace(t, index=next_index, name=f"{t.name} halo {r0}:{r1}", shape=(t.shape[0], r1 - r0, *t.shape[2:]))
        new_tensors.append(s)
        next_index += 1
        copy(y, r0, r1, (buffer, r0 - h0), (s.index, 0), j)
        stash[j], most[j] = (s.index, r0), max(most.get(j, 0), s.nbytes)

    for b, band in enumerate(plan):
        source = x
        for j, call in enumerate(convs):
            y = call.outputs[0]
            if band[j] is None:  # nothing new: its successor reads the rows it needs from the stash
                if band[j + 1] is not None:
                    h0, h1 = band[j + 1][2:4]
                    source = band_tensor(y, h0, h1, True, stash[j][0], h0 - stash[j][1])
                continue
            o0, o1 = band[j][:2]
            if j == len(convs) - 1:
                source = band_call(call, j, source, o0, o1, band_tensor(y, o0, o1, view=not residual))
                continue
            h0, h1 = band[j + 1][2:4]
            buffer = band_tensor(y, h0, h1, view=False)
            if o0 > h0:  # the halo, kept by an earlier band
                copy(y, h0, o0, (stash[j][0], h0 - stash[j][1]), (buffer, 0), j)
            band_call(call, j, source, o0, o1, buffer if o0 == h0 else band_tensor(y, o0, o1, True, buffer, o0 - h0))
            first = next_reads(plan, b, j)
            if first is not None and first < o1:  # what later bands read of it
                keep(y, j, buffer, first, o1, h0)
            source = buffer
        if residual:  # x's rows of this band (or the shortcut's) + the band of the last output -> the ADD's rows
            add, (r0, r1) = calls[-1], band[-1][:2]
            other = None
            if side is not None:
                s = program.calls[side].outputs[0]
                other = band_call(program.calls[side], len(convs), x, r0, r1, band_tensor(s, r0, r1, view=False))
            t = program.tensor(add.outputs[0])
            inputs = tuple(source if i == convs[-1].outputs[0] else other if other is not None
                           else band_tensor(x, r0, r1, view=True) for i in add.inputs)
            emit(replace(add, shape=(t.size // t.shape[1] * (r1 - r0),), inputs=inputs,
                         outputs=(band_tensor(add.outputs[0], r0, r1, view=True),)), -1)
    inner = {c.outputs[0] for c in (convs if residual else convs[:-1])}
    if side is not None:
        inner.add(program.calls[side].outputs[0])
    tensors = tuple(t for t in program.tensors if t.index not in inner) + tuple(new_tensors)
    patched = replace(program, tensors=tensors,
                      calls=program.calls[:chain.start] + tuple(new_calls) + program.calls[chain.stop:])
    extra = _macs(new_calls) - _macs(calls)
    kept = sum(most.values())
    return patched, Patch(bands, tuple(c.layer for c in calls), extra, kept), origin


def _arena(program: Program, io_in_arena: bool) -> int:
    """The planner's arena for the program, without its checks (plan_memory checks the plan compile keeps)."""
    from tinyq.planner import lag_limits, lifetimes, overlap_limits

    buffers = lifetimes(program, io_in_arena)
    limits = {**lag_limits(program, buffers, io_in_arena), **overlap_limits(program, buffers, io_in_arena)}
    return arena_of(place(buffers, limits)[0])


def _live_peak(program: Program, io_in_arena: bool) -> tuple[int, set[int]]:
    """(most bytes live at once, the calls where that many are): the bound placement reaches or nearly reaches
    (overlapping convolutions aside), cheap enough for auto to weigh every candidate with."""
    from tinyq.planner import lag_limits, lifetimes

    live = [0] * (len(program.calls) + 1)
    buffers = lifetimes(program, io_in_arena)
    for b in buffers:
        for k in range(max(b.first, 0), b.last + 1):
            live[k] += b.size
    by_tensor = {b.tensor: b for b in buffers}
    for (s, d), (_, limit) in lag_limits(program, buffers, io_in_arena).items():  # an output lagging in its input
        a, b = by_tensor[s], by_tensor[d]
        for k in range(max(a.first, b.first, 0), min(a.last, b.last) + 1):
            live[k] -= a.size + b.size - max(a.size - min(limit, 0) // ALIGN * ALIGN, b.size)
    peak = max(live)
    return peak, {k for k, n in enumerate(live) if n == peak}


def reorder_readers(program: Program, io_in_arena: bool) -> tuple[Program, tuple[int, ...]]:
    """A tensor read by several convolutions (a block input feeding its main branch and a 1x1 shortcut) can
    be written over only by its last reader (tinyq.raster). Greedily move a convolution that reads nothing but
    that tensor to just before the tensor's first reader (legal: its input is ready, its output read later
    still), where the arena drops. (program, TFLite operator indices of the calls moved)"""
    moved, best = [], _arena(program, io_in_arena)
    for _ in range(len(program.calls)):
        trials = []
        for m, call in enumerate(program.calls):
            if call.raster_order() is None or len(call.inputs) != 1 or len(call.outputs) != 1:
                continue
            first = next(k for k, c in enumerate(program.calls) if call.inputs[0] in c.inputs)
            if first < m:
                calls = program.calls[:first] + (call,) + program.calls[first:m] + program.calls[m + 1:]
                trial = replace(program, calls=calls)
                trials.append((_arena(trial, io_in_arena), m, call.layer, trial))
        if not trials or min(trials, key=lambda t: t[:2])[0] >= best:
            break
        best, _, layer, program = min(trials, key=lambda t: t[:2])
        moved.append(layer)
    return program, tuple(moved)


def parse_patch(value) -> str | int:
    """--patch: "auto", "off" or a band count."""
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif value in ("auto", "off"):
        return value
    else:
        try:
            n = int(str(value))
        except ValueError:
            raise InputError(f"--patch '{value}': expected auto, off or a band count 2..{MAX_BANDS}") from None
    if not 2 <= n <= MAX_BANDS:
        raise InputError(f"--patch {n}: a band count is 2..{MAX_BANDS}")
    return n


def _apply(program: Program, choice: dict[range, int]) -> tuple[Program, list[Patch], list[int]] | None:
    """The program with each chosen run of calls in its band count (runs of the unpatched program's calls, none
    overlapping), the patches, and for each call of the result the unpatched call it comes from; None when a
    band count does not fit its run."""
    origin = list(range(len(program.calls)))
    patches = []
    for run in sorted(choice, key=lambda r: r.start, reverse=True):  # from the end: earlier runs keep their calls
        done = patch_chain(program, run, choice[run])
        if done is None:
            return None
        program = done[0]
        origin[run.start:run.stop] = [run.start + j for j in done[2]]
        patches.insert(0, done[1])
    return program, patches, origin


def _neighbours(bands: int) -> list[int]:
    """The band counts next to `bands` in BAND_COUNTS (each placement costs seconds on large models)."""
    known = sorted(set(BAND_COUNTS) | {bands})
    k = known.index(bands)
    return [n for n in known[max(k - 1, 0):k + 2] if n != bands]


def _polish(program: Program, choice: dict[range, int], cost, budget: float, io_in_arena: bool):
    """The live-bytes search's choice, then one run's band count changed (or the run dropped) at a time, within
    the budget, where that lowers the planner's arena by more than AUTO_SLACK, or keeps it for less extra work:
    the live bytes miss the overlaps placement finds. Then reorder_readers(). (arena, program, patches, moved)"""
    def arena(c):
        done = _apply(program, c)
        return (_arena(done[0], io_in_arena), done) if done is not None else None

    first = arena(choice)
    at, best, seen = (first[0], sum(cost(r, n) for r, n in choice.items())), first[1], [choice]
    for _ in range(8 * len(choice) + 1):  # each step lowers (arena, extra work); bounded all the same
        trials = [{k: v for k, v in choice.items() if k != run} for run in choice]
        trials += [{**choice, run: n} for run in choice for n in _neighbours(choice[run])]
        steps = []
        for trial in trials:
            costs = [cost(r, n) for r, n in trial.items()]
            if None in costs or sum(costs) > budget or trial in seen:
                continue
            seen.append(trial)
            got = arena(trial)
            if got is not None and (got[0] * (1 + AUTO_SLACK) < at[0] or (got[0] <= at[0] and sum(costs) < at[1])):
                steps.append(((got[0], sum(costs)), trial, got[1]))
        if not steps:
            break
        at, choice, best = min(steps, key=lambda s: s[0])
    patched, moved = reorder_readers(best[0], io_in_arena)
    return _arena(patched, io_in_arena), patched, best[1], moved


def patch_program(program: Program, mode="auto", io_in_arena: bool = False, isa: str = "") -> tuple[Program, PatchReport]:
    """Apply --patch `mode` (see parse_patch) to a lowered program; `isa` (tinyq.kernel_select.board_isa) prices
    the calls bands add.

    Auto, round by round: find the calls where the most bytes are live; for each maximal chain holding one,
    try every run of it through that call in every band count (replacing the chain's earlier choice, so a
    chain may later get more bands), and keep the choice that lowers the live peak most for the least
    extra work, within the budget. It stops when no choice lowers the peak; then reorder_readers() moves
    shortcut convolutions first where that lowers the arena, and _polish() adjusts the band counts by the
    planner's arena. The result is kept only if the planner's arena is lower too."""
    mode = parse_patch(mode)
    macs = _macs(program.calls)
    before = _arena(program, io_in_arena)
    if mode == "off":
        return program, PatchReport((), macs, before, before)

    runs = chains(program)
    if isinstance(mode, int):
        choice = {r: min(mode, _convs(program, r)[-1].output_height) for r in runs}
        choice = {r: n for r, n in choice.items() if n >= 2}
        patched, patches, _ = _apply(program, choice) or (program, [], None)
        return patched, PatchReport(tuple(patches), macs, before, _arena(patched, io_in_arena))
    # the model's work: MACs, and OUTPUT_WORK per value every call writes
    work = macs + OUTPUT_WORK * sum(program.tensor(i).size for c in program.calls for i in c.outputs)
    costs: dict[tuple[range, int], int | None] = {}

    def cost(run: range, n: int) -> int | None:
        if (run, n) not in costs:
            costs[run, n] = extra_work(_convs(program, run), n, isa=isa) if valid_run(program, run) else None
        return costs[run, n]

    def hot(peaks, origin) -> set[int]:  # the unpatched calls at the peak
        return {origin[k] for k in peaks if k < len(origin)}

    choice: dict[range, int] = {}
    state = (program, [], list(range(len(program.calls))))
    live, peaks = _live_peak(program, io_in_arena)
    at_peak = hot(peaks, state[2])
    best = (live, state, choice)
    for _ in range(4 * len(runs) + 1):  # each round lowers (peak, calls at the peak); bounded all the same
        options = []
        for chain in runs:
            peak = min((k for k in at_peak if k in chain), default=None)
            if peak is None:
                continue
            others = {r: n for r, n in choice.items() if not (r.start < chain.stop and chain.start < r.stop)}
            spent = sum(cost(r, n) for r, n in others.items())
            for i in range(chain.start, peak + 1):
                for j in range(max(peak, i + 1), chain.stop):
                    for n in BAND_COUNTS:
                        extra = cost(range(i, j + 1), n)
                        if extra is None or spent + extra > AUTO_BUDGET * work:
                            continue
                        trial = {**others, range(i, j + 1): n}
                        done = _apply(program, trial)
                        if done is not None:
                            top, where = _live_peak(done[0], io_in_arena)
                            options.append((top, hot(where, done[2]), spent + extra, trial, done))
        # lower the peak, or else hold it at fewer calls (two chains at the same peak must both be patched)
        better = [o for o in options if (o[0], len(o[1])) < (live, len(at_peak))]
        if not better:
            break
        lowest = min(o[0] for o in better)
        pool = [o for o in better if o[0] <= lowest * (1 + AUTO_SLACK) and (o[0] < live or lowest == live)]
        live, at_peak, _, choice, state = min(pool, key=lambda o: (o[2], o[0], len(o[1])))
        if live < best[0]:  # the first state at a new low: later ones at the same peak only cost MACs
            best = (live, state, choice)
    after, current, patches, moved = _polish(program, best[2], cost, AUTO_BUDGET * work, io_in_arena)
    if not patches and not moved:
        after = before
    if after >= before:  # placement did not follow the live bytes down: patching would only cost time
        return program, PatchReport((), macs, before, before)
    return current, PatchReport(tuple(patches), macs, before, after, moved)
