"""The campaign loop: mutants -> worker stages -> invariants -> records, findings and the report.

One driver thread per worker takes the next (seed model, index) job, makes the mutant, and runs it
through simulate, compile, TFLM (if simulate accepted) and the host C (if both accepted). Jobs are
ordered index-major, so a time-bounded campaign still covers every seed model. Every record goes
to OUT/mutants.jsonl as it is made; every mutant with a violation (or a warning) is saved as
OUT/findings/<id>.tflite with its record and inputs.
"""
from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinyq.fuzz import host_build, invariants
from tinyq.fuzz.mutants import Mutant, make_mutant, nth_mutant, parse_id
from tinyq.fuzz.workers import Worker


@dataclass
class Config:
    models: list[Path]
    out: Path
    per_model: int = 40
    seed: int = 0
    workers: int = 2
    timeout: float = 60.0
    samples: int = 3
    kinds: tuple[str, ...] = ("byte", "struct")
    mutators: list[str] | None = None  # only these (round robin), instead of the mixed schedule
    max_seconds: float | None = None  # stop taking new mutants after this long
    replay: list[str] = field(default_factory=list)  # mutant ids to rerun instead of a schedule
    keep_work: bool = False


def _stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Campaign:
    def __init__(self, cfg: Config, progress: Callable[[str], None] = _stderr_progress):
        self.cfg = cfg
        self.progress = progress
        self.out = Path(cfg.out)
        self.seeds = {p.stem: p.read_bytes() for p in sorted(cfg.models)}
        self.records: list[dict] = []
        self.lock = threading.Lock()
        self.started = 0.0
        self.stopped_early = False

    # ---- the schedule ---------------------------------------------------------------------------------------
    def jobs(self) -> list[tuple]:
        if self.cfg.replay:
            return [("id", i) for i in self.cfg.replay]
        return [("nth", stem, k) for k in range(self.cfg.per_model) for stem in self.seeds]

    def mutant(self, job: tuple) -> Mutant:
        if job[0] == "id":
            model, mutator, index, seed = parse_id(job[1])
            return make_mutant(self.seeds[model], model, mutator, index, seed)
        _, stem, k = job
        return nth_mutant(self.seeds[stem], stem, k, self.cfg.seed, self.cfg.kinds, self.cfg.mutators)

    # ---- running --------------------------------------------------------------------------------------------
    def run(self) -> list[dict]:
        for d in ("findings", "work", "logs", "hostcache"):
            (self.out / d).mkdir(parents=True, exist_ok=True)
        self.objs = [str(o) for o in host_build.build_library(self.out / "lib")]
        jobs = self.jobs()
        self.total = len(jobs)
        queue = iter(jobs)
        self.started = time.monotonic()
        self.last_progress = 0.0
        jsonl = open(self.out / "mutants.jsonl", "w", encoding="utf-8")

        def drive(worker: Worker) -> None:
            try:
                while True:
                    with self.lock:
                        if self.cfg.max_seconds and time.monotonic() - self.started > self.cfg.max_seconds:
                            self.stopped_early = True
                            return
                        job = next(queue, None)
                    if job is None:
                        return
                    record = self.check(worker, job)
                    with self.lock:
                        self.records.append(record)
                        jsonl.write(json.dumps(record) + "\n")
                        jsonl.flush()
                        self._report_progress(record)
            finally:
                worker.close()

        threads = [threading.Thread(target=drive, args=(Worker(f"w{k}", self.out / "logs"),), daemon=True)
                   for k in range(self.cfg.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        jsonl.close()
        self.records.sort(key=lambda r: (r["model"], r["index"], r["mutator"]))
        return self.records

    def _report_progress(self, record: dict) -> None:
        for v in record["violations"]:
            self.progress(f"VIOLATION {record['id']}: {v['kind']} ({v['stage']}): {v['detail'][:160]!r}")
        now = time.monotonic()
        n = len(self.records)
        if now - self.last_progress >= 5 or n == self.total:
            self.last_progress = now
            bad = sum(1 for r in self.records if r["violations"])
            acc = sum(1 for r in self.records if r["outcome"] == "accepted")
            el = now - self.started
            self.progress(f"[{n}/{self.total}] {el:.0f} s, {n / max(el, 1e-9):.1f} mutants/s; accepted {acc}, "
                          f"with violations {bad}")

    # ---- one mutant -----------------------------------------------------------------------------------------
    def check(self, worker: Worker, job: tuple) -> dict:
        t0 = time.monotonic()
        try:
            m = self.mutant(job)
        except Exception as exc:  # a mutator bug: say so, never stop the campaign
            return {"id": str(job), "model": str(job[1]), "mutator": "?", "kind": "?", "index": -1,
                    "seed": self.cfg.seed, "description": "", "bytes": 0, "outcome": "harness_error",
                    "violations": [{"kind": "harness_error", "stage": "mutate", "detail": repr(exc)}],
                    "warnings": [], "finding": None}
        mutate_s = time.monotonic() - t0
        work = self.out / "work" / m.id
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        model = work / "model.tflite"
        model.write_bytes(m.data)
        rec = {"id": m.id, "model": m.model, "mutator": m.mutator, "kind": m.kind, "index": m.index, "seed": m.seed,
               "description": m.description[:1000], "bytes": len(m.data), "seconds": {"mutate": round(mutate_s, 3)}}
        violations, warnings = [], []
        timeout = self.cfg.timeout

        sim_reply = worker.run({"stage": "simulate", "model": str(model), "work": str(work), "seed": self.cfg.seed,
                                "samples": self.cfg.samples, "limit_memory": True}, timeout)
        sim, v, w = invariants.judge_cli("simulate", sim_reply)
        violations += v
        warnings += w
        simr = sim_reply.get("result") or {}
        rec["inputs_fit"] = simr.get("inputs_fit")
        comp_reply = worker.run({"stage": "compile", "model": str(model), "out": str(work / "c"),
                                 "limit_memory": True}, timeout)
        comp, v, w = invariants.judge_cli("compile", comp_reply)
        violations += v
        warnings += w
        violations += invariants.judge_agreement(sim, comp, bool(simr.get("inputs_fit")))
        rec["simulate"], rec["compile"] = sim, comp

        rec["tflm"] = {"status": "skipped"}
        if sim["status"] == "accepted" and simr.get("output_names") is not None:
            reply = worker.run({"stage": "tflm", "model": str(model), "work": str(work), "inputs": simr["inputs"],
                                "input_shapes": simr["input_shapes"], "output_names": simr["output_names"],
                                "limit_memory": True}, timeout)
            rec["tflm"], v = invariants.judge_tflm(reply, simr.get("output"), simr["output_names"])
            violations += v

        rec["host"] = {"status": "skipped"}
        if sim["status"] == "accepted" and comp["status"] == "accepted" and simr.get("output"):
            reply = worker.run({"stage": "host", "project": str(work / "c"), "work": str(work),
                                "inputs": simr["inputs"], "inputs_digest": simr["inputs_digest"],
                                "sim_output": simr["output"], "samples": self.cfg.samples, "objs": self.objs,
                                "cache": str(self.out / "hostcache"), "build_timeout": timeout,
                                "run_timeout": timeout}, 2.5 * timeout)
            rec["host"], v, w = invariants.judge_host(reply)
            violations += v
            warnings += w

        statuses = {sim["status"], comp["status"]}
        rec["outcome"] = statuses.pop() if len(statuses) == 1 else "mixed"
        scrub = _scrubber(work)
        for stage in ("simulate", "compile", "tflm"):
            if rec[stage].get("message"):
                rec[stage]["message"] = scrub(rec[stage]["message"])
        rec["violations"] = [dict(x.to_dict(), detail=scrub(x.detail)) for x in violations]
        rec["warnings"] = [dict(x.to_dict(), detail=scrub(x.detail)) for x in warnings]
        rec["seconds"]["total"] = round(time.monotonic() - t0, 3)
        rec["finding"] = self._save(m, rec, work, simr.get("inputs")) if violations or warnings else None
        if not self.cfg.keep_work:
            shutil.rmtree(work, ignore_errors=True)
        return rec

    def _save(self, m: Mutant, rec: dict, work: Path, inputs: str | None) -> str:
        d = self.out / "findings"
        path = d / f"{m.id}.tflite"
        path.write_bytes(m.data)
        if inputs and Path(inputs).is_file():
            shutil.copy(inputs, d / f"{m.id}.inputs{Path(inputs).suffix}")
            inp = d / f"{m.id}.inputs{Path(inputs).suffix}"
            rec["reproduce"] = [f"tinyq simulate {path} -i {inp} -o /tmp/out.npz",
                                f"tinyq compile {path} --board host --out /tmp/{m.id}",
                                f"python scripts/fuzz_campaign.py --replay {m.id} --out /tmp/replay"]
        (d / f"{m.id}.json").write_text(json.dumps(rec, indent=2) + "\n", encoding="utf-8")
        return str(path)


def _scrubber(work: Path) -> Callable[[str], str]:
    """Messages name the mutant's temporary path; the report groups messages, so say <model> instead."""
    model, work_s = str(work / "model.tflite"), str(work)
    return lambda text: text.replace(model, "<model>").replace(work_s, "<work>")


def run_campaign(cfg: Config, progress: Callable[[str], None] = _stderr_progress) -> dict:
    """Run a campaign and write OUT/report.md and OUT/report.json; returns the report's data."""
    from tinyq.fuzz.report import summarize, write_report

    campaign = Campaign(cfg, progress)
    start = time.monotonic()
    records = campaign.run()
    summary = summarize(records, cfg, time.monotonic() - start, campaign.total, campaign.stopped_early)
    write_report(cfg.out, summary, records)
    return summary
