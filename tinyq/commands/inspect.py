"""`tinyq inspect MODEL.tflite`: layers, shapes, quantization and which ops tinyq supports; with --memory-plot,
the memory plan `tinyq compile` makes for the board, drawn as a timeline (tinyq.memory_plot)."""
from __future__ import annotations

from tinyq.commands import add_patch_option, add_weight_options, weight_options


def add_parser(sub):
    p = sub.add_parser("inspect", help="print a model's layers, shapes, quantization and op support")
    p.add_argument("model", help=".tflite file")
    add_weight_options(p)
    p.add_argument("--board", "-b", default=None,
                   help="show the weight encodings `auto` picks for this board's CPU (default: portable C)")
    p.add_argument("--memory-plot", metavar="FILE.png", default=None,
                   help="draw the memory plan compile makes for --board (default host): buffers against time, "
                        "the busiest call marked")
    p.add_argument("--io", choices=("caller", "arena"), default="caller",
                   help="with --memory-plot: plan the inputs and outputs as compile --io would")
    add_patch_option(p)
    return p


def _quant(t) -> str:
    if t is None:
        return "-"
    if t.quant is None:
        return "float" if t.dtype.startswith("float") else "-"
    q = t.quant
    if q.per_channel:
        return f"per-channel x{len(q.scale)} (axis {q.axis})"
    return f"s={q.scale[0]:.6g} zp={q.zero_point[0]}"


def weights_table(program) -> list[str]:
    """Per layer with weights: distinct levels, zeros, the encoding chosen, bytes against int8."""
    from tinyq.encode.apply import weight_report

    layers = weight_report(program)
    if not layers:
        return []
    header = f"{'call':>4}  {'op':<18} {'levels':>6} {'zeros':>6}  {'encoding':<22} {'bytes':>9} {'int8':>9} {'ratio':>6}  layer"
    lines = ["weights", header, "-" * len(header)]
    for w in layers:
        lines.append(f"{w.call:>4}  {w.op:<18} {w.levels:>6} {w.sparsity:>6.1%}  {w.encoding:<22} {w.nbytes:>9,} "
                     f"{w.int8_bytes:>9,} {w.nbytes / w.int8_bytes:>6.2f}  {w.name.split(';')[0][:50]}")
    stored, int8 = sum(w.nbytes for w in layers), sum(w.int8_bytes for w in layers)
    lines.append(f"{'':>4}  {'all':<18} {'':>6} {'':>6}  {'':<22} {stored:>9,} {int8:>9,} {stored / int8:>6.2f}")
    return ["", *lines]


def describe(model, weight_spec: str = "auto", layer_specs=None, isa: str = "portable") -> tuple[str, int]:
    """The report text, and the number of unsupported ops (`isa`: the CPU kind auto's choice is for)."""
    from tinyq.errors import UnsupportedError
    from tinyq.lower import prepare, support_error
    from tinyq.tflite_reader import read_model

    g = read_model(model)
    try:  # the graph lower() sees: ops it folds into constants are marked "folded" (or "unused": they fed those)
        lowered, fold_error = prepare(g), None
    except UnsupportedError as exc:
        lowered, fold_error = g, str(exc)
    kept = {op.index for op in lowered.ops}
    lines = [f"model   {model}", f"sha256  {g.sha256}", f"ops     {len(g.ops)}, tensors {len(g.tensors)}", ""]
    for label, idx in (("input", g.inputs), ("output", g.outputs)):
        for k, i in enumerate(idx):
            t = g.tensors[i]
            lines.append(f"{label} {k}: '{t.name}' {t.dtype}{list(t.shape)} {_quant(t)}")
    lines.append("")
    wide = max([20, *(len(op.opcode) for op in g.ops)])  # RESIZE_NEAREST_NEIGHBOR, UNIDIRECTIONAL_SEQUENCE_LSTM
    header = f"{'#':>3}  {'op':<{wide}} {'output shape':<20} {'quantization':<26} {'weights':<26} {'support':<8} output tensor"
    lines += [header, "-" * len(header)]
    unsupported = 0
    for op in g.ops:
        out = g.tensors[op.outputs[0]] if op.outputs else None
        weights = next((g.tensors[i] for i in op.inputs[1:] if i >= 0 and g.tensors[i].data is not None), None)
        err = support_error(lowered, op) if op.index in kept else None
        unsupported += err is not None
        status = "NO" if err else "yes" if op.index in kept else \
            "folded" if lowered.tensors[op.outputs[0]].is_constant else "unused"
        shape = f"{out.dtype}{list(out.shape)}" if out else "-"
        name = (out.name.split(";")[0] if out else "-")[:60]
        lines.append(
            f"{op.index:>3}  {op.opcode:<{wide}} {shape:<20} {_quant(out):<26} "
            f"{_quant(weights) if weights is not None else '-':<26} {status:<8} {name}"
        )
        if err is not None:
            lines.append(f"{'':>5}^ {err.split(': ', 1)[-1]}")
    if fold_error is not None:
        unsupported += 1
        lines.append(f"constant folding failed: {fold_error}")
    lines.append("")
    if unsupported == 0:
        from tinyq.lower import lower

        lines += weights_table(lower(g, weight_spec, layer_specs, isa))
    lines.append("")
    n_folded = len(g.ops) - len(kept)
    lines.append(
        f"{len(g.ops) - unsupported} of {len(g.ops)} ops supported" + (f" ({n_folded} folded)" if n_folded else "")
        + ("" if unsupported == 0 else f"; tinyq cannot compile this model ({unsupported} unsupported)")
    )
    return "\n".join(lines), unsupported


def run(args) -> int:
    from pathlib import Path

    from tinyq.errors import InputError
    from tinyq.kernel_select import board_isa
    from tinyq.patch import parse_patch

    options = weight_options(args)
    parse_patch(args.patch)  # a bad value fails even without --memory-plot
    isa = "portable"
    if args.board is not None:
        from tinyq.boards import load_board

        isa = board_isa(load_board(args.board))
    if args.memory_plot is not None and not Path(args.memory_plot).parent.is_dir():
        raise InputError(f"--memory-plot {args.memory_plot}: directory {Path(args.memory_plot).parent} does not exist")
    text, unsupported = describe(args.model, options["weights"], options["layers"], isa)
    print(text)
    if args.memory_plot is not None and unsupported == 0:
        _memory_plot(args, options)
    return 1 if unsupported else 0  # 1: tinyq cannot compile this model (the report says why)


def _memory_plot(args, options) -> None:
    import tempfile
    from pathlib import Path

    from tinyq.compiler import compile_model
    from tinyq.memory_plot import plot_memory

    out = Path(args.memory_plot)
    board = args.board or "host"
    with tempfile.TemporaryDirectory() as tmp:
        r = compile_model(args.model, tmp, board=board, project=False, io=args.io, patch=args.patch, **options)
    plot_memory(r.program, r.plan, out, f"{Path(args.model).name} on {board}")
    print(f"memory plot -> {out}  (arena {r.plan.arena_bytes:,} B, I/O {r.plan.io_bytes:,} B, "
          f"{len(r.plan.overlaps)} outputs written over their inputs, "
          f"{len(r.patching.patches) if r.patching else 0} chains in bands)")
