"""Helpers the command modules share: argparse types for counts and durations, and the project directory check.

Types raise argparse.ArgumentTypeError, so a bad value is one `tinyq: error: ... argument --x: ...` line.
"""
from __future__ import annotations

import argparse
import math


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None


def add_state_option(p) -> None:
    """--state keep|reset: how a stateful model (SVDF, LSTM) runs the samples of a batch (tinyq.sim.run.run_program)."""
    p.add_argument("--state", choices=("keep", "reset"), default="keep",
                   help="a stateful model (SVDF, LSTM): keep the state from one sample to the next, as consecutive TFLM "
                        "invokes (default), or reset it before every sample")


def positive_int(text: str) -> int:
    value = _int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive_float(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def value_range(values, option: str) -> tuple[float, float]:
    """--image-range LO HI: LO < HI."""
    from tinyq.errors import InputError

    lo, hi = values
    if not lo < hi:
        raise InputError(f"{option} {lo:g} {hi:g}: LO must be below HI")
    return lo, hi


def project_dir(path: str):
    """A directory written by `tinyq compile` (its tinyq.json is read and checked by read_manifest)."""
    from pathlib import Path

    from tinyq.errors import InputError

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such directory (give the directory `tinyq compile --out` wrote)")
    if not p.is_dir():
        raise InputError(f"{p}: not a directory (give the directory `tinyq compile --out` wrote)")
    return p


def add_patch_option(p) -> None:
    p.add_argument("--patch", default="auto", metavar="auto|off|N",
                   help="run chains of convolutions in bands of rows, so that their large inner tensors are live one "
                        "band at a time (tinyq.patch): auto (where it lowers the arena, adding at most 6%% to the estimated "
                        "work of the model; default), off, or N bands on every chain")


def add_weights_layout_option(p) -> None:
    p.add_argument("--weights-layout", default="auto", metavar="auto|int8|int16",
                   help="how the DSP kernels store int8 weights of convolutions and fully connected layers: int16 "
                        "(widened at compile time in the order the inner loop reads them: faster, twice their flash; "
                        "a wide fully connected layer on the M4/M33 also widens its input row, 2 B an element of RAM), "
                        "int8 (the least flash and RAM), or auto (int16 where the image still fits the board's flash, "
                        "else int8; default)")


def add_weight_options(p) -> None:
    """--weights and --layer: how weights are stored (docs/weight_encodings.md)."""
    p.add_argument("--weights", default="auto", type=_encoding_or_auto, metavar="ENCODING",
                   help="weight storage for every layer: auto (default: the smallest exact encoding whose kernel is "
                        "within 15%% of int8's speed; the smallest when int8 does not fit the board), smallest, int8, "
                        "int1..int7, ternary, binary, codebook:B, sparse+E, sparseN:M+E, blockB+E")
    p.add_argument("--layer", action="append", default=[], type=_layer_encoding, metavar="NAME=ENCODING",
                   help="one layer's weight storage (NAME: its output tensor or its call index); repeatable")


def weight_options(args) -> dict:
    return {"weights": args.weights, "layers": dict(args.layer)}


def _encoding_or_auto(text: str) -> str:
    from tinyq.encode import EncodingError, parse_encoding

    if text in ("auto", "smallest"):
        return text
    try:
        return parse_encoding(text)
    except EncodingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _layer_encoding(text: str) -> tuple[str, str]:
    name, sep, encoding = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"'{text}' is not NAME=ENCODING")
    if encoding in ("auto", "smallest"):
        raise argparse.ArgumentTypeError(f"'{text}': give an encoding (auto is --weights' default)")
    return name, _encoding_or_auto(encoding)
