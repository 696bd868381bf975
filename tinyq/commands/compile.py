"""`tinyq compile MODEL --board BOARD --out DIR [--prefix NAME]`: generate the C sources and project."""
from __future__ import annotations

from tinyq.commands import add_patch_option, add_weight_options, add_weights_layout_option, weight_options


def add_parser(sub):
    p = sub.add_parser("compile", help="lower a .tflite model to C sources (and a project for the board)",
                       description="Several models make one image with a precision level per model (0, 1, ... in "
                       "the order given), switched at run time with <prefix>_set_level() (docs/levels.md).")
    p.add_argument("model", nargs="+", help=".tflite file; several: one level each")
    p.add_argument("--board", "-b", default="host", help="target board (see `tinyq boards`); default host")
    p.add_argument("--out", "-o", required=True, help="output directory")
    p.add_argument("--prefix", default="model", help="C symbol prefix (default: model)")
    p.add_argument("--io", choices=("caller", "arena"), default="caller",
                   help="where the inputs and outputs live: caller (buffers you pass to invoke; default) or arena "
                        "(inside the arena, planned with the other tensors: less RAM; the input may be "
                        "overwritten by the time invoke returns)")
    add_patch_option(p)
    add_weight_options(p)
    add_weights_layout_option(p)
    return p


def run(args) -> int:
    from tinyq.compiler import compile_model
    from tinyq.io import output_dir

    output_dir(args.out, "--out")
    models = args.model if len(args.model) > 1 else args.model[0]
    r = compile_model(models, args.out, board=args.board, prefix=args.prefix, io=args.io, patch=args.patch,
                      weights_layout=args.weights_layout, **weight_options(args))
    if len(args.model) > 1:
        return _report_levels(args, r)
    print(f"compiled {args.model[0]} for {args.board}: {len(r.program.calls)} kernel calls -> {r.out_dir}/")
    if r.note:
        print(f"  note: {r.note}")
    from tinyq.encode.apply import weight_report

    layers = weight_report(r.program)
    int8 = r.plan.weight_bytes + sum(w.int8_bytes - w.nbytes for w in layers)
    encoded = sum(w.encoding != "int8" for w in layers)
    ratio = f"{r.plan.weight_bytes / int8:.2f}x " if int8 else ""
    print(f"  weights {r.plan.weight_bytes:>9,} B  (flash; {ratio}the int8 build's {int8:,} B, "
          f"{encoded} of {len(layers)} weight tensors encoded)")
    from tinyq.compiler import widened_layers

    wide = widened_layers(r.program)
    if wide:
        print(f"  layout  {sum(b for _, b in wide):>9,} B  (flash of int16 weights beyond int8, --weights-layout: "
              f"calls {', '.join(str(k) for k, _ in wide)})")
    print(f"  arena   {r.plan.arena_bytes:>9,} B  (RAM; largest scratch {r.plan.scratch_bytes:,} B)")
    for line in r.patching.describe() if r.patching else ():
        print(f"  patch   {line}")
    print(f"  I/O     {r.plan.io_bytes:>9,} B  " + ("(inside the arena: --io arena)" if r.plan.io_in_arena
                                                       else "(caller-owned buffers)"))
    if r.plan.state_bytes:
        print(f"  state   {r.plan.state_bytes:>9,} B  (RAM kept across invokes: {len(r.plan.states)} SVDF or LSTM "
              f"state tensor(s))")
    peak = r.plan.arena_bytes + r.plan.io_bytes + r.plan.state_bytes
    print(f"  peak    {peak:>9,} B  (data RAM: arena + I/O{' + state' if r.plan.state_bytes else ''}, plus the stack "
          f"one invoke uses, which `tinyq bench` measures)")
    return 0


def _report_levels(args, r) -> int:
    from tinyq.compiler import stored_bytes

    programs = [lv.program for lv in r.levels]
    added, added_w = stored_bytes(programs), stored_bytes(programs, weight_tensors=True)
    print(f"compiled {len(r.levels)} levels for {args.board} into one image -> {r.out_dir}/")
    for lv, plan, add, add_w in zip(r.levels, r.plans, added, added_w):
        nested = f", nested in level {lv.parent}" if lv.parent is not None else ""
        print(f"  level {lv.index}: {lv.name}: {len(lv.program.calls)} kernel calls, reads {lv.program.weight_bytes:,} B "
              f"of constants, adds {add:,} B ({add_w:,} B of weight tensors){nested}; arena {plan.arena_bytes:,} B")
    if r.note:
        print(f"  note: {r.note}")
    print(f"  weights {r.plan.weight_bytes:>9,} B  (flash; stored once where levels share them)")
    print(f"  arena   {r.plan.arena_bytes:>9,} B  (RAM; the largest level's)")
    print(f"  I/O     {r.plan.io_bytes:>9,} B  (caller-owned buffers)")
    print(f"  peak    {r.plan.arena_bytes + r.plan.io_bytes:>9,} B  (data RAM: arena + I/O, plus the stack one invoke "
          f"uses, which `tinyq bench` measures)")
    return 0
