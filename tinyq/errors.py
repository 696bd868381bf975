"""Error types: every failure a user can cause is a TinyqError with one line that names what and where.

The CLI prints `tinyq: error: <message>` and exits with status 2 for these; anything else is a bug.
"""


class TinyqError(Exception):
    """Base class: a user-facing error with a one-line message."""


class ModelFormatError(TinyqError):
    """The .tflite file is missing, truncated, corrupt or not a TFLite flatbuffer."""


class UnsupportedError(TinyqError):
    """The model uses an op, dtype, shape or parameter tinyq does not support."""


class InputError(TinyqError):
    """Input data (.npy/.npz, calibration set, labels) does not fit the model."""


class PlanError(TinyqError):
    """The memory plan is invalid or the model does not fit the board."""


class DoesNotFit(PlanError):
    """The model needs more flash, weight region or RAM than the board has (`exceeded` names which)."""

    def __init__(self, message: str, exceeded: tuple[str, ...]):
        super().__init__(message)
        self.exceeded = exceeded


class BuildError(TinyqError):
    """Compiling or linking the generated C failed."""


class RunError(TinyqError):
    """Running the compiled model failed (crash, fault, timeout, no probe)."""


class QuantizationError(TinyqError):
    """Converting a float model to an integer TFLite model failed."""


class MismatchError(TinyqError):
    """Two implementations that must agree bit for bit did not."""
