"""A short coverage-guided run over the reader, lowering, planner and emitter: only TinyqError may escape."""
import pytest

from tinyq.fuzz.atheris_target import available, run_atheris


@pytest.mark.slow
@pytest.mark.skipif(not available(), reason="atheris is not installed (pip install atheris)")
def test_short_atheris_run_finds_only_tinyq_errors(shared_models, tmp_path):
    models = sorted(shared_models.glob("*.tflite"))
    result = run_atheris(models, tmp_path, seconds=20, seed=1)
    assert result["executions"] > 0 and result["corpus"] >= len(models)
    assert not result["findings"], result["summary"]
