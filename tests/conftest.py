"""Shared pytest fixtures: where the shared real models live."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MODELS = REPO.parent / "shared" / "models"


@pytest.fixture(scope="session")
def shared_models() -> Path:
    if not SHARED_MODELS.is_dir():
        pytest.fail(f"shared models not found at {SHARED_MODELS} (CI runs with ../shared beside the repo)")
    return SHARED_MODELS
