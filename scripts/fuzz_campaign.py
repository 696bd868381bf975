#!/usr/bin/env python3
"""Robustness campaign against tinyq: seeded mutants of the shared models, checked against invariants.

    .venv/bin/python scripts/fuzz_campaign.py --out /tmp/fuzz-run1 --per-model 120 --seed 1
    .venv/bin/python scripts/fuzz_campaign.py --out /tmp/replay --replay MUTANT_ID [MUTANT_ID ...]
    .venv/bin/python scripts/fuzz_campaign.py --out /tmp/fz --per-model 0 --atheris 600

Writes OUT/report.md, OUT/report.json, OUT/mutants.jsonl and OUT/findings/<id>.{tflite,json,inputs.*};
progress on stderr. Exit status 1 when any invariant was violated, else 0.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_MODELS = REPO.parent / "shared" / "models"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="output directory (created)")
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="directory of seed .tflite models")
    p.add_argument("--per-model", type=int, default=40, help="mutants per seed model (index 0 is the unmutated model)")
    p.add_argument("--seed", type=int, default=0, help="campaign seed")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per stage before it counts as a hang")
    p.add_argument("--samples", type=int, default=3, help="random input samples per mutant")
    p.add_argument("--kinds", default="byte,struct", help="mutator kinds: byte,struct")
    p.add_argument("--mutators", help="comma-separated mutator names only (round robin)")
    p.add_argument("--max-seconds", type=float, help="stop starting new mutants after this long")
    p.add_argument("--replay", nargs="+", default=[], metavar="ID", help="rerun these mutant ids only")
    p.add_argument("--keep-work", action="store_true", help="keep OUT/work/<id> of every mutant")
    p.add_argument("--atheris", type=float, metavar="SECONDS", help="also fuzz the reader and lowering with atheris")
    args = p.parse_args(argv)

    from tinyq.fuzz.campaign import Config, run_campaign

    models = sorted(args.models.glob("*.tflite"))
    if not models:
        p.error(f"no .tflite files in {args.models}")
    status = 0
    if args.per_model > 0 or args.replay:
        cfg = Config(models=models, out=args.out, per_model=args.per_model, seed=args.seed, workers=args.workers,
                     timeout=args.timeout, samples=args.samples, kinds=tuple(args.kinds.split(",")),
                     mutators=args.mutators.split(",") if args.mutators else None, max_seconds=args.max_seconds,
                     replay=args.replay, keep_work=args.keep_work)
        summary = run_campaign(cfg)
        print(f"{summary['ran']} mutants, {summary['violating_mutants']} with violations: "
              + ", ".join(f"{k} {n}" for k, n in summary["violations"].items() if n), file=sys.stderr)
        print(f"report: {args.out / 'report.md'}", file=sys.stderr)
        status = 1 if summary["violating_mutants"] else 0
    if args.atheris:
        from tinyq.fuzz.atheris_target import run_atheris

        result = run_atheris(models, args.out / "atheris", args.atheris)
        print(f"atheris: {result['summary']}", file=sys.stderr)
        status = status or (1 if result.get("findings") else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
