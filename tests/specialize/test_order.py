"""Which preparer is tried first must not depend on import order: on the M55 (Helium and DSP) the Helium
preparers come first even when a DSP preparer module was imported before the registry (as a test that
imports tinyq.specialize.conv_dsp does; that once made the M55 firmware tests run the DSP kernels)."""
import subprocess
import sys

from tests.conftest import REPO


def test_helium_first_whatever_was_imported_first():
    code = (
        "import tinyq.specialize.conv_dsp, tinyq.specialize.fully_connected_dsp, tinyq.specialize.depthwise_dsp\n"
        "from tinyq.specialize import candidates\n"
        "for k in ('tq_conv_s8', 'tq_fully_connected_s8', 'tq_depthwise_conv_s8'):\n"
        "    print(k, [p.feature for p in candidates(k, frozenset({'dsp', 'mve'}))])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:3] == [
        "tq_conv_s8 ['mve', 'dsp']", "tq_fully_connected_s8 ['mve', 'dsp']", "tq_depthwise_conv_s8 ['mve', 'dsp']"]


def test_dsp_only_boards_get_dsp_preparers():
    from tinyq.specialize import candidates

    assert [p.feature for p in candidates("tq_conv_s8", frozenset({"dsp"}))] == ["dsp"]
    assert candidates("tq_conv_s8", frozenset()) == []
