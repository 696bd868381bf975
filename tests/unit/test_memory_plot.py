"""`tinyq inspect --memory-plot`: a PNG of the plan compile makes, and the live-byte figures it marks."""
import subprocess
import sys

from tests.samples import model_path
from tinyq.memory_plot import live_bytes
from tinyq.planner import plan_memory
from tinyq.sim.run import as_program


def test_live_bytes_count_shared_bytes_once():
    program = as_program(model_path("mlperf_kws_dscnn_int8"))
    plan = plan_memory(program)
    live = live_bytes(plan, len(program.calls))
    assert max(live) <= plan.arena_bytes
    for k, held in enumerate(live):
        naive = sum(a.size for a in plan.allocations if a.first <= k <= a.last)
        shared = any(c == k for c, _, _ in plan.overlaps)
        assert held < naive if shared else held == naive


def test_inspect_draws_the_memory_plot(tmp_path):
    out = tmp_path / "kws.png"
    p = subprocess.run([sys.executable, "-m", "tinyq.cli", "inspect", str(model_path("mlperf_kws_dscnn_int8")),
                        "--board", "mps2-an386", "--memory-plot", str(out)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert "memory plot -> " in p.stdout and "outputs written over their inputs" in p.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_memory_plot_into_a_missing_directory_is_one_error_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "tinyq.cli", "inspect", str(model_path("mlperf_kws_dscnn_int8")),
                        "--memory-plot", str(tmp_path / "no" / "kws.png")], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("tinyq: error: --memory-plot") and len(p.stderr.strip().splitlines()) == 1
