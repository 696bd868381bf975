"""A bounded, seeded robustness campaign over every shared model: no invariant may be violated.

12 mutants per seed model (byte and structure mutators mixed, index 0 the unmutated model), two
worker processes, stopped after 75 s of wall time so it stays within ~2 minutes even beside
another test worker. Every mutant is reproducible from its id (see scripts/fuzz_campaign.py --replay).
"""
import pytest

from tinyq.fuzz.campaign import Config, run_campaign
from tinyq.fuzz.report import markdown

PER_MODEL = 12
MAX_SECONDS = 75


@pytest.mark.slow
def test_bounded_campaign_finds_no_violation(shared_models, tmp_path):
    models = sorted(shared_models.glob("*.tflite"))
    cfg = Config(models=models, out=tmp_path, per_model=PER_MODEL, seed=2026, workers=2, timeout=60,
                 samples=3, max_seconds=MAX_SECONDS)
    s = run_campaign(cfg, progress=lambda line: None)
    report = markdown(s)
    print(report.split("## Violations")[0])  # the counts table
    assert s["ran"] >= 10 * len(models), f"only {s['ran']} mutants ran within {MAX_SECONDS} s"
    assert s["by_kind"]["control"]["mutants"] == len(models)
    assert s["by_kind"]["byte"]["mutants"] > 0 and s["by_kind"]["struct"]["mutants"] > 0
    assert s["tflm"]["equal"] > 0 and s["host"]["ok"] > 0, "the accepted controls must run everywhere"
    findings = "\n".join(f"{f['kind']} ({f['mutants']}): {g['signature']} -> {g['reproducer']}"
                         for f in s["findings"] for g in f["groups"][:3])
    assert s["violating_mutants"] == 0, f"{s['violating_mutants']} mutants violate invariants:\n{findings}"
