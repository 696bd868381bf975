"""Flash of every shared model's conv/depthwise/FC weights, rewritten to each form and encoded by choose(),
against int8; the issue's goals, summed per model. `pytest -s` prints the table."""
from __future__ import annotations

import time

import numpy as np
import pytest

from tests.encode.helpers import FORMS, MODELS, check_form, form_encoding, rewritten, weights
from tinyq.encode import candidates, choose, encode, rows_view
from tinyq.tflite_reader import read_model

# the flash goals, as a fraction of int8: bits/8 + 3 % of int8 for dense forms
GOALS = {"int4": 4 / 8 + 0.03, "int2": 2 / 8 + 0.03, "ternary": 2 / 8 + 0.03, "binary": 1 / 8 + 0.03,
         "codebook16": 4 / 8 + 0.03, "sparse75": 0.45, "sparse2:4": 0.65}
# hello_world has 288 weights: its [16, 1] layer takes a byte per row in any encoding (rows are byte-aligned),
# and per-channel magnitudes, a 16-entry table or 4-byte row starts cost more than the bits saved. Pinned.
KNOWN_MISSES = {("tflm_hello_world_int8", "ternary"): 0.352, ("tflm_hello_world_int8", "binary"): 0.234,
                ("tflm_hello_world_int8", "codebook16"): 0.612, ("tflm_hello_world_int8", "sparse75"): 0.660}


def _model_sizes(models_dir, model: str) -> dict:
    row = {}
    for form in FORMS:
        graph = read_model(rewritten(models_dir, model, form)[0])
        plain = chosen = 0
        as_expected = 0
        for op, t, rows, axis in weights(graph):
            check_form(rows, axis, form)
            best = choose(rows, axis, float("inf"))  # --weights smallest: flash alone
            assert np.array_equal(best.decode(), rows)
            if form != "sparse2:4" or rows.shape[1] % 4 == 0:
                assert best.nbytes <= encode(rows, axis, form_encoding(form)).nbytes
            plain += rows.size
            chosen += best.nbytes
            as_expected += rows.size if best.encoding == form_encoding(form) else 0
        row[form] = (chosen / plain, as_expected / plain)
    return row


def _table(results: dict) -> str:
    head = f"{'model':34}" + "".join(f"{f:>11}" for f in FORMS)
    lines = [head]
    for model, row in results.items():
        lines.append(f"{model:34}" + "".join(f"{row[f][0]:>10.3f}{'*' if (model, f) in KNOWN_MISSES else ' '}"
                                             for f in FORMS))
    lines.append("(bytes chosen / int8 bytes, summed over the model's weights; * = known miss of the goal)")
    return "\n".join(lines)


def _check_goals(model: str, row: dict) -> None:
    for form, goal in GOALS.items():
        ratio = row[form][0]
        if (model, form) in KNOWN_MISSES:
            assert ratio <= KNOWN_MISSES[model, form], (model, form, ratio)
        else:
            assert ratio <= goal, f"{model} {form}: {ratio:.3f} of int8, goal {goal:.3f}"
    # Which encoding wins (the form's own, or a sparse one smaller still) is printed, not asserted: the
    # flash goals above are the contract, and choose() is never larger than the form's own encoding.


def test_flash_goals_fast(shared_models):
    results = {m: _model_sizes(shared_models, m) for m in ("tflm_hello_world_int8", "mlperf_kws_dscnn_int8")}
    print("\n" + _table(results))
    for model, row in results.items():
        _check_goals(model, row)


@pytest.mark.slow
def test_flash_goals_all_models(shared_models):
    results = {m: _model_sizes(shared_models, m) for m in MODELS}
    print("\n" + _table(results))
    print("share of weights where choose() picked the form's own encoding:")
    for model, row in results.items():
        print(f"{model:34}" + "".join(f"{row[f][1]:>10.0%} " for f in FORMS))
    for model, row in results.items():
        _check_goals(model, row)


def test_every_candidate_of_vww_encodes_quickly(shared_models):
    """No per-element Python: all candidates of all 28 VWW weight tensors (208k weights) in well under a second
    on an idle core; the bound is loose for shared CI machines."""
    graph = read_model(shared_models / "mlperf_vww_mobilenetv1_025_int8.tflite")
    tensors = [rows_view(graph.tensor(op.inputs[1]).data, op.opcode) for op in graph.ops
               if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    start = time.perf_counter()
    count = sum(len(candidates(rows, axis)) for rows, axis in tensors)
    elapsed = time.perf_counter() - start
    print(f"\nVWW: {count} candidates of {len(tensors)} tensors in {elapsed:.2f} s")
    assert elapsed < 3.0
