"""`tinyq explore`: per-layer weight specs searched against accuracy, flash, RAM and instructions.

    space.py        which layers take which candidate specs
    sensitivity.py  accuracy with one layer changed (simulator)
    costs.py        exact flash / RAM (lower + plan), modelled instructions (bench-calibrated)
    search.py       additive model; MILP (HiGHS) sweep and greedy fronts; Pareto / hypervolume
    budget.py       budget strings with units
    report.py       table, pareto.json, pareto.png
    api.py          explore() -> ExploreResult
"""
from tinyq.explore.api import BudgetError, ExploreResult, Point, explore
from tinyq.explore.budget import Budgets, parse_amount

__all__ = ["BudgetError", "Budgets", "ExploreResult", "Point", "explore", "parse_amount"]
