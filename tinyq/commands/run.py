"""`tinyq run DIR --input IN.npy|.npz --output OUT.npy|.npz`: run the model on the host or QEMU."""
from __future__ import annotations


def add_parser(sub):
    p = sub.add_parser("run", help="run a built project on the host or QEMU over a batch of inputs")
    p.add_argument("project", help="directory written by `tinyq compile`")
    p.add_argument("--input", "-i", required=True, help=".npy (one input) or .npz keyed by tensor name / input_<k>")
    p.add_argument("--output", "-o", required=True, help=".npy (one output) or .npz (keyed by tensor name)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds before a hung firmware is killed (120)")
    return p


def run(args) -> int:
    from pathlib import Path

    from tinyq.errors import InputError
    from tinyq.io import save_outputs
    from tinyq.targets.manifest import read_manifest
    from tinyq.targets.run import run_project

    manifest = read_manifest(args.project)
    if len(manifest.outputs) > 1 and Path(args.output).suffix != ".npz":
        raise InputError(f"{args.output}: the model has {len(manifest.outputs)} outputs; write an .npz")
    r = run_project(args.project, args.input, timeout=args.timeout)
    save_outputs(args.output, [a.reshape((a.shape[0], *t.shape)) for a, t in zip(r.arrays, manifest.outputs)],
                 manifest.outputs)
    samples = f"{r.samples} sample{'' if r.samples == 1 else 's'}"
    print(f"ran {samples} on {manifest.board} in {r.seconds:.2f} s -> {args.output}")
    return 0
