"""explore(): sensitivity -> costs -> search -> real measurements -> ExploreResult (and DIR/pareto.json, .png).

    explore(model, calibration, data, labels, board, out=None, *, flash_budget=None, ram_budget=None,
            instructions_budget=None, candidates=None, layers=None, layer_candidates=None, method="ptq",
            bench=True, bench_points=3, steps=24, train=None, train_labels=None, epochs=5, progress=True)
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

from tinyq.errors import DoesNotFit, InputError
from tinyq.explore import costs, search
from tinyq.explore.budget import Budgets
from tinyq.explore.sensitivity import Scorer, config_model, measure
from tinyq.explore.space import build_space, parse_candidates


class BudgetError(DoesNotFit):
    """No configuration meets the budgets; `minimums` holds the smallest reachable figures."""

    def __init__(self, message: str, exceeded: tuple[str, ...], minimums: dict):
        super().__init__(message, exceeded)
        self.minimums = minimums


@dataclass
class Point:
    config: dict[str, str]  # searched layer -> spec (the other layers stay int8)
    accuracy: float  # measured: the quantized model in the simulator (QAT's when method="qat")
    flash_bytes: int  # exact (costs.py)
    ram_bytes: int  # exact
    instructions: int  # measured by bench when benched, else the cost model's
    predicted: dict  # the additive model's accuracy / flash / ram / instructions
    instructions_model: int  # the cost model's figure (kept beside a measured one for the error)
    instructions_measured: int | None = None
    found_by: list[str] = field(default_factory=list)  # milp / greedy / budget / int8
    within_budget: bool = True
    chosen: bool = False
    ptq_accuracy: float | None = None  # method="qat": the PTQ accuracy the search saw
    tflite: str | None = None  # path of the written model (with out=)
    model: bytes = field(default=b"", repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("model")
        return d


@dataclass
class ExploreResult:
    points: list[Point]  # the Pareto points (accuracy vs flash, measured), plus the chosen one, by flash
    chosen: Point
    message: str
    int8_meets_budgets: bool
    budgets: Budgets
    board: str
    method: str
    sensitivity: dict | None = None
    comparison: dict | None = None
    cost_model: dict | None = None
    measured: list[Point] = field(default_factory=list)  # every configuration measured (both fronts)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"board": self.board, "method": self.method, "budgets": asdict(self.budgets),
                "message": self.message, "int8_meets_budgets": self.int8_meets_budgets,
                "chosen": self.points.index(self.chosen), "points": [p.to_dict() for p in self.points],
                "search_comparison": self.comparison, "cost_model": self.cost_model,
                "sensitivity": self.sensitivity, "seconds": round(self.seconds, 2)}


def explore(model, calibration, data, labels, board: str, out=None, *, flash_budget=None, ram_budget=None,
            instructions_budget=None, candidates=None, layers: Sequence[str] | None = None,
            layer_candidates: Mapping[str, Sequence] | None = None, method: str = "ptq", bench: bool = True,
            bench_points: int = 3, steps: int = 24, train=None, train_labels=None, epochs: int = 5,
            progress: bool = True) -> ExploreResult:
    """Search per-layer weight specs of `model` (Keras) for `board`; see docs/explore.md.

    calibration: PTQ calibration data; data/labels: the evaluation set every accuracy is measured on.
    Budgets: bytes / instruction counts (int) or strings with units ("64KiB", "1.5MB", "2M").
    bench=False: no firmware builds; instructions from a static per-MAC model (fast, rough).
    """
    from tinyq.boards import load_board
    from tinyq.kernel_select import board_isa
    from tinyq.quantize.data import load_labels, load_samples
    from tinyq.quantize.float_model import load_float_model

    start = time.perf_counter()
    budgets = Budgets.parse(flash_budget, ram_budget, instructions_budget)
    if method not in ("ptq", "qat"):
        raise InputError(f"--method {method!r}: expected ptq or qat")
    specs = parse_candidates(candidates)
    per_layer = {k: parse_candidates(v, f"--layer-candidates {k}") for k, v in (layer_candidates or {}).items()}
    board_obj = load_board(board)
    isa = board_isa(board_obj)
    if bench and not board_obj.emulated:
        raise InputError(f"--board {board}: the instruction model is calibrated with `tinyq bench`, which needs an "
                         f"emulated board (see `tinyq boards`); pass --no-bench for the static model")
    fm = load_float_model(model)
    space = build_space(fm.layers, specs, layers, per_layer, fm.where)
    arrays = tuple(load_samples(data, fm.specs, "--data").materialize())
    target = load_labels(labels, arrays[0].shape[0], "--labels")
    if method == "qat":
        _check_qat(train, train_labels)
    score = Scorer(arrays[0] if len(arrays) == 1 else data, target)
    bar = _bars(progress)

    int8 = _quantize_int8(model, calibration, progress)
    score(int8)  # labels that do not fit the model's output fail here, before any bench
    if bench:
        _say(progress, f"benching the int8 model on {board} (calibrates the instruction model) ...")
        model_i = costs.InstructionModel(isa, costs.bench_int8_counts(int8, board), f"bench {board}")
    else:
        model_i = costs.InstructionModel(isa, tuple(costs.static_int8_counts(costs.lower_model(int8, isa), isa)),
                                         "static")
    base = _measure_point({}, int8, isa, model_i, score, ["int8"])

    if budgets.any and budgets.fits(base.flash_bytes, base.ram_bytes, base.instructions):
        base = replace(base, chosen=True)
        message = (f"int8 already meets the budgets ({budgets.describe()}): flash {base.flash_bytes:,} B, RAM "
                   f"{base.ram_bytes:,} B, {base.instructions:,} instructions; explore returns int8")
        result = ExploreResult([base], base, message, True, budgets, board, method,
                               cost_model={"source": model_i.source}, measured=[base])
        return _finish(result, out, start)

    sens, models = measure(int8, space, score, bar("sensitivity"))
    table = _table(space, sens, models, base, isa, model_i, bar("costs"))
    _check_reachable(table, budgets, int8, space, isa, model_i, score)

    fronts = {"milp": search.milp_front(table, steps, budgets.ram_bytes, budgets.instructions),
              "greedy": search.greedy_front(table)}
    budget_config = search.solve(table, budgets.flash_bytes, budgets.ram_bytes, budgets.instructions)
    configs: dict[search.Config, list[str]] = {}
    for method_name, found in fronts.items():
        for c in found:
            configs.setdefault(c, []).append(method_name)
    if budget_config is not None:
        configs.setdefault(budget_config, []).append("budget")
    measured = []
    for c, by in bar("measuring")(list(configs.items())):
        if c == table.int8():
            measured.append(replace(base, found_by=by + ["int8"], predicted=table.predict(c)))
            continue
        tflite = config_model(int8, space, dict(_specs(space, c)))
        measured.append(_measure_point(dict(c), tflite, isa, model_i, score, by, table.predict(c)))
    comparison = search.compare({m: [(p.flash_bytes, p.accuracy) for p in measured if m in p.found_by]
                                 for m in fronts})
    comparison["prediction_error"] = _prediction_error(measured)

    front = [measured[i] for i in search.pareto([(p.flash_bytes, p.accuracy) for p in measured])]
    if method == "qat":
        front = _qat(front, model, calibration, train, train_labels, epochs, space, isa, model_i, score, progress)
        front = [front[i] for i in search.pareto([(p.flash_bytes, p.accuracy) for p in front])]  # QAT reorders
    points, cost_report = _choose(front, measured, budgets, board if bench else None, progress, bench_points,
                                  model_i)
    chosen = next(p for p in points if p.chosen)
    message = _message(chosen, budgets, base)
    result = ExploreResult(points, chosen, message, False, budgets, board, method, sens.to_dict(), comparison,
                           cost_report, measured)
    return _finish(result, out, start)


def _quantize_int8(model, calibration, progress: bool) -> bytes:
    from tinyq.quantize import quantize

    _say(progress, "converting to int8 (TensorFlow) ...")
    return quantize(model, calibration, progress=progress).tflite


def _measure_point(config, tflite, isa, model_i, score, found_by, predicted=None) -> Point:
    program = costs.lower_model(tflite, isa)
    fp = costs.footprint(program)
    instructions = model_i.predict(program)
    return Point(dict(config), score(tflite), fp.flash_bytes, fp.ram_bytes, instructions, predicted or {},
                 instructions, found_by=list(found_by), model=tflite)


def _specs(space, config):
    return [(layer, next(s for s in space.choices[layer] if str(s) == spec)) for layer, spec in config]


def _table(space, sens, models, base: Point, isa, model_i, progress) -> search.Table:
    """Cost deltas per (layer, spec), from the one-layer models the sensitivity run made."""
    flash, ram, instr = {}, {}, {}
    for (layer, spec), tflite in progress(list(models.items())):
        if tflite is None:  # int8
            flash[(layer, spec)] = ram[(layer, spec)] = instr[(layer, spec)] = 0
            continue
        program = costs.lower_model(tflite, isa)
        fp = costs.footprint(program)
        flash[(layer, spec)] = fp.flash_bytes - base.flash_bytes
        ram[(layer, spec)] = fp.ram_bytes - base.ram_bytes
        instr[(layer, spec)] = model_i.predict(program) - base.instructions
    drops = {(layer, str(s)): sens.drop(layer, s) for layer in space.layers for s in space.choices[layer]}
    return search.Table(space.layers, {layer: tuple(str(s) for s in space.choices[layer]) for layer in space.layers},
                        drops, flash, ram, instr, base.accuracy, base.flash_bytes, base.ram_bytes, base.instructions)


def _check_reachable(table, budgets: Budgets, int8, space, isa, model_i, score) -> None:
    """A budget no configuration meets: say so with the smallest figures reachable (measured exactly)."""
    if not budgets.any or search.solve(table, budgets.flash_bytes, budgets.ram_bytes, budgets.instructions):
        return
    minimums, parts, exceeded = {}, [], []
    for what, label, unit, cap in (("flash", "flash", "B", budgets.flash_bytes), ("ram", "RAM", "B", budgets.ram_bytes),
                                   ("instructions", "instructions", "", budgets.instructions)):
        config = table.extreme(what)
        program = costs.lower_model(config_model(int8, space, dict(_specs(space, config))), isa)
        fp = costs.footprint(program)
        value = {"flash": fp.flash_bytes, "ram": fp.ram_bytes, "instructions": model_i.predict(program)}[what]
        minimums[f"{what}_bytes" if what != "instructions" else what] = value
        if cap is not None:
            spec_text = ", ".join(f"{layer}={s}" for layer, s in config)
            parts.append(f"the smallest {label} reachable is {value:,}{' ' + unit if unit else ''} "
                         f"(budget {cap:,}; with {spec_text})")
            if value > cap:
                exceeded.append(label)
    if not exceeded:
        parts.append("each budget can be met alone, but no configuration meets them all at once")
    raise BudgetError(f"no configuration meets the budgets ({budgets.describe()}) with candidates "
                      f"{', '.join(sorted({s for v in table.specs.values() for s in v}))}: " + "; ".join(parts),
                      tuple(exceeded or ["budgets"]), minimums)


def _choose(front, measured, budgets: Budgets, bench_board, progress, bench_points, model_i):
    """Mark budgets and the chosen point (best measured accuracy within every budget); bench some points."""
    def fits(p):
        return budgets.fits(p.flash_bytes, p.ram_bytes, p.instructions)

    pool = _unique(front + [p for p in measured if fits(p)])
    benched: list[Point] = []
    cost_report = {"source": model_i.source}
    for _ in range(4):  # a measured count can move a point out of the instruction budget: choose again
        candidates = [p for p in pool if fits(p)] or pool
        best = max(candidates, key=lambda p: (p.accuracy, -p.flash_bytes, -p.instructions))
        todo = [best] + [p for p in front if p is not best][: max(0, bench_points - 1)] if bench_board else []
        todo = [p for p in todo if p.instructions_measured is None]
        if not todo:
            break
        for p in _bars(progress)("bench")(todo):
            p.instructions_measured = costs.bench_instructions(p.model, bench_board)
            p.instructions = p.instructions_measured
            benched.append(p)
    for p in pool:
        p.within_budget = fits(p)
        p.chosen = p is best
    if benched:
        cost_report.update(costs.relative_error([p.instructions_model for p in benched],
                                                [p.instructions_measured for p in benched]))
    points = sorted(_unique(front + [best]), key=lambda p: (p.flash_bytes, -p.accuracy))
    return points, cost_report


def _unique(points):
    out = []
    for p in points:
        if not any(p is q for q in out):
            out.append(p)
    return out


def _message(chosen: Point, budgets: Budgets, base: Point) -> str:
    spec = ", ".join(f"{k}={v}" for k, v in chosen.config.items() if v != "int8") or "int8 everywhere"
    fit = f"within {budgets.describe()}" if budgets.any else "no budgets given: the most accurate point"
    if budgets.any and not chosen.within_budget:
        fit = f"NOT within {budgets.describe()} once measured (the closest point)"
    return (f"chosen: {spec}; accuracy {chosen.accuracy:.2%} (int8 {base.accuracy:.2%}), flash "
            f"{chosen.flash_bytes:,} B (int8 {base.flash_bytes:,} B), RAM {chosen.ram_bytes:,} B, "
            f"{chosen.instructions:,} instructions; {fit}")


def _prediction_error(measured) -> dict:
    """How far the additive accuracy model is from the simulator, over every measured configuration."""
    gaps = [p.predicted["accuracy"] - p.accuracy for p in measured if p.predicted]
    if not gaps:
        return {}
    return {"configs": len(gaps), "mean_abs_points": 100 * sum(abs(g) for g in gaps) / len(gaps),
            "max_abs_points": 100 * max(abs(g) for g in gaps)}


def _check_qat(train, train_labels) -> None:
    if train is None or train_labels is None:
        raise InputError("--method qat needs --train X.npy and --train-labels Y.npy (fine-tuning data)")


def _qat(front, model, calibration, train, train_labels, epochs, space, isa, model_i, score, progress):
    """Re-quantize each front point with QAT (its specs trained in), and measure it as the PTQ points were."""
    from tinyq.quantize import quantize

    out = []
    for p in _bars(progress)("QAT")(front):
        layers = {k: v for k, v in p.config.items() if v != "int8"}
        tflite = quantize(model, calibration, method="qat", layers=layers or None, train=train,
                          labels=train_labels, epochs=epochs, progress=False).tflite
        q = _measure_point(p.config, tflite, isa, model_i, score, p.found_by, p.predicted)
        q.ptq_accuracy = p.accuracy
        out.append(q)
    return out


def _bars(progress: bool):
    def make(desc):
        def wrap(items):
            if not progress:
                return items
            from tqdm import tqdm

            return tqdm(items, desc=f"explore: {desc}", unit="model", leave=False)
        return wrap
    return make


def _say(progress: bool, text: str) -> None:
    if progress:
        import sys

        print(f"explore: {text}", file=sys.stderr)


def _finish(result: ExploreResult, out, start) -> ExploreResult:
    result.seconds = time.perf_counter() - start
    if out is not None:
        from tinyq.explore.report import write

        write(result, Path(out))
    return result
