"""Coverage-guided fuzzing (atheris + libFuzzer) of the reader, lowering, planner and C emitter.

The target runs tinyq.compiler.compile_model (read_model -> lower -> plan_memory -> emit_sources) on
the bytes into a temporary directory. The invariant: only tinyq.errors.TinyqError may escape.
Anything else is a finding, saved with its input and traceback under FINDINGS/ (one per exception
type and place), and fuzzing goes on. libFuzzer's own artifacts (timeouts, out-of-memory) land in
artifacts/, after which run_atheris() restarts it on the grown corpus until the time is used up.

    python -m tinyq.fuzz.atheris_target FINDINGS_DIR CORPUS_DIR [libFuzzer flags]   (the fuzzing process)
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

MEMORY_LIMIT = 4 << 30
# tinyq, and the generated flatbuffer accessors it reads through (whichever copy the reader uses)
INSTRUMENT = ["tinyq", "tflite", "tflite_micro.tensorflow.lite.micro.python.schema_py_generated"]
# a hang, not a slow input: the patch search of a 300 KB model (person detection) takes ~35 s under coverage
# instrumentation on one core, and a loaded machine doubles that
TIMEOUT_S = 120


def available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def _place(tb) -> str:
    """The innermost tinyq frame: where the exception came from."""
    frames = [f for f in traceback.extract_tb(tb) if "/tinyq/" in f.filename and "/fuzz/" not in f.filename]
    f = frames[-1] if frames else traceback.extract_tb(tb)[-1]
    return f"{Path(f.filename).name}:{f.lineno}:{f.name}"


def make_target(findings: Path):
    import tempfile

    from tinyq.compiler import compile_model
    from tinyq.errors import TinyqError

    seen: set[str] = set()

    def test_one_input(data: bytes) -> None:
        try:
            with tempfile.TemporaryDirectory(prefix="tq-atheris-") as tmp:
                compile_model(data, Path(tmp), board="host", project=False)
        except TinyqError:
            return
        except Exception as exc:
            sig = f"{type(exc).__name__}@{_place(exc.__traceback__)}"
            if sig in seen:
                return
            seen.add(sig)
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", sig) + "-" + hashlib.sha1(data).hexdigest()[:10]
            (findings / f"{name}.tflite").write_bytes(data)
            (findings / f"{name}.json").write_text(json.dumps({
                "signature": sig, "exception": f"{type(exc).__name__}: {str(exc)[:500]}",
                "input": str(findings / f"{name}.tflite"), "traceback": traceback.format_exc()[-4000:]}, indent=2))
            print(f"FINDING {sig}", file=sys.stderr, flush=True)

    return test_one_input


def fuzz_main(argv: list[str]) -> None:
    import resource

    import atheris

    findings = Path(argv[1])
    findings.mkdir(parents=True, exist_ok=True)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, resource.RLIM_INFINITY))
    with atheris.instrument_imports(include=INSTRUMENT):
        import importlib

        from tinyq.lower import FAMILIES

        for family in FAMILIES:  # lower() imports them lazily, outside this block otherwise
            importlib.import_module(f"tinyq.lower.{family}")
        target = make_target(findings)
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()


def run_atheris(models: list[Path], out: Path, seconds: float, restarts: int = 20, seed: int = 0) -> dict:
    """Fuzz for `seconds` in a child process; returns (and writes to out/atheris.json) what was found."""
    out = Path(out)
    if not available():
        result = {"summary": "skipped: atheris is not installed (pip install atheris)", "skipped": True, "findings": []}
        out.mkdir(parents=True, exist_ok=True)
        (out / "atheris.json").write_text(json.dumps(result, indent=2))
        return result
    corpus, findings, artifacts = out / "corpus", out / "findings", out / "artifacts"
    for d in (corpus, findings, artifacts):
        d.mkdir(parents=True, exist_ok=True)
    for m in models:
        shutil.copy(m, corpus / m.name)
    max_len = max(m.stat().st_size for m in models)
    deadline = time.monotonic() + seconds
    runs, execs = 0, 0
    with open(out / "atheris.log", "ab") as log:
        while time.monotonic() < deadline - 5 and runs <= restarts:
            left = int(deadline - time.monotonic())
            cmd = [sys.executable, "-m", "tinyq.fuzz.atheris_target", str(findings), str(corpus),
                   f"-max_total_time={left}", f"-timeout={TIMEOUT_S}", "-rss_limit_mb=4096", f"-max_len={max_len}",
                   f"-artifact_prefix={artifacts}/", "-print_final_stats=1", f"-seed={seed + runs + 1}"]
            env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
            p = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=left + 120)
            runs += 1
            log.flush()
            text = (out / "atheris.log").read_bytes().decode("utf-8", "replace")
            stats = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
            execs = sum(int(s) for s in stats)
            if p.returncode == 0:
                break
    found = [json.loads(p.read_text()) for p in sorted(findings.glob("*.json"))]
    # a hang is a "timeout-" artifact (-timeout); "slow-unit-" only says a unit passed 10 s, which a loaded machine
    # gives any input: not a finding
    found += [{"signature": f"libFuzzer {a.name.split('-')[0]}", "input": str(a)} for a in sorted(artifacts.iterdir())
              if not a.name.startswith("slow-unit-")]
    result = {"seconds": seconds, "runs": runs, "executions": execs, "corpus": len(list(corpus.iterdir())),
              "findings": found,
              "summary": f"{execs} executions in {runs} run(s), corpus {len(list(corpus.iterdir()))} files, "
                         f"{len(found)} findings" + "".join(f"\n  {f['signature']}: {f['input']}" for f in found)}
    (out / "atheris.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    fuzz_main(sys.argv)
