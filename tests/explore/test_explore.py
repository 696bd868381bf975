"""explore on the digits example, for real: no mocks; --no-bench keeps it to conversion + simulator runs."""
import json

import numpy as np
import pytest

from tinyq.explore import BudgetError, explore
from tests.explore.conftest import cli, explore_args

KEYS = {"tflite", "config", "accuracy", "flash_bytes", "ram_bytes", "instructions", "within_budget", "chosen"}


def run(d, out=None, **kw):
    return explore(d / "digits.keras", d / "calib.npy", d / "test_x.npy", d / "test_y.npy", "mps2-an386", out,
                   bench=False, progress=False, **kw)


@pytest.fixture(scope="module")
def explored(digits, tmp_path_factory):
    out = tmp_path_factory.mktemp("explore")
    # 4 KiB: int4 everywhere (3,928 B) fits; ternary and int2 no longer shrink the flash on the M4, as auto keeps
    # int8 for them there (their packed DSP kernels take 2-3x the prepared int8 kernels' instructions)
    return run(digits, out, flash_budget="4KiB"), out


def test_pareto_json_and_plot(explored):
    result, out = explored
    points = json.loads((out / "pareto.json").read_text())
    assert points and all(KEYS <= set(p) for p in points)
    assert sum(p["chosen"] for p in points) == 1
    assert (out / "pareto.png").stat().st_size > 1000
    for p in points:
        from pathlib import Path

        assert Path(p["tflite"]).is_file()
    flashes = [p["flash_bytes"] for p in points]
    assert flashes == sorted(flashes)


def test_chosen_fits_and_is_the_best_that_does(explored):
    result, _ = explored
    c = result.chosen
    assert c.flash_bytes <= 4096 and c.within_budget
    fitting = [p for p in result.measured if p.flash_bytes <= 4096]
    assert c.accuracy == max(p.accuracy for p in fitting)


def test_reported_figures_are_the_compilers(explored):
    """flash/RAM of a point are what lower + plan give for its .tflite (what `tinyq compile` would store)."""
    from tinyq.explore import costs

    result, _ = explored
    p = result.chosen
    fp = costs.footprint(costs.lower_model(open(p.tflite, "rb").read(), "dsp"))
    assert (fp.flash_bytes, fp.ram_bytes) == (p.flash_bytes, p.ram_bytes)
    assert p.flash_bytes < min(q.flash_bytes for q in result.measured if not q.config)  # smaller than int8


def test_search_comparison_reported(explored):
    result, out = explored
    comp = json.loads((out / "explore.json").read_text())["search_comparison"]
    assert {"milp", "greedy"} <= set(comp) and comp["closer"] in ("milp", "greedy", "tie")
    assert 0 < comp["milp"]["of_union"] <= 1 and 0 < comp["greedy"]["of_union"] <= 1


def test_budget_no_config_meets(digits):
    with pytest.raises(BudgetError) as err:
        run(digits, flash_budget=500)
    msg = str(err.value)
    assert "smallest flash reachable is" in msg and "budget 500" in msg
    assert 500 < err.value.minimums["flash_bytes"] < 6808


def test_int8_already_meets(digits, tmp_path):
    result = run(digits, tmp_path, flash_budget="1MB", ram_budget="64KiB")
    assert result.int8_meets_budgets and "int8 already meets" in result.message
    assert result.chosen.config == {} and len(result.points) == 1
    assert json.loads((tmp_path / "pareto.json").read_text())[0]["chosen"] is True


def test_cli_table_and_files(digits, tmp_path):
    r = cli(*explore_args(digits, tmp_path, "--no-bench", "--flash-budget", "4kB", "--candidates", "int8,int4",
                          "--layers", "pointwise,logits"))
    assert r.returncode == 0, r.stderr
    assert "chosen:" in r.stdout and "found by" in r.stdout
    points = json.loads((tmp_path / "pareto.json").read_text())
    assert all(set(p["config"]) == {"pointwise", "logits"} for p in points)


@pytest.mark.parametrize("extra,needle", [
    (["--flash-budget", "64kb"], "--flash-budget '64kb'"),
    (["--ram-budget", "lots"], "--ram-budget 'lots'"),
    (["--instructions-budget", "1MiB"], "--instructions-budget '1MiB'"),
    (["--candidates", "int4,int9"], "bad weight spec 'int9'"),
    (["--candidates", "binary+sparse0.5"], "binary weights have no zero level"),
    (["--candidates", "int4/int16"], "mixed int16 activations"),
    (["--layers", "conv1,nope"], "no layer 'nope'"),  # this one loads the Keras model (TensorFlow) first
])
def test_cli_bad_input(digits, tmp_path, extra, needle):
    r = cli(*explore_args(digits, tmp_path, "--no-bench", *extra))
    assert r.returncode == 2, r.stdout + r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith("tinyq: error:")]
    assert len(lines) == 1 and needle in lines[0], r.stderr


@pytest.mark.parametrize("kw,needle", [
    ({"layers": ["pool"]}, "layer 'pool' (MaxPooling2D) has no weights"),
    ({"layer_candidates": {"flatten": "int4"}}, "layer 'flatten' (Flatten) has no weights"),
    ({"layer_candidates": {"logitz": "int4"}}, "no layer 'logitz'; layers with weights: conv1, dwconv"),
])
def test_bad_layers(digits, kw, needle):
    """In-process (the CLI path is test_cli_bad_input's): these need the Keras model, so TensorFlow, loaded."""
    from tinyq.errors import InputError

    with pytest.raises(InputError) as err:
        run(digits, **kw)
    assert needle in str(err.value)


def test_data_and_labels_do_not_match(digits, tmp_path):
    from tinyq.errors import InputError

    np.save(tmp_path / "classes.npy", np.full(360, 12))
    with pytest.raises(InputError, match="class indices"):
        explore(digits / "digits.keras", digits / "calib.npy", digits / "test_x.npy", tmp_path / "classes.npy",
                "mps2-an386", bench=False, progress=False)
    np.save(tmp_path / "short.npy", np.load(digits / "test_y.npy")[:-5])
    argv = explore_args(digits, tmp_path / "o", "--no-bench")
    argv[argv.index("--labels") + 1] = str(tmp_path / "short.npy")
    r = cli(*argv)
    assert r.returncode == 2 and "tinyq: error:" in r.stderr, r.stderr
    assert "rows, but the data has 360 samples" in r.stderr


@pytest.mark.slow
def test_default_path_benches_on_mps2_an386(digits, tmp_path):
    """The issue's default: int8 benched once to calibrate the model, then the chosen point benched."""
    result = explore(digits / "digits.keras", digits / "calib.npy", digits / "test_x.npy", digits / "test_y.npy",
                     "mps2-an386", tmp_path, flash_budget="4kB", bench_points=1, progress=False,
                     candidates="int8,int4,ternary")
    assert result.chosen.instructions_measured is not None
    assert result.cost_model["source"] == "bench mps2-an386" and result.cost_model["points"] >= 1
    assert 0 <= result.cost_model["mean_abs_percent"] < 25
