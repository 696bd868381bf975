"""`tinyq verify MODEL --board B [--samples N] [--input IN.npy] [--json FILE]`."""
from __future__ import annotations

import sys
from pathlib import Path

from tinyq.commands import add_state_option, add_weight_options, weight_options, nonnegative_int


def add_parser(sub):
    p = sub.add_parser("verify", help="prove TFLM runtime = simulator = host C = firmware, bit for bit")
    p.add_argument("model", nargs="+", help=".tflite file; several: verify every level of their multi-level image")
    p.add_argument("--board", "-b", default="host",
                   help="host (default), an emulated board, or a real board (flashed, then run over its serial port)")
    p.add_argument("--port", help="real boards: the board's serial port (default: found by USB vendor id) or a "
                                  "pyserial URL such as socket://host:port")
    p.add_argument("--no-flash", action="store_true",
                   help="real boards: the board already runs this model's firmware (its TINYQ_READY line is checked)")
    p.add_argument("--samples", "-n", type=nonnegative_int, default=20, help="seeded random inputs (default 20)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--input", "-i", help="also verify on these inputs (.npy/.npz, batch on axis 0)")
    p.add_argument("--json", help="write the report as JSON")
    p.add_argument("--work-dir", help="keep the generated projects here (default: a temporary directory)")
    add_weight_options(p)
    add_state_option(p)
    return p


def run(args) -> int:
    from tinyq.io import output_dir, output_file
    from tinyq.verify import format_report, save_json, verify

    if args.json:
        output_file(args.json, "--json")
    if args.work_dir:
        output_dir(args.work_dir, "--work-dir")
    progress = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    if len(args.model) > 1:
        from tinyq.levels.verify import format_report, verify_levels

        options = weight_options(args)
        if options.get("layers"):
            from tinyq.errors import InputError

            raise InputError("--layer names a layer of one model: with several levels use --weights")
        report = verify_levels(args.model, args.board, args.samples, args.input, args.seed, args.work_dir,
                               progress=progress, weights=options["weights"])
    else:
        report = verify(args.model[0], args.board, args.samples, args.input, args.seed, args.work_dir,
                        progress=progress, port=args.port, flash=not args.no_flash, state=args.state,
                        **weight_options(args))
    print(format_report(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        save_json(report, args.json)
    return 0 if report.ok else 1
