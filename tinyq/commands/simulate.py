"""`tinyq simulate MODEL --input IN.npy --output OUT.npy [--trace DIR]`: the bit-exact NumPy simulator."""
from __future__ import annotations

from tinyq.commands import add_state_option, add_weight_options, weight_options


def add_parser(sub):
    p = sub.add_parser("simulate", help="run a model in the bit-exact NumPy simulator")
    p.add_argument("model", help=".tflite file")
    p.add_argument("--input", "-i", required=True, help=".npy (one input) or .npz (by tensor name or input_0, ...); batch on axis 0")
    p.add_argument("--output", "-o", required=True, help=".npy (one output) or .npz (keyed by tensor name)")
    p.add_argument("--trace", metavar="DIR", help="also save every intermediate tensor as DIR/<call>_<name>.npy")
    add_weight_options(p)
    add_state_option(p)
    return p


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from tinyq.io import output_arrays, output_dir, output_file, save_outputs
    from tinyq.sim.run import as_program, simulate

    output_file(args.output, "--output")
    if args.trace:
        output_dir(args.trace, "--trace")
    program = as_program(args.model, **weight_options(args))
    out_tensors = [program.tensor(i) for i in program.outputs]
    output_arrays(args.output, out_tensors, "--output")
    result = simulate(program, args.input, trace=bool(args.trace), state=args.state)
    save_outputs(args.output, list(result.outputs.values()), out_tensors)
    n = next(iter(result.outputs.values())).shape[0]
    print(f"simulated {n} sample(s) through {len(program.calls)} kernel calls -> {args.output}")
    if args.trace:
        trace_dir = Path(args.trace)
        trace_dir.mkdir(parents=True, exist_ok=True)
        names = {program.tensor(i).name: i for i in (*program.inputs, *(o for c in program.calls for o in c.outputs))}
        for k, (name, arr) in enumerate(result.trace.items()):
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:80]
            np.save(trace_dir / f"{k:03d}_t{names.get(name, 0)}_{safe}.npy", arr)
        print(f"trace: {len(result.trace)} tensors -> {trace_dir}/")
    return 0
