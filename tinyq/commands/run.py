"""`tinyq run DIR --input IN.npy|.npz --output OUT.npy|.npz`: run the model on the host, QEMU or a real board."""
from __future__ import annotations

from tinyq.commands import add_state_option, nonnegative_int, positive_float


def add_parser(sub):
    p = sub.add_parser("run", help="run a built project on the host, QEMU or a flashed real board over a batch of inputs")
    p.add_argument("project", help="directory written by `tinyq compile`")
    p.add_argument("--input", "-i", required=True, help=".npy (one input) or .npz keyed by tensor name / input_<k>")
    p.add_argument("--output", "-o", required=True, help=".npy (one output) or .npz (keyed by tensor name)")
    p.add_argument("--level", "-l", type=nonnegative_int,
                   help="the precision level to run, of a project compiled from several models (default 0)")
    p.add_argument("--timeout", type=positive_float, default=120.0,
                   help="seconds before a hung firmware is killed (120; on a real board, per sample)")
    p.add_argument("--port", help="real boards: the serial port of the flashed board (default: its USB virtual COM "
                                  "port, found by vendor id), or a pyserial URL such as socket://host:port")
    add_state_option(p)
    return p


def run(args) -> int:
    from tinyq.commands import project_dir
    from tinyq.io import output_arrays, output_file, save_outputs
    from tinyq.targets.manifest import read_manifest
    from tinyq.targets.run import run_project

    output_file(args.output, "--output")
    from tinyq.errors import InputError
    from tinyq.targets.manifest import ManifestError

    manifest = read_manifest(project_dir(args.project))
    try:
        spec = manifest.level(args.level)
    except ManifestError as exc:
        raise InputError(f"--level {args.level}: {exc}") from None
    output_arrays(args.output, spec.outputs, "--output")
    r = run_project(args.project, args.input, timeout=args.timeout, level=args.level, port=args.port, state=args.state)
    save_outputs(args.output, [a.reshape((a.shape[0], *t.shape)) for a, t in zip(r.arrays, spec.outputs)],
                 spec.outputs)
    samples = f"{r.samples} sample{'' if r.samples == 1 else 's'}"
    at = f" at level {args.level} ({spec.model})" if manifest.levels else ""
    print(f"ran {samples}{at} on {manifest.board} in {r.seconds:.2f} s -> {args.output}")
    return 0
