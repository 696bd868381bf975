"""`tinyq quantize`: a float Keras model or SavedModel -> a fully-integer .tflite (PTQ, QAT or ADMM; int8, low-bit,
sparse and mixed-precision layers); or, with --nested-from, an int8 .tflite -> its nested K-bit child."""

import sys
from pathlib import Path

from tinyq.commands import finite_float, nonnegative_int, positive_float, positive_int


def add_parser(subparsers):
    p = subparsers.add_parser(
        "quantize",
        help="quantize a Keras model or SavedModel to a fully-integer .tflite",
        description="Post-training full-integer quantization with a calibration set (default), or fine-tuning with "
        "--method qat / admm. Weights are int8 per channel unless --weights / --layer give k-bit, ternary, binary, "
        "codebook or power-of-two levels (stored in int8 containers, so TFLM runs the result) and --sparsity prunes "
        "them; activations int8, or int16 (--activations int16, or SPEC/int16 for one layer). The model's inputs "
        "and outputs are integer unless --io float32. With --nested-from PARENT.tflite instead of a model: a child whose "
        "weights are the top K bits of the int8 parent's (--weights intK, default int4).",
    )
    p.add_argument("model", nargs="?", help=".keras/.h5 file or SavedModel directory (not with --nested-from)")
    p.add_argument("--nested-from", metavar="PARENT.tflite",
                   help="make a nested child of this int8 .tflite: every weight op keeps the top K bits of the "
                   "parent's weights (--weights intK, K = 1..7, default int4); --calibration adds bias correction")
    p.add_argument(
        "--calibration",
        metavar="DATA",
        help="calibration samples: .npy/.npz, or a directory of images or .wav files (required for --method ptq; "
        "qat and admm default to the training data)",
    )
    p.add_argument(
        "--out",
        "-o",
        metavar="OUT.tflite",
        help="output file (default: MODEL_<activations>.tflite, or MODEL_qat.tflite, beside the model)",
    )
    p.add_argument("--activations", choices=("int8", "int16"), default=None, help="activation type (default: int8)")
    p.add_argument(
        "--io",
        choices=("int8", "int16", "float32", "uint8"),
        help="input/output type (default: the activation type; float32 adds QUANTIZE/DEQUANTIZE at the edges; "
             "uint8, with int8 activations, QUANTIZE uint8 <-> int8, e.g. for camera pixels)",
    )
    p.add_argument(
        "--image-range",
        nargs=2,
        type=finite_float,
        metavar=("LO", "HI"),
        default=(0.0, 1.0),
        help="pixel values of images read from a directory are scaled to [LO, HI] (default: 0 1)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    low = p.add_argument_group("weights (docs/quantization.md)")
    low.add_argument("--weights", metavar="SPEC", default=None,
                     help="every layer with weights: int8, int7 ... int2, ternary, binary, codebook:K or po2, "
                     "optionally /int16 for 16-bit activations (default: int8; with --nested-from: int1 ... int7, "
                     "default int4)")
    low.add_argument("--layer", metavar="NAME=SPEC", action="append", default=[],
                     help="one Keras layer's spec, e.g. dense_1=int4/int16 (repeatable)")
    low.add_argument("--sparsity", metavar="S",
                     help="fraction of zeros by magnitude pruning (0.75 or 75%%), or N:M structured (2:4)")
    qat = p.add_argument_group("training (--method qat | admm)")
    qat.add_argument("--method", choices=("ptq", "qat", "admm"), default=None,
                     help="ptq: calibrated rounding (default); qat: fake-quantized fine-tuning with a straight-through "
                     "estimator (int8 everywhere: tensorflow-model-optimization); admm: ADMM fine-tuning")
    qat.add_argument("--qat", action="store_true", help="same as --method qat")
    qat.add_argument("--train", metavar="X.npy", help="training samples (same formats as --calibration)")
    qat.add_argument("--labels", metavar="Y.npy", help="training labels: class indices, one-hot rows or float targets")
    qat.add_argument("--epochs", type=positive_int, default=5, help="fine-tuning epochs (default: 5)")
    qat.add_argument("--batch-size", type=positive_int, default=32, help="(default: 32)")
    qat.add_argument("--learning-rate", type=positive_float, default=None,
                     help="Adam learning rate (default: 1e-4 for int8 QAT, 1e-3 for low-bit and pruned layers)")
    qat.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default: 0)")
    return p


def _load_tensorflow(args) -> None:
    """TensorFlow's import takes seconds and prints C++ log lines: say what is happening, and keep it quiet."""
    from tinyq.quantize.tf_quiet import load_tensorflow

    load_tensorflow(None if args.no_progress else lambda s: print(f"tinyq: {s}", file=sys.stderr, flush=True))


def run(args) -> int:
    from tinyq.commands import value_range
    from tinyq.errors import InputError
    from tinyq.io import output_file
    from tinyq.quantize import quantize

    value_range(args.image_range, "--image-range")
    if args.nested_from is not None or args.model is None:
        return _run_nested(args)
    model = Path(args.model)
    args.weights = "int8" if args.weights is None else args.weights
    args.activations = args.activations or "int8"
    method = args.method or ("qat" if args.qat else "ptq")
    if args.qat and method != "qat":
        raise InputError(f"--qat and --method {method} disagree; give one of them")
    if method != "ptq" and (not args.train or not args.labels):
        raise InputError(f"{'--qat' if args.qat else '--method ' + method} needs --train X.npy and --labels Y.npy")
    if method == "ptq" and not args.calibration:
        raise InputError("quantize needs --calibration DATA (or --method qat with --train and --labels)")
    default = f"{model.stem}_{method if method != 'ptq' else args.activations}.tflite"
    out = output_file(args.out or model.with_name(default), "--out")
    _load_tensorflow(args)
    result = quantize(
        model,
        args.calibration,
        out,
        activations=args.activations,
        io=args.io,
        weights=args.weights,
        layers=args.layer,
        sparsity=args.sparsity,
        method=method,
        train=args.train,
        labels=args.labels,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        progress=not args.no_progress,
        image_range=tuple(args.image_range),
    )
    for layer in result.layers:
        print(f"  {layer.layer:<24} {layer.spec:<22} {layer.levels:>4} levels {layer.zeros:>6.1%} zeros  "
              f"weight error {layer.error:.3f}")
    how = (f"{method.upper()}, {args.epochs} epochs on {result.samples} samples" if method != "ptq"
           else f"PTQ, {result.samples} calibration samples")
    print(
        f"wrote {out} ({result.size:,} bytes; {result.activations} activations, {result.io} I/O; "
        f"weights {result.config}; {how}; {result.seconds:.2f} s)"
    )
    return 0


# Options that shape a float model's quantization: a nested child takes everything but its bit width from the parent
_NOT_NESTED = (("layer", "--layer"), ("sparsity", "--sparsity"), ("method", "--method"), ("qat", "--qat"),
               ("activations", "--activations"), ("io", "--io"), ("train", "--train"), ("labels", "--labels"))


def _run_nested(args) -> int:
    import re

    from tinyq.errors import InputError
    from tinyq.io import output_file
    from tinyq.quantize.nested import nest

    if args.nested_from is None:
        raise InputError("quantize needs a Keras MODEL, or --nested-from PARENT.tflite")
    if args.model is not None:
        raise InputError(f"give a Keras MODEL ('{args.model}') or --nested-from PARENT.tflite, not both")
    for attr, option in _NOT_NESTED:
        if getattr(args, attr):
            raise InputError(f"{option} does not apply with --nested-from (the child keeps the parent's "
                             f"quantization; only --weights intK, --calibration and --out do)")
    match = re.fullmatch(r"int([1-7])", "int4" if args.weights is None else args.weights)
    if match is None:
        raise InputError(f"--weights {args.weights} with --nested-from: a nested child takes int1 ... int7 "
                         f"(the top K bits of the int8 parent)")
    bits = int(match.group(1))
    parent = Path(args.nested_from)  # nest() reads it with the model reader, which names what is wrong
    out = output_file(args.out or parent.with_name(f"{parent.stem}_nested_int{bits}.tflite"), "--out")
    result = nest(parent, out, bits, calibration=args.calibration, image_range=tuple(args.image_range))
    for op in result.ops:
        print(f"  #{op.index:<3} {op.opcode:<18} int{op.bits}  weight error {op.error:.3f}  {op.output}")
    for op in result.skipped:
        print(f"  #{op.index:<3} {op.opcode:<18} kept as it is ({op.reason})  {op.output}")
    how = (f"bias correction on {result.calibration_samples} calibration samples" if result.calibration_samples
           else "no bias correction")
    print(f"wrote {out} ({len(result.tflite):,} bytes; int{bits} nested child of {parent}, {len(result.ops)} "
          f"weight ops; {how})")
    return 0
