"""`tinyq bench MODEL --board B [--json FILE]`: exact instructions, estimated cycles and MACs per inference and per
layer, flash and RAM; for a real board, counted on the emulated board of its core, with estimated milliseconds."""
from __future__ import annotations

from tinyq.commands import (add_patch_option, add_state_option, add_weight_options, add_weights_layout_option,
                             weight_options)

import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("bench", help="count instructions (exact) and estimate cycles per inference and per layer on an "
                       "emulated board, or estimate a real board's milliseconds; flash and RAM")
    p.add_argument("model", nargs="+", help=".tflite file; several: bench each level of their multi-level image")
    p.add_argument("--board", "-b", required=True, help="an emulated board, or a real board (counted on the emulated board "
                   "with its core; see `tinyq boards`)")
    p.add_argument("--json", help="write the report as JSON")
    p.add_argument("--work-dir", help="keep the generated project here")
    add_patch_option(p)
    add_weight_options(p)
    add_weights_layout_option(p)
    add_state_option(p)
    return p


def run(args) -> int:
    from tinyq.bench import bench, format_report, save_json
    from tinyq.io import output_dir, output_file

    from tinyq.compiler import check_weights_layout

    check_weights_layout(args.weights_layout)  # a bad value fails before any stage
    if args.json:
        output_file(args.json, "--json")
    if args.work_dir:
        output_dir(args.work_dir, "--work-dir")
    progress = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    if len(args.model) > 1:
        from tinyq.errors import InputError
        from tinyq.levels.bench import bench_levels
        from tinyq.levels.bench import format_report, save_json  # noqa: F811

        options = weight_options(args)
        if options.get("layers"):
            raise InputError("--layer names a layer of one model: with several levels use --weights")
        if args.patch not in ("auto", "off"):
            raise InputError(f"--patch {args.patch}: one model only (precision levels run unpatched)")
        if args.weights_layout == "int16":
            raise InputError("--weights-layout int16: one model only (precision levels keep int8 weights)")
        report = bench_levels(args.model, args.board, args.work_dir, progress=progress, weights=options["weights"])
    else:
        report = bench(args.model[0], args.board, args.work_dir, progress=progress, patch=args.patch,
                       state=args.state, weights_layout=args.weights_layout, **weight_options(args))
    print(format_report(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        save_json(report, args.json)
    return 0
