"""A short coverage-guided run over the reader, lowering, planner and emitter: only TinyqError may escape."""
import pytest

from tinyq.fuzz.atheris_target import available, run_atheris


@pytest.mark.slow
@pytest.mark.skipif(not available(), reason="atheris is not installed (pip install atheris)")
def test_short_atheris_run_finds_only_tinyq_errors(shared_models, tmp_path):
    # a short run seeds with the models that compile in seconds under instrumentation (the larger ones take
    # half a minute each; tests/fuzz/test_campaign.py mutates every model)
    models = sorted(m for m in shared_models.glob("*.tflite") if m.stat().st_size < 120_000)
    result = run_atheris(models, tmp_path, seconds=20, seed=1)
    assert result["executions"] > 0 and result["corpus"] >= len(models)
    assert not result["findings"], result["summary"]
