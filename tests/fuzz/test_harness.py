"""The harness's own machinery: workers survive crashes and hangs; the CLI invariants judge right."""
import time

from tinyq.fuzz.invariants import judge_agreement, judge_cli
from tinyq.fuzz.workers import Worker


def test_worker_reports_crash_and_hang_then_restarts(tmp_path):
    w = Worker("t", tmp_path)
    try:
        ok = w.run({"stage": "selftest", "action": "print"}, timeout=60)
        assert ok["status"] == "ok" and ok["stdout"] == "to stdout\n" and ok["stderr"] == "to stderr\n"
        crash = w.run({"stage": "selftest", "action": "segv"}, timeout=60)
        assert crash["status"] == "crash" and crash["signal"] == "SIGSEGV"
        assert "Segmentation fault" in crash["stderr"]  # faulthandler's report
        start = time.monotonic()
        hang = w.run({"stage": "selftest", "action": "sleep", "seconds": 600}, timeout=2)
        assert hang["status"] == "hang" and time.monotonic() - start < 30
        again = w.run({"stage": "selftest", "action": "print"}, timeout=60)
        assert again["status"] == "ok" and again["result"]["pid"] != ok["result"]["pid"]
        assert w.restarts == 2
    finally:
        w.close()


def _reply(rc, stderr, tb=False):
    return {"status": "ok", "result": {"rc": rc, "traceback": tb}, "stdout": "", "stderr": stderr, "seconds": 0.1}


def test_cli_invariants():
    info, v, w = judge_cli("simulate", _reply(2, "tinyq: error: m.tflite: the graph has no outputs\n"))
    assert info["status"] == "refused" and not v and not w
    _, v, _ = judge_cli("simulate", _reply(2, "tinyq: error: two\nlines\n"))
    assert [x.kind for x in v] == ["multi_line_error"]
    _, v, _ = judge_cli("simulate", _reply(2, "warning first\ntinyq: error: x\n"))
    assert [x.kind for x in v] == ["multi_line_error"]
    _, v, _ = judge_cli("compile", _reply(3, "tinyq: internal error: KeyError: 3 (run with --debug for a traceback)\n"))
    assert [x.kind for x in v] == ["internal_error"]
    _, v, _ = judge_cli("compile", _reply(1, "Traceback (most recent call last):\n  ...\nValueError\n", tb=True))
    assert [x.kind for x in v] == ["traceback"]
    _, v, _ = judge_cli("compile", _reply(1, ""))
    assert [x.kind for x in v] == ["bad_exit_status"]
    info, v, w = judge_cli("simulate", _reply(0, "RuntimeWarning: overflow\n"))
    assert info["status"] == "accepted" and not v and [x.kind for x in w] == ["stderr_on_success"]
    _, v, _ = judge_cli("simulate", {"status": "crash", "signal": "SIGABRT", "exitcode": -6, "stderr": "", "seconds": 1})
    assert [x.kind for x in v] == ["crash"]


def test_compile_must_refuse_what_simulate_refuses():
    acc, ref = {"status": "accepted", "message": ""}, {"status": "refused", "message": "tinyq: error: no"}
    assert not judge_agreement(acc, acc, True) and not judge_agreement(ref, ref, True)
    assert [x.kind for x in judge_agreement(acc, ref, True)] == ["compile_vs_simulate"]
    assert [x.kind for x in judge_agreement(ref, acc, True)] == ["compile_vs_simulate"]
    assert not judge_agreement(ref, acc, False)  # inputs we could not write: simulate may refuse them
