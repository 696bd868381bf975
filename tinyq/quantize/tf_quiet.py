"""TensorFlow without its log noise: its C++ runtime prints absl lines on stderr ("oneDNN custom operations are
on", "This TensorFlow binary is optimized ...") when it loads and when the converter runs, before
TF_CPP_MIN_LOG_LEVEL is read. The file descriptor is captured around those steps and every line that is not
such a log line is written back, so real errors still reach the user."""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

# absl's prefix (severity I/W/E, date, time), its "before InitializeLog" banner, and the CPU-feature hint's tail
_NOISE = re.compile(r"^([IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] |WARNING: All log messages before absl::InitializeLog"
                    r"|To enable the following instructions:)")


@contextlib.contextmanager
def quiet_stderr():
    """Capture file descriptor 2 (C++ writes too) for the block; write back what is not TensorFlow's log noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True)
                    if not _NOISE.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def require(*modules: str) -> None:
    """ModuleNotFoundError for the first of `modules` that is not installed (the CLI names its extra), before
    anything slow is imported."""
    import importlib.util

    for name in modules:
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)


def load_tensorflow(progress=None) -> None:
    """Import TensorFlow and Keras once, quietly, saying so first (the import takes several seconds)."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return
    require("tensorflow", "keras")  # not installed: say so (the CLI names the extra) before "loading"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if progress is not None:
        progress("loading TensorFlow (a few seconds) ...")
    with quiet_stderr():
        import keras  # noqa: F401
        import tensorflow

        # The full `tensorflow` wheel (the qat extra) probes CUDA at first device use and logs its failure: here.
        tensorflow.config.list_physical_devices()
