"""Campaign records -> the summary (report.json) and a readable report.md.

Counts by mutator kind, seed model and mutator; what tinyq accepted or refused; what TFLM and the
host C did with what it accepted; every violation kind (zero counts too, so a reader sees what was
checked); findings grouped by kind and then by message, one reproducer each; refusal messages by
frequency (first 60 characters, after `tinyq: error: `).
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from tinyq.fuzz.invariants import ERROR_PREFIX, VIOLATIONS, WARNINGS


def _outcomes(records) -> dict:
    c = Counter(r["outcome"] for r in records)
    return {"mutants": len(records), "accepted": c["accepted"], "refused": c["refused"], "mixed": c["mixed"],
            "failed": c["failed"] + c["harness_error"], "with_violations": sum(1 for r in records if r["violations"])}


def _by(records, key) -> dict:
    groups = defaultdict(list)
    for r in records:
        groups[r[key]].append(r)
    return {k: _outcomes(v) for k, v in sorted(groups.items())}


def _signature(detail: str) -> str:
    """What findings of one kind have in common: the message without numbers, indices and quoted names."""
    text = detail.split("; stderr: ", 1)[-1]
    text = text.replace(ERROR_PREFIX, "")
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    return text.strip().splitlines()[0][:80] if text.strip() else ""


def _refusal(message: str) -> str:
    message = message.replace(ERROR_PREFIX, "", 1)
    return message.removeprefix("<model>: ")[:60]


def _findings(records, kinds: dict) -> list[dict]:
    out = []
    for kind, what in kinds.items():
        hits = [(r, v) for r in records for v in r["violations"] + r["warnings"] if v["kind"] == kind]
        if not hits:
            continue
        groups = defaultdict(list)
        for r, v in hits:
            groups[_signature(v["detail"])].append((r, v))
        out.append({
            "kind": kind, "what": what, "mutants": len({r["id"] for r, _ in hits}),
            "by_mutator": dict(Counter(r["mutator"] for r, _ in hits).most_common()),
            "groups": [{"signature": sig, "count": len(g), "reproducer": g[0][0]["finding"], "id": g[0][0]["id"],
                        "stage": g[0][1]["stage"], "detail": g[0][1]["detail"][:600]}
                       for sig, g in sorted(groups.items(), key=lambda kv: -len(kv[1]))],
        })
    return out


def summarize(records: list[dict], cfg, seconds: float, planned: int, stopped_early: bool) -> dict:
    tflm = Counter(r["tflm"]["status"] for r in records if "tflm" in r)
    host_status = Counter(r["host"]["status"] for r in records if "host" in r)
    host_result = Counter(r["host"].get("result") for r in records if r.get("host", {}).get("status") not in (None, "skipped"))
    violations = Counter(v["kind"] for r in records for v in r["violations"])
    refusals = Counter(_refusal(r["simulate"]["message"]) for r in records
                       if r.get("simulate", {}).get("status") == "refused")
    stage_s = defaultdict(list)
    for r in records:
        for stage in ("simulate", "compile", "tflm", "host"):
            if r.get(stage, {}).get("seconds") is not None:
                stage_s[stage].append(r[stage]["seconds"])
    return {
        "config": {"models": [str(p) for p in cfg.models], "per_model": cfg.per_model, "seed": cfg.seed,
                   "workers": cfg.workers, "timeout": cfg.timeout, "samples": cfg.samples, "kinds": list(cfg.kinds),
                   "mutators": cfg.mutators, "replay": cfg.replay, "max_seconds": cfg.max_seconds},
        "seconds": round(seconds, 1), "planned": planned, "ran": len(records), "stopped_early": stopped_early,
        "tinyq": _outcomes(records),
        "by_kind": _by(records, "kind"), "by_model": _by(records, "model"), "by_mutator": _by(records, "mutator"),
        "tflm": {"ran": tflm["equal"] + tflm["mismatch"], "equal": tflm["equal"], "mismatch": tflm["mismatch"],
                 "refused": tflm["refused"], "crashed": tflm["crashed"], "hung": tflm["hung"],
                 "skipped": tflm["skipped"]},
        "host": {"built_and_run": host_status["built"], "deduped": host_status["deduped"],
                 "skipped": host_status["skipped"], "ok": host_result["ok"],
                 "sanitizer_reports": host_result["sanitizer"], "build_failed": host_result["host_build_failed"],
                 "crashed": host_result["host_crash"], "hung": host_result["host_hang"],
                 "mismatch": host_result["host_mismatch"], "cannot_compare": host_status["cannot_compare"]},
        "violations": {k: violations[k] for k in VIOLATIONS},
        "violating_mutants": sum(1 for r in records if r["violations"]),
        "findings": _findings(records, VIOLATIONS),
        "warnings": _findings(records, WARNINGS),
        "refusals": refusals.most_common(),
        "mean_stage_seconds": {k: round(sum(v) / len(v), 3) for k, v in stage_s.items()},
    }


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows]
    return lines + [""]


def _outcome_rows(groups: dict) -> list[list]:
    return [[k, g["mutants"], g["accepted"], g["refused"], g["mixed"], g["failed"], g["with_violations"]]
            for k, g in groups.items()]


def markdown(s: dict) -> str:
    head = ["", "mutants", "accepted", "refused", "mixed", "failed", "with violations"]
    c = s["config"]
    lines = ["# tinyq robustness campaign", "",
             f"{s['ran']} of {s['planned']} mutants in {s['seconds']} s ({'stopped at the time bound' if s['stopped_early'] else 'complete'}); "
             f"seed {c['seed']}, {c['per_model']} per seed model, {len(c['models'])} seed models, {c['workers']} workers, "
             f"timeout {c['timeout']:g} s, {c['samples']} input samples. "
             f"**{s['violating_mutants']} mutants violate an invariant.**", "",
             "## Counts", ""]
    t, h = s["tflm"], s["host"]
    lines += _table(["what", "count"], [
        ["accepted by tinyq (simulate and compile)", s["tinyq"]["accepted"]],
        ["refused by tinyq (both)", s["tinyq"]["refused"]],
        ["mixed (one accepted, one refused)", s["tinyq"]["mixed"]],
        ["failed (crash, hang, exit status not 0/2)", s["tinyq"]["failed"]],
        ["TFLM ran / equal / mismatched", f"{t['ran']} / {t['equal']} / {t['mismatch']}"],
        ["TFLM refused / crashed / hung", f"{t['refused']} / {t['crashed']} / {t['hung']}"],
        ["host C built and run / deduped", f"{h['built_and_run']} / {h['deduped']}"],
        ["host C ok / sanitizer reports / build failed", f"{h['ok']} / {h['sanitizer_reports']} / {h['build_failed']}"],
        ["host C crashed / hung / mismatched", f"{h['crashed']} / {h['hung']} / {h['mismatch']}"],
    ])
    lines += ["## Violations (mutants per kind)", ""]
    lines += _table(["kind", "meaning", "count"], [[k, VIOLATIONS[k], n] for k, n in s["violations"].items()])
    lines += ["## By mutator kind", ""] + _table(head, _outcome_rows(s["by_kind"]))
    lines += ["## By seed model", ""] + _table(head, _outcome_rows(s["by_model"]))
    lines += ["## Findings", ""]
    if not s["findings"]:
        lines += ["None.", ""]
    for f in s["findings"]:
        lines += [f"### {f['kind']}: {f['what']} ({f['mutants']} mutants)", "",
                  "mutators: " + ", ".join(f"{k} {n}" for k, n in f["by_mutator"].items()), ""]
        lines += _table(["count", "message", "reproducer"],
                        [[g["count"], g["signature"], f"`{g['reproducer']}`"] for g in f["groups"][:15]])
        g = f["groups"][0]
        lines += [f"First reproducer `{g['id']}` ({g['stage']}):", "", "```", g["detail"][:600], "```", ""]
    if s["warnings"]:
        lines += ["## Warnings (no invariant broken)", ""]
        for f in s["warnings"]:
            lines += [f"* **{f['kind']}** ({f['what']}): {f['mutants']} mutants, e.g. `{f['groups'][0]['reproducer']}`: "
                      f"{f['groups'][0]['signature']}"]
        lines += [""]
    lines += ["## Refusal messages (simulate, first 60 characters)", ""]
    lines += _table(["count", "message"], [[n, f"`{m}`"] for m, n in s["refusals"]])
    lines += ["## By mutator", ""] + _table(head, _outcome_rows(s["by_mutator"]))
    lines += ["Mean seconds per stage: " + ", ".join(f"{k} {v}" for k, v in s["mean_stage_seconds"].items()), ""]
    return "\n".join(lines)


def write_report(out: Path, summary: dict, records: list[dict]) -> None:
    out = Path(out)
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(summary), encoding="utf-8")
