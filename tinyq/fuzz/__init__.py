"""Robustness campaigns: model files are untrusted input.

Seeded mutants of real .tflite models (byte-level and structure-level), each run the way a user runs
tinyq, in crash- and hang-isolated worker processes, against invariants: one-line errors only,
compile refuses what simulate refuses, and what tinyq accepts runs equal to TFLM and to the
sanitized host C. See scripts/fuzz_campaign.py for the command line.

    mutants.py          mutant identity, seeding, the schedule, the mutator registry
    bytes_mutators.py   byte-level mutators
    struct_mutators.py  structure-level mutators (through the official object API)
    schema.py           load / pack a model with tflite-micro's generated schema
    inputs.py           seeded input arrays for a mutant
    host_build.py       the ASan+UBSan host build (kernel library built once)
    stages.py           what a worker runs: tinyq's CLI, TFLM, the host runner
    workers.py          worker processes: timeouts, crash detection, restarts
    invariants.py       stage results -> outcome and violations
    campaign.py         the campaign loop
    report.py           Markdown + JSON report
    atheris_target.py   coverage-guided fuzzing of the reader and lowering
"""
