"""Search over per-layer configurations with an additive model, two ways.

Model: a config's accuracy drop = the sum of its layers' one-at-a-time drops (sensitivity); its flash, RAM and
instructions = the int8 figures plus the sum of its layers' deltas (each measured on the one-layer model, so the
deltas are exact per layer; the sum is exact for flash because the compiler stores each tensor on its own).

  milp_front    scipy.optimize.milp (HiGHS): minimise the predicted drop subject to one-spec-per-layer and a flash
                cap, swept from the smallest reachable flash to int8's; the RAM and instruction budgets given are
                constraints of every solve. Optimal for the additive model.
  greedy_front  from int8, repeatedly take the move (one layer to a smaller spec) with the least predicted drop per
                byte saved, until nothing saves bytes: one path, L x S steps at most, no solver.
Both are judged afterwards on real (simulated) accuracy; compare() says which front got closer to the best known.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

Config = tuple[tuple[str, str], ...]  # ((layer, spec string), ...) in layer order; hashable


@dataclass(frozen=True)
class Table:
    """Per (layer, spec): predicted accuracy drop and cost deltas against all-int8."""

    layers: tuple[str, ...]
    specs: Mapping[str, tuple[str, ...]]  # layer -> spec strings, int8 first
    drop: Mapping[tuple[str, str], float]
    flash: Mapping[tuple[str, str], int]  # delta bytes (negative: saves)
    ram: Mapping[tuple[str, str], int]
    instructions: Mapping[tuple[str, str], int]
    base_accuracy: float
    base_flash: int
    base_ram: int
    base_instructions: int

    def keys(self) -> list[tuple[str, str]]:
        return [(layer, s) for layer in self.layers for s in self.specs[layer]]

    def predict(self, config: Config) -> dict:
        return {
            "accuracy": self.base_accuracy - sum(self.drop[k] for k in config),
            "flash_bytes": self.base_flash + sum(self.flash[k] for k in config),
            "ram_bytes": self.base_ram + sum(self.ram[k] for k in config),
            "instructions": self.base_instructions + sum(self.instructions[k] for k in config),
        }

    def int8(self) -> Config:
        return tuple((layer, self.specs[layer][0]) for layer in self.layers)

    def extreme(self, what: str) -> Config:
        """The config with the least of `what` (flash / ram / instructions): each layer's least, by additivity."""
        table = getattr(self, what)
        return tuple((layer, min(self.specs[layer], key=lambda s: (table[(layer, s)], self.drop[(layer, s)])))
                     for layer in self.layers)


def solve(table: Table, flash_cap=None, ram_cap=None, instructions_cap=None) -> Config | None:
    """The least predicted drop under the caps (absolute figures), or None when no config meets them."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    keys = table.keys()
    n = len(keys)
    # a tiny flash term breaks ties between equal drops toward the smaller model (so the front is not padded)
    span = max(1, max(abs(table.flash[k]) for k in keys))
    c = np.array([table.drop[k] + 1e-7 * table.flash[k] / span for k in keys])
    rows, lo, hi = [], [], []
    for layer in table.layers:
        rows.append([1.0 if k[0] == layer else 0.0 for k in keys])
        lo.append(1.0)
        hi.append(1.0)
    for cap, deltas, base in ((flash_cap, table.flash, table.base_flash), (ram_cap, table.ram, table.base_ram),
                              (instructions_cap, table.instructions, table.base_instructions)):
        if cap is not None:
            rows.append([float(deltas[k]) for k in keys])
            lo.append(-np.inf)
            hi.append(float(cap - base))
    res = milp(c, constraints=LinearConstraint(np.array(rows), lo, hi), integrality=np.ones(n),
               bounds=Bounds(0, 1))
    if not res.success or res.x is None:
        return None
    chosen = {keys[i] for i in range(n) if res.x[i] > 0.5}
    return tuple((layer, next(s for s in table.specs[layer] if (layer, s) in chosen)) for layer in table.layers)


def milp_front(table: Table, steps: int = 24, ram_cap=None, instructions_cap=None) -> list[Config]:
    lo = table.predict(table.extreme("flash"))["flash_bytes"]
    hi = table.base_flash + max(0, sum(max(table.flash[(layer, s)] for s in table.specs[layer])
                                       for layer in table.layers))
    found: list[Config] = []
    for cap in np.linspace(lo, hi, max(2, steps)):
        config = solve(table, int(round(cap)), ram_cap, instructions_cap)
        if config is not None and config not in found:
            found.append(config)
    return found


def greedy_front(table: Table) -> list[Config]:
    current = dict(table.int8())
    path = [table.int8()]
    while True:
        best = None
        for layer in table.layers:
            now = (layer, current[layer])
            for s in table.specs[layer]:
                saved = table.flash[now] - table.flash[(layer, s)]
                if saved <= 0:
                    continue
                rate = (table.drop[(layer, s)] - table.drop[now]) / saved
                if best is None or rate < best[0]:
                    best = (rate, layer, s)
        if best is None:
            return path
        current[best[1]] = best[2]
        path.append(tuple((layer, current[layer]) for layer in table.layers))


def pareto(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the (flash, accuracy) points no other point beats on both (less flash, more accuracy)."""
    keep = []
    for i, (f, a) in enumerate(points):
        if not any((f2 <= f and a2 >= a) and (f2 < f or a2 > a) for j, (f2, a2) in enumerate(points) if j != i):
            keep.append(i)
    return sorted(keep, key=lambda i: points[i][0])


def hypervolume(points: Sequence[tuple[float, float]], flash_ref: float, acc_ref: float) -> float:
    """Area dominated by the points in (flash down, accuracy up) space, bounded by the reference corner."""
    # sweep over flash from right to left: the staircase of best accuracy at or below each flash
    xs = sorted({f for f, _ in points if f < flash_ref})
    area = 0.0
    for i, x in enumerate(xs):
        nxt = xs[i + 1] if i + 1 < len(xs) else flash_ref
        height = max(a for f, a in points if f <= x) - acc_ref
        area += max(0.0, height) * (nxt - x)
    return area


def compare(measured: Mapping[str, Sequence[tuple[float, float]]]) -> dict:
    """measured: method -> real (flash, accuracy) of its points. Hypervolume of each against the union's."""
    every = [p for pts in measured.values() for p in pts]
    if not every:
        return {}
    flash_ref = max(f for f, _ in every) + 1.0
    acc_ref = min(a for _, a in every) - 1e-9
    union = hypervolume(every, flash_ref, acc_ref)
    out = {"reference": {"flash_bytes": flash_ref, "accuracy": acc_ref}, "union_hypervolume": union}
    for method, pts in measured.items():
        hv = hypervolume(list(pts), flash_ref, acc_ref)
        out[method] = {"points": len(pts), "hypervolume": hv, "of_union": hv / union if union > 0 else 1.0}
    ranked = sorted(measured, key=lambda m: -out[m]["hypervolume"])
    if len(ranked) > 1:
        a, b = out[ranked[0]]["hypervolume"], out[ranked[1]]["hypervolume"]
        out["closer"] = ranked[0] if a > b * (1 + 1e-9) else "tie"
    return out
