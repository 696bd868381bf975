"""The campaign's invariants: worker replies -> a status and the violations they show.

tinyq's CLI: exit status 0 or 2; on 2, stderr is exactly one line beginning `tinyq: error: `; never
`internal error`, a traceback, a crash or a hang; compile refuses exactly what simulate refuses.
What tinyq accepts: TFLM runs it (else "accepted what TFLM refuses"), with outputs equal to the
simulator's (values and dtype); the generated C builds with ASan+UBSan, runs clean and writes the
simulator's bytes. Warnings are worth a look but break no invariant (e.g. stderr text on success).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from tinyq.fuzz.inputs import read_outputs

VIOLATIONS = {
    "crash": "tinyq crashed (signal or abnormal exit)",
    "hang": "tinyq did not finish within the timeout",
    "traceback": "a Python traceback reached the user",
    "internal_error": "tinyq reported an internal error",
    "bad_exit_status": "exit status other than 0 or 2",
    "multi_line_error": "exit 2, but stderr is not exactly one `tinyq: error: ` line",
    "compile_vs_simulate": "compile and simulate disagree on whether the model is refused",
    "tflm_refuses": "tinyq accepted what TFLM refuses (or crashes or hangs on)",
    "tflm_mismatch": "TFLM and the simulator differ",
    "output_lost": "the simulator's output file has no array for one of the model's outputs",
    "host_build_failed": "the generated C does not build (host flags + ASan/UBSan)",
    "sanitizer": "ASan/UBSan report running the generated C",
    "host_crash": "the host runner crashed or exited non-zero",
    "host_hang": "the host runner did not finish within the timeout",
    "host_mismatch": "the host C and the simulator differ",
    "harness_error": "the fuzz harness itself failed (a bug in tinyq/fuzz)",
}
WARNINGS = {
    "stderr_on_success": "exit 0, but something was printed on stderr",
    "host_cannot_compare": "the host outputs could not be lined up with the simulator's",
}
ERROR_PREFIX = "tinyq: error: "


@dataclass(frozen=True)
class Violation:
    kind: str
    stage: str
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


def _short(text: str, n: int = 400) -> str:
    text = text.strip()
    return text if len(text) <= n else text[:n] + " [...]"


def _worker_failure(reply: dict, stage: str, crash_kind: str, hang_kind: str) -> Violation | None:
    if reply["status"] == "crash":
        how = reply.get("signal") or f"exit status {reply.get('exitcode')}"
        return Violation(crash_kind, stage, f"{how}; stderr: {_short(reply['stderr'], 600)}")
    if reply["status"] == "hang":
        return Violation(hang_kind, stage, f"no answer within {reply['timeout']:g} s")
    if reply["status"] == "harness_error":
        return Violation("harness_error", stage, _short(reply["error"], 2000))
    return None


def judge_cli(command: str, reply: dict) -> tuple[dict, list[Violation], list[Violation]]:
    """({status, rc, message, seconds}, violations, warnings) for one `tinyq <command>` run."""
    info = {"status": "failed", "rc": None, "message": "", "seconds": reply["seconds"]}
    failure = _worker_failure(reply, command, "crash", "hang")
    if failure:
        return info, [failure], []
    r, err = reply["result"], reply["stderr"]
    rc = info["rc"] = r["rc"]
    info["message"] = err.strip().splitlines()[0] if err.strip() else ""
    info["status"] = {0: "accepted", 2: "refused"}.get(rc, "failed")
    one_line = err.startswith(ERROR_PREFIX) and "\n" not in err.rstrip("\n")
    kind = None
    if r["traceback"] or "Traceback (most recent call last)" in err:
        kind = "traceback"
    elif "internal error" in err:
        kind = "internal_error"
    elif rc not in (0, 2):
        kind = "bad_exit_status"
    elif rc == 2 and not one_line:
        kind = "multi_line_error"
    violations = [Violation(kind, command, f"exit {rc}; stderr: {_short(err, 800)}")] if kind else []
    warnings = [Violation("stderr_on_success", command, _short(err))] if rc == 0 and err.strip() else []
    return info, violations, warnings


def judge_agreement(sim: dict, comp: dict, inputs_fit: bool) -> list[Violation]:
    statuses = {sim["status"], comp["status"]}
    if not statuses <= {"accepted", "refused"} or len(statuses) == 1:
        return []
    if sim["status"] == "refused" and not inputs_fit:
        return []  # the declared inputs cannot be written as arrays: simulate may refuse them
    return [Violation("compile_vs_simulate", "compile",
                      f"simulate {sim['status']}{': ' + sim['message'] if sim['message'] else ''}; "
                      f"compile {comp['status']}{': ' + comp['message'] if comp['message'] else ''}")]


def compare_outputs(sim_path: str | None, tflm_path: str, names: list[str]) -> str | None:
    """None when every TFLM output equals the simulator's (values and dtype), else what differs."""
    if sim_path is None:
        return "the simulator wrote no output file"
    try:
        sim = read_outputs(sim_path, names)
    except KeyError as exc:
        return f"an output is missing from the simulator's output file: {exc}"
    with np.load(tflm_path, allow_pickle=False) as ref:
        for k, (name, a) in enumerate(zip(names, sim)):
            b = ref[f"output_{k}"]
            if a.dtype != b.dtype:
                return f"output {k} '{name}': dtype {a.dtype}, TFLM {b.dtype}"
            if a.size != b.size:
                return f"output {k} '{name}': shape {list(a.shape)}, TFLM {list(b.shape)}"
            b = b.reshape(a.shape)
            if not np.array_equal(a, b):
                pos = tuple(int(v) for v in np.argwhere(a != b)[0])
                return (f"output {k} '{name}': {int((a != b).sum())} of {a.size} values differ; "
                        f"first at {list(pos)}: {a[pos]} vs TFLM {b[pos]}")
    return None


def judge_tflm(reply: dict, sim_output: str | None, names: list[str]) -> tuple[dict, list[Violation]]:
    info = {"status": None, "message": "", "seconds": reply["seconds"]}
    if reply["status"] in ("crash", "hang"):
        info["status"] = "crashed" if reply["status"] == "crash" else "hung"
        if reply["status"] == "crash":
            how = reply.get("signal") or f"exit status {reply.get('exitcode')}"
        else:
            how = f"no answer within {reply['timeout']:g} s"
        printed = [line.strip() for line in reply["stdout"].splitlines() if line.strip()]
        first = reply["stderr"].strip().splitlines()[:1]  # "Fatal Python error: Aborted"; the stack follows
        info["message"] = _short(f"{how}: " + " | ".join(printed + first), 600)
        return info, [Violation("tflm_refuses", "tflm", f"TFLM {info['status']} ({info['message']})")]
    failure = _worker_failure(reply, "tflm", "tflm_refuses", "tflm_refuses")
    if failure:
        info["status"] = "harness_error"
        return info, [failure]
    r = reply["result"]
    if r["status"] == "refused":
        info["status"] = "refused"
        printed = " | ".join(line for line in reply["stdout"].splitlines() if line.strip())
        info["message"] = _short(f"{r['message']}{' | ' + printed if printed else ''}", 600)
        return info, [Violation("tflm_refuses", "tflm", f"TFLM refused at {r['where']}: {info['message']}")]
    diff = compare_outputs(sim_output, r["output"], names)
    info["status"] = "equal" if diff is None else "mismatch"
    if diff is None:
        return info, []
    kind = "output_lost" if diff.startswith(("an output is missing", "the simulator wrote no")) else "tflm_mismatch"
    return info, [Violation(kind, "tflm", diff)]


def _first_error_line(text: str) -> str:
    for mark in ("error:", "runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer"):
        for line in text.splitlines():
            if mark in line:
                return line.strip()
    return text.strip().splitlines()[0] if text.strip() else ""


def judge_host(reply: dict) -> tuple[dict, list[Violation], list[Violation]]:
    info = {"status": None, "result": None, "seconds": reply["seconds"]}
    failure = _worker_failure(reply, "host", "host_crash", "host_hang")
    if failure:
        info["status"] = info["result"] = reply["status"]
        return info, [failure], []
    r = reply["result"]
    info["status"] = r["status"]
    if r["status"] == "cannot_compare":
        return info, [], [Violation("host_cannot_compare", "host", r["detail"])]
    if r.get("build_error"):
        kind, detail = "host_build_failed", _short(_first_error_line(r["build_error"]) + "\n" + r["build_error"], 1200)
    elif r.get("timed_out"):
        kind, detail = "host_hang", "the runner did not finish"
    elif r.get("sanitizer"):
        kind, detail = "sanitizer", _short(_first_error_line(r["stderr"]) + "\n" + r["stderr"], 1200)
    elif r.get("returncode") != 0:
        kind, detail = "host_crash", f"exit status {r.get('returncode')}; stderr: {_short(r.get('stderr', ''))}"
    elif not r.get("equal"):
        kind = "host_mismatch"
        detail = r.get("difference") if r["status"] == "built" and r.get("difference") else \
            "the output of identical C (run before, cached) differs from this mutant's simulation"
    else:
        info["result"] = "ok"
        return info, [], []
    info["result"] = kind
    return info, [Violation(kind, "host", detail)], []
