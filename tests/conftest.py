"""Shared pytest fixtures: where the shared real models live."""
import os
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
