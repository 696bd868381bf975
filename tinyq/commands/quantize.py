"""`tinyq quantize`: a float Keras model or SavedModel -> a fully-integer .tflite (PTQ, or QAT with --qat)."""

from pathlib import Path

from tinyq.commands import finite_float, nonnegative_int, positive_float, positive_int


def add_parser(subparsers):
    p = subparsers.add_parser(
        "quantize",
        help="quantize a Keras model or SavedModel to a fully-integer .tflite",
        description="Post-training full-integer quantization with a calibration set (default), or quantization-"
        "aware training with --qat. Weights are int8 (per channel); activations int8, or int16 with "
        "--activations int16 (16x8 mode). The model's inputs and outputs are integer unless --io float32.",
    )
    p.add_argument("model", help=".keras/.h5 file or SavedModel directory")
    p.add_argument(
        "--calibration",
        metavar="DATA",
        help="calibration samples: .npy/.npz, or a directory of images or .wav files (required without --qat)",
    )
    p.add_argument(
        "--out",
        "-o",
        metavar="OUT.tflite",
        help="output file (default: MODEL_<activations>.tflite, or MODEL_qat.tflite, beside the model)",
    )
    p.add_argument("--activations", choices=("int8", "int16"), default="int8", help="activation type (default: int8)")
    p.add_argument(
        "--io",
        choices=("int8", "int16", "float32"),
        help="input/output type (default: the activation type; float32 adds QUANTIZE/DEQUANTIZE at the edges)",
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
    qat = p.add_argument_group("quantization-aware training (tensorflow-model-optimization)")
    qat.add_argument("--qat", action="store_true", help="fine-tune with fake quantization, then convert")
    qat.add_argument("--train", metavar="X.npy", help="training samples (same formats as --calibration)")
    qat.add_argument("--labels", metavar="Y.npy", help="training labels: class indices, one-hot rows or float targets")
    qat.add_argument("--epochs", type=positive_int, default=5, help="fine-tuning epochs (default: 5)")
    qat.add_argument("--batch-size", type=positive_int, default=32, help="(default: 32)")
    qat.add_argument("--learning-rate", type=positive_float, default=1e-4, help="Adam learning rate (default: 1e-4)")
    qat.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default: 0)")
    return p


def run(args) -> int:
    from tinyq.commands import value_range
    from tinyq.errors import InputError
    from tinyq.io import output_file
    from tinyq.quantize import qat, quantize

    model = Path(args.model)
    value_range(args.image_range, "--image-range")
    if args.qat:
        if not args.train or not args.labels:
            raise InputError("--qat needs --train X.npy and --labels Y.npy")
        if args.activations != "int8":
            raise InputError("--qat makes int8 activations only (tfmot has no 16x8 scheme); drop --activations int16")
        out = output_file(args.out or model.with_name(f"{model.stem}_qat.tflite"), "--out")
        result = qat(
            model,
            args.train,
            args.labels,
            out,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            calibration=args.calibration,
            io=args.io,
            seed=args.seed,
            progress=not args.no_progress,
            image_range=tuple(args.image_range),
        )
        how = f"QAT, {args.epochs} epochs on {result.samples} samples"
    else:
        if not args.calibration:
            raise InputError("quantize needs --calibration DATA (or --qat with --train and --labels)")
        out = output_file(args.out or model.with_name(f"{model.stem}_{args.activations}.tflite"), "--out")
        result = quantize(
            model,
            args.calibration,
            out,
            activations=args.activations,
            io=args.io,
            progress=not args.no_progress,
            image_range=tuple(args.image_range),
        )
        how = f"PTQ, {result.samples} calibration samples"
    print(
        f"wrote {out} ({result.size:,} bytes; {result.activations} activations, {result.io} I/O; "
        f"{how}; {result.seconds:.2f} s)"
    )
    return 0
