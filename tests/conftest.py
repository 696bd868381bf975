"""Shared pytest fixtures: where the shared real models live; the session's cache (TF conversions, host C)."""
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the repository (CI), or TINYQ_SHARED_MODELS (a git worktree elsewhere)
SHARED_MODELS = Path(os.environ.get("TINYQ_SHARED_MODELS", REPO.parent / "shared" / "models"))


@pytest.fixture(scope="session")
def shared_models() -> Path:
    if not SHARED_MODELS.is_dir():
        pytest.fail(f"shared models not found at {SHARED_MODELS} (CI runs with ../shared beside the repo)")
    return SHARED_MODELS


def pytest_configure(config):
    """One directory of TF conversions and host-C outputs for the session (tests/session_cache.py), made by
    the first process: xdist workers and the mutants' child runs inherit it through the environment."""
    from tests.session_cache import ENV

    if not os.environ.get(ENV):
        os.environ[ENV] = tempfile.mkdtemp(prefix="tinyq-session-")
        config._tinyq_session_cache = os.environ[ENV]


def pytest_unconfigure(config):
    from tests.session_cache import ENV

    made = getattr(config, "_tinyq_session_cache", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
        del os.environ[ENV]


class _LazyTensorFlow:
    """Imports keras and tensorflow lazily: `import keras` costs nothing until an attribute is used. The mutants'
    child runs (TINYQ_TEST_LAZY_TF) then skip TensorFlow's 10 s import when every conversion is in the session's
    cache; the suite itself imports them as a user's code does."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name not in ("keras", "tensorflow"):
            return None
        sys.meta_path.remove(cls)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, cls)
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


if os.environ.get("TINYQ_TEST_LAZY_TF"):
    sys.meta_path.insert(0, _LazyTensorFlow)
