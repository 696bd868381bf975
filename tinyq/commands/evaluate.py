"""`tinyq evaluate`: accuracy (or mean error) of an integer .tflite vs its float model, and SQNR per layer."""

from pathlib import Path

from tinyq.commands import finite_float


def add_parser(subparsers):
    p = subparsers.add_parser(
        "evaluate",
        help="score an integer model against its float model, layer by layer",
        description="Runs the integer model (in tinyq's simulator, or TFLite Micro) and the float model on the same "
        "data. Reports accuracy for classifiers (class-index or one-hot labels), mean absolute error for "
        "regressors (float targets) and autoencoders (no labels). With a Keras --float model, also the SQNR of "
        "every integer tensor against the matching Keras layer output, as a table and a PNG plot.",
    )
    p.add_argument("model", help="integer .tflite model")
    p.add_argument(
        "--data",
        required=True,
        metavar="X.npy",
        help="float input samples: .npy/.npz, or a directory of images or .wav files",
    )
    p.add_argument("--labels", metavar="Y.npy", help="labels or targets (omit for autoencoders)")
    p.add_argument(
        "--float",
        dest="float_model",
        metavar="MODEL.keras",
        help="the float model (.keras/.h5 for the per-layer report, or a SavedModel directory)",
    )
    p.add_argument(
        "--backend",
        choices=("sim", "tflm"),
        default="sim",
        help="run the integer model in tinyq's simulator (default) or TFLite Micro's reference",
    )
    p.add_argument("--plot", metavar="PNG", help="per-layer plot (default: MODEL_layers.png beside the model)")
    p.add_argument("--no-plot", action="store_true", help="do not write the plot")
    p.add_argument(
        "--image-range",
        nargs=2,
        type=finite_float,
        metavar=("LO", "HI"),
        default=(0.0, 1.0),
        help="pixel values of images read from a directory are scaled to [LO, HI] (default: 0 1)",
    )
    return p


def run(args) -> int:
    from tinyq.commands import value_range
    from tinyq.errors import InputError
    from tinyq.io import output_file
    from tinyq.quantize import evaluate

    model = Path(args.model)
    value_range(args.image_range, "--image-range")
    if args.float_model:  # the float model is Keras: load TensorFlow quietly (its C++ log lines)
        from tinyq.quantize.tf_quiet import load_tensorflow

        load_tensorflow()
    plot = None
    if args.float_model and not args.no_plot:
        plot = output_file(args.plot or model.with_name(f"{model.stem}_layers.png"), "--plot")
        if plot.suffix.lower() != ".png":  # matplotlib would pick the format from the suffix, or append .png
            raise InputError(f"--plot {plot}: the plot is a PNG; give a path ending in .png")
    report = evaluate(
        model,
        args.data,
        args.labels,
        float_model=args.float_model,
        backend=args.backend,
        plot=plot,
        image_range=tuple(args.image_range),
    )
    print(report.summary())
    if report.note:
        print(report.note)
    if report.layers:
        print(report.table())
        if plot is not None:
            print(f"wrote {plot}")
    return 0
