"""Generated C: snapshot of a small model's model.h and model.c, and byte-identical output across runs.

Regenerate the snapshots after an intended change with TINYQ_UPDATE_SNAPSHOTS=1.
(model_data.c is compared between runs but not snapshotted: it holds the shared model's weights.)
"""
import filecmp
import os
from pathlib import Path

import pytest

from tests.samples import model_path
from tinyq.compiler import compile_model

SNAPSHOTS = Path(__file__).parent / "snapshots"


def test_snapshot_hello_world(tmp_path):
    compile_model(model_path("tflm_hello_world_int8"), tmp_path / "o", board="host", project=False)
    for name in ("model.h", "model.c"):
        got = (tmp_path / "o" / "src" / name).read_text()
        snap = SNAPSHOTS / f"hello_world_{name}.txt"
        if os.environ.get("TINYQ_UPDATE_SNAPSHOTS"):
            snap.write_text(got)
        assert got == snap.read_text(), f"{name} differs from {snap}; rerun with TINYQ_UPDATE_SNAPSHOTS=1 if intended"


@pytest.mark.parametrize("stem", ["tflm_hello_world_int8", "mlperf_ad_fc_autoencoder_int8"])
def test_two_compiles_give_identical_bytes(tmp_path, stem):
    for d in ("a", "b"):
        compile_model(model_path(stem), tmp_path / d, board="mps2-an386")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files, "nothing generated"
    for rel in files:
        assert filecmp.cmp(tmp_path / "a" / rel, tmp_path / "b" / rel, shallow=False), f"{rel} differs between runs"


def test_generated_model_c_names_layers(tmp_path):
    """A person can find layer N by its TFLite tensor name, with its kernel and parameters."""
    compile_model(model_path("tflm_hello_world_int8"), tmp_path / "o", board="host", project=False)
    text = (tmp_path / "o" / "src" / "model.c").read_text()
    assert 'layer 1: FULLY_CONNECTED -> tq_fully_connected_s8, output "sequential/dense_1/MatMul' in text
    assert "static const tq_fully_connected_params model_c1_params = {" in text


def test_bad_prefix_is_refused(tmp_path, capsys):
    from tinyq.cli import main

    assert main(["compile", str(model_path("tflm_hello_world_int8")), "--out", str(tmp_path), "--prefix", "3bad"]) == 2
    assert "is not a C identifier" in capsys.readouterr().err
