"""The additive search on a hand-made table: MILP is optimal for the model, greedy is a path, fronts are Pareto."""
import itertools

from tinyq.explore import search

LAYERS = ("a", "b", "c")
SPECS = ("int8", "int4", "int2")
DROP = {("a", "int8"): 0, ("a", "int4"): 0.01, ("a", "int2"): 0.2,
        ("b", "int8"): 0, ("b", "int4"): 0.0, ("b", "int2"): 0.03,
        ("c", "int8"): 0, ("c", "int4"): 0.05, ("c", "int2"): 0.06}
SIZE = {"a": 100, "b": 1000, "c": 400}
FLASH = {(l, s): -SIZE[l] * {"int8": 0, "int4": 4, "int2": 6}[s] // 8 for l in LAYERS for s in SPECS}
ZERO = {k: 0 for k in DROP}
TABLE = search.Table(LAYERS, {l: SPECS for l in LAYERS}, DROP, FLASH, ZERO, ZERO, 0.9, 2000, 500, 10**6)


def brute(cap):
    best = None
    for combo in itertools.product(SPECS, repeat=3):
        c = tuple(zip(LAYERS, combo))
        p = TABLE.predict(c)
        if p["flash_bytes"] <= cap and (best is None or p["accuracy"] > TABLE.predict(best)["accuracy"] + 1e-12):
            best = c
    return best


def test_milp_matches_brute_force_at_every_cap():
    for cap in range(600, 2001, 50):
        got = search.solve(TABLE, cap)
        want = brute(cap)
        if want is None:
            assert got is None
        else:
            assert abs(TABLE.predict(got)["accuracy"] - TABLE.predict(want)["accuracy"]) < 1e-12
            assert TABLE.predict(got)["flash_bytes"] <= cap


def test_infeasible_cap_is_none_and_extreme_is_smallest():
    smallest = TABLE.predict(TABLE.extreme("flash"))["flash_bytes"]
    assert search.solve(TABLE, smallest) is not None
    assert search.solve(TABLE, smallest - 1) is None


def test_greedy_path_only_shrinks_and_ends_smallest():
    path = search.greedy_front(TABLE)
    sizes = [TABLE.predict(c)["flash_bytes"] for c in path]
    assert path[0] == TABLE.int8() and sizes == sorted(sizes, reverse=True)
    assert sizes[-1] == TABLE.predict(TABLE.extreme("flash"))["flash_bytes"]


def test_pareto_and_hypervolume():
    pts = [(10, 0.5), (20, 0.9), (15, 0.4), (30, 0.9)]
    assert search.pareto(pts) == [0, 1]
    assert search.hypervolume([(10, 1.0)], 20, 0.0) == 10.0
    comp = search.compare({"x": [(10, 0.5), (20, 0.9)], "y": [(10, 0.5)]})
    assert comp["closer"] == "x" and comp["x"]["of_union"] == 1.0
