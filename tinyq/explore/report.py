"""What explore shows and writes: the terminal table, DIR/pareto.json, DIR/pareto.png, DIR/models/*.tflite."""
from __future__ import annotations

import json
from pathlib import Path


def table(result) -> str:
    layers = list(result.chosen.config) or sorted({k for p in result.points for k in p.config})
    head = ["#", "accuracy", "flash B", "RAM B", "instructions", "budget", "found by", *layers]
    rows = []
    for i, p in enumerate(result.points):
        instr = f"{p.instructions:,}" + ("" if p.instructions_measured is not None else "*")
        rows.append([f"{i}{' <' if p.chosen else ''}", f"{p.accuracy:.2%}", f"{p.flash_bytes:,}",
                     f"{p.ram_bytes:,}", instr, "yes" if p.within_budget else "no", "+".join(p.found_by),
                     *[p.config.get(layer, "int8") for layer in layers]])
    widths = [max(len(str(r[c])) for r in [head, *rows]) for c in range(len(head))]
    lines = ["  ".join(str(cell).rjust(w) if 0 < c < 5 else str(cell).ljust(w)
                       for c, (cell, w) in enumerate(zip(row, widths))) for row in [head, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    notes = ["< chosen; * instructions from the cost model (" + str((result.cost_model or {}).get("source")) + "),"
             " others measured by tinyq bench"]
    cm = result.cost_model or {}
    if cm.get("points"):
        notes.append(f"cost model vs bench: mean error {cm['mean_abs_percent']:.1f}%, max {cm['max_abs_percent']:.1f}%"
                     f" over {cm['points']} models")
    comp = result.comparison or {}
    if "closer" in comp:
        notes.append("search: " + ", ".join(f"{m} {comp[m]['points']} points, {comp[m]['of_union']:.1%} of the best "
                                            f"known front's hypervolume" for m in ("milp", "greedy") if m in comp)
                     + f"; closer: {comp['closer']}")
    return "\n".join([*lines, *notes, result.message])


def write(result, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    models = out / "models"
    models.mkdir(exist_ok=True)
    for i, p in enumerate(result.points):
        name = "int8" if not any(v != "int8" for v in p.config.values()) else f"point_{i:02d}"
        path = models / f"{name}.tflite"
        path.write_bytes(p.model)
        p.tflite = str(path)
    doc = result.to_dict()
    (out / "pareto.json").write_text(json.dumps(doc["points"], indent=2) + "\n")
    (out / "explore.json").write_text(json.dumps(doc, indent=2) + "\n")
    plot(result, out / "pareto.png")


def plot(result, path: Path) -> Path:
    """Accuracy against flash, coloured by instructions: every measured config faint, the Pareto points joined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    pts = result.measured or result.points
    lo = min(p.instructions for p in pts)
    hi = max(p.instructions for p in pts)
    ax.scatter([p.flash_bytes for p in pts], [100 * p.accuracy for p in pts], c=[p.instructions for p in pts],
               cmap="viridis", vmin=lo, vmax=max(hi, lo + 1), alpha=0.35, s=18, label="measured configs")
    front = result.points
    ax.plot([p.flash_bytes for p in front], [100 * p.accuracy for p in front], "-", color="0.6", lw=1)
    sc = ax.scatter([p.flash_bytes for p in front], [100 * p.accuracy for p in front],
                    c=[p.instructions for p in front], cmap="viridis", vmin=lo, vmax=max(hi, lo + 1), s=50,
                    edgecolors="k", label="Pareto points")
    c = result.chosen
    ax.scatter([c.flash_bytes], [100 * c.accuracy], marker="*", s=260, facecolors="none", edgecolors="red",
               linewidths=1.5, label="chosen")
    if result.budgets.flash_bytes is not None:
        ax.axvline(result.budgets.flash_bytes, color="red", ls="--", lw=1, label="flash budget")
    fig.colorbar(sc, ax=ax, label="instructions per inference")
    ax.set_xlabel("flash: model data bytes")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"tinyq explore on {result.board} ({result.method})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
