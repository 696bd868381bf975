"""Writes docs/PERFORMANCE.md and docs/performance.png: tinyq's exact instructions and estimated cycles on the
four MLPerf Tiny models and four emulated cores, against TFLM + CMSIS-NN (benchmarks/anchors.json) and the goals
of ../shared/notes/anchors.md. Takes a few minutes (16 builds and QEMU runs): a script, not a test.

    python benchmarks/performance.py [--boards mps2-an386 ...] [--models mlperf_kws_dscnn_int8 ...]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "models"
sys.path.insert(0, str(ROOT))

from tinyq.bench import bench  # noqa: E402
from tinyq.bench.cycles import timing  # noqa: E402
from tinyq.boards import load_board  # noqa: E402

MODELS = ("mlperf_kws_dscnn_int8", "mlperf_vww_mobilenetv1_025_int8", "mlperf_ic_resnet8_int8",
          "mlperf_ad_fc_autoencoder_int8")
BOARDS = ("mps2-an386", "mps2-an500", "mps2-an505", "mps3-an547")
# ../shared/notes/anchors.md "Where tinyq is headed": instructions against TFLM + CMSIS-NN on the same core
GOALS = {("mps2-an386", m): (0.4 if "vww" in m else 0.5) for m in MODELS} | {("mps3-an547", m): 0.6 for m in MODELS}
TOP_LAYERS = 5


def run(models, boards) -> list:
    results = []
    for m in models:
        for b in boards:
            t0 = time.time()
            r = bench(SHARED / f"{m}.tflite", b)
            print(f"{m} on {b}: {r.instructions:,} instructions, ~{r.cycles:,.0f} cycles ({time.time() - t0:.0f} s)",
                  flush=True)
            results.append((m, b, r))
    return results


def _ratio(x, y) -> str:
    return f"{x / y:.2f}x" if y else "-"


def table(results, anchors, kernels) -> list[str]:
    """anchors: TFLM + CMSIS-NN instructions (TFLM's Invoke); kernels: the CMSIS-NN kernels' instructions and
    estimated cycles measured by benchmarks/cmsis_nn_cycles.py (anchors.json "cycles")."""
    lines = ["| model | board (core) | tinyq instructions | est. cycles | cycles/instr | instr/MAC | "
             "anchor: TFLM + CMSIS-NN instructions | CMSIS-NN kernels: instructions / est. cycles | "
             "instructions ratio | cycles ratio | goal | met (instr / cycles) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for m, b, r in results:
        anchor = anchors.get(m, {}).get(b, {}).get("cmsis_nn")
        k = kernels.get(m, {}).get(b)
        ref_instr = anchor or (k or {}).get("instructions")  # TFLM's figure where measured, else the kernels'
        ref_cycles = (k or {}).get("cycles")
        goal = GOALS.get((b, m))
        if goal and ref_instr and ref_cycles:
            met = f"{'yes' if r.instructions <= goal * ref_instr else 'no'} / {'yes' if r.cycles <= goal * ref_cycles else 'no'}"
        else:
            met = "-"
        kernel_cell = f"{k['instructions']:,} / {k['cycles']:,}" if k else "-"
        lines.append(f"| {m.removeprefix('mlperf_').removesuffix('_int8')} | {b} ({r.core}) | {r.instructions:,} | "
                     f"{r.cycles:,.0f} | {r.cycles / r.instructions:.2f} | {r.instructions / r.macs:.2f} | "
                     f"{f'{anchor:,}' if anchor else '-'} | "
                     f"{kernel_cell} | "
                     f"{_ratio(r.instructions, ref_instr)} | {_ratio(r.cycles, ref_cycles)} | "
                     f"{f'<= {goal}x' if goal else 'reported'} | {met} |")
    return lines


def layers_section(results) -> list[str]:
    lines = []
    for m, b, r in results:
        if b != "mps2-an386":
            continue
        lines += ["", f"### {m} on {b}: the {TOP_LAYERS} layers with the most instructions", "",
                  "| call | op | kernel (as run) | instructions | share | MACs | instr/MAC | est. cycles | cycles/instr |",
                  "|---:|---|---|---:|---:|---:|---:|---:|---:|"]
        for lc in sorted(r.layers, key=lambda lc: -lc.instructions)[:TOP_LAYERS]:
            ipm = f"{lc.instructions_per_mac:.2f}" if lc.instructions_per_mac is not None else "-"
            lines.append(f"| {lc.call} | {lc.op} | `{lc.kernel}` | {lc.instructions:,} | "
                         f"{100 * lc.instructions / r.instructions:.1f}% | {lc.macs:,} | {ipm} | {lc.cycles:,.0f} | "
                         f"{lc.cycles / lc.instructions:.2f} |")
    return lines


def ops_section(results, kernels) -> list[str]:
    """Per op, tinyq against the CMSIS-NN kernels on the boards with a goal: where a goal's gap sits."""
    lines = []
    for m, b, r in results:
        ref = kernels.get(m, {}).get(b, {}).get("per_op")
        if not ref or (b, m) not in GOALS:
            continue
        mine: dict = {}
        for lc in r.layers:
            acc = mine.setdefault(lc.op, [0, 0])
            acc[0] += lc.instructions
            acc[1] += lc.cycles
        lines += ["", f"### {m} on {b}, per op (goal {GOALS[(b, m)]}x)", "",
                  "| op | tinyq instructions | CMSIS-NN instructions | ratio | tinyq est. cycles | CMSIS-NN est. cycles | "
                  "ratio | cycles over the goal |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for op, v in sorted(ref.items(), key=lambda kv: -kv[1]["cycles"]):
            i, c = mine.get(op, [0, 0])
            over = c - GOALS[(b, m)] * v["cycles"]
            lines.append(f"| {op} | {i:,} | {v['instructions']:,} | {_ratio(i, v['instructions'])} | {c:,.0f} | "
                         f"{v['cycles']:,} | {_ratio(c, v['cycles'])} | {over:+,.0f} |")
    return lines


def plot(results, anchors, kernels, path: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "(no plot: matplotlib is not installed in this environment)"
    rows = [(m, b, r) for m, b, r in results if GOALS.get((b, m)) and kernels.get(m, {}).get(b)
            and anchors.get(m, {}).get(b)]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    labels = [f"{m.split('_')[1]}\n{b}" for m, b, _ in rows]
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r.instructions / anchors[m][b]["cmsis_nn"] for m, b, r in rows], 0.4,
           label="instructions / TFLM + CMSIS-NN instructions")
    ax.bar([x + 0.2 for x in xs], [r.cycles / kernels[m][b]["cycles"] for m, b, r in rows], 0.4,
           label="est. cycles / CMSIS-NN kernels' est. cycles")
    for x, (m, b, _) in zip(xs, rows):
        ax.plot([x - 0.45, x + 0.45], [GOALS[(b, m)]] * 2, color="black", linewidth=1)
    ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("x TFLM + CMSIS-NN")
    ax.set_title("tinyq against TFLM + CMSIS-NN (black: goal)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return f"![tinyq against the anchors]({path.name})"


def write(results, anchors, kernels, out: Path) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cores = sorted({load_board(b).cpu for _, b, _ in results})
    text = [
        "# Performance: tinyq against TFLM + CMSIS-NN", "",
        f"Written by `benchmarks/performance.py` (commit {commit}); figures move as kernels land. Instructions are exact",
        "(QEMU -icount + tinyq's counting plugin, one inference on seeded random input); cycles are *estimated* from",
        "the instruction classes with the core's timing table (docs/cycle_model.md: sources and limits). The anchors",
        "(benchmarks/anchors.json, ../shared/notes/anchors.md) are TFLM + CMSIS-NN instructions counted the same way",
        "(TFLM's whole Invoke); they exist for the M4F (mps2-an386) and the M55 (mps3-an547).", "",
        "The cycle anchor comes from `benchmarks/cmsis_nn_cycles.py`: the same CMSIS-NN kernels called as TFLM's glue",
        "calls them (outputs checked bit-exact against tinyq's simulator), counted with tinyq's plugin and priced with the",
        "same timing table as tinyq, on all four cores. It is the kernels without TFLM's interpreter (its instructions",
        "are 0.98-1.00x TFLM's Invoke), so the cycles ratio leans the anchor's way. \"instructions ratio\"",
        "divides by TFLM's Invoke where measured (M4F, M55), else by the CMSIS-NN kernels' instructions (M7, M33).", "",
        *table(results, anchors, kernels), "", plot(results, anchors, kernels, out.with_name("performance.png")), "",
        "## Per op against the CMSIS-NN kernels", "",
        "The same run's tinyq figures summed per op, against the CMSIS-NN kernels' (benchmarks/anchors.json \"cycles\");",
        "the last column is what the op spends above its share of the goal (negative: under it).", *ops_section(results, kernels), "",
        "## Per layer", *layers_section(results), "",
        "## Cycle models used", "",
        *[f"- {c}: {timing(c).source}" for c in cores], "",
    ]
    out.write_text("\n".join(text) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--boards", nargs="+", default=list(BOARDS))
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--out", default=str(ROOT / "docs" / "PERFORMANCE.md"))
    args = ap.parse_args()
    raw = json.loads((HERE / "anchors.json").read_text())
    anchors, kernels = raw["instructions"], raw.get("cycles", {})
    results = run(args.models, args.boards)
    write(results, anchors, kernels, Path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
