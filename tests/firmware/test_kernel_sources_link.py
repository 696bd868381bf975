"""The kernel-source scan (tinyq.targets.kernel_sources) against the compiler's own symbol tables: every kernel
source compiled for a core with the DSP extension and one with Helium, with the assert and trace builds on.
What an object defines, the scan must say that file defines; what an object leaves undefined, the scan must
pull in with that file. A name the scan missed failed a firmware link (macros that
define entry points: WIDTH_BODIES(tq_conv_s8_wk_dsp, ...), tq_##op##_s16_w4_dsp)."""
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tinyq.boards import resolve_board
from tinyq.resources import data_dir
from tinyq.targets.kernel_sources import KernelLibrary, library_texts

# Cortex-M4 (DSP) and M55 (DSP and Helium): which symbols exist; the scan reads every #if branch anyway
BOARDS = ("mps2-an386", "mps3-an547")
DEFINES = ("-DTQ_ENABLE_ASSERT", "-DTQ_TRACE")  # asserts and tracing add calls, never remove one


def _symbols(obj: Path) -> tuple[set[str], set[str]]:
    """(defined global, undefined) tq_ symbols of an object file."""
    out = subprocess.run(["arm-none-eabi-nm", "-g", str(obj)], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        kind, name = line.split()[-2:]
        if name.startswith("tq_"):
            (undefined if kind == "U" else defined).add(name)
    return defined, undefined


@pytest.mark.slow
@pytest.mark.firmware
def test_the_scan_agrees_with_the_symbol_tables(tmp_path):
    firmware = data_dir("firmware")
    library = library_texts(firmware)
    sources = sorted(p for p in library if p.suffix == ".c")
    jobs = [(board, src) for board in BOARDS for src in sources]

    def compile_one(job):
        board, src = job
        obj = tmp_path / f"{board}-{src.stem}.o"
        subprocess.run(["arm-none-eabi-gcc", *resolve_board(board).arch_flags, "-std=c99", "-O1", *DEFINES, "-c",
                        f"-I{firmware / 'include'}", f"-I{firmware / 'src'}", str(firmware / src), "-o", str(obj)],
                       check=True, capture_output=True)
        return job, _symbols(obj)

    with ThreadPoolExecutor(2) as pool:
        tables = list(pool.map(compile_one, jobs))
    definer = {name: src for (_, src), (defined, _) in tables for name in defined}
    wrong, missed = {}, {}
    scan = KernelLibrary(library)
    for name, src in definer.items():
        if scan.owner_of(name) != src:
            wrong[name] = f"{src}, not {scan.owner_of(name)}"
    for (board, src), (_, undefined) in tables:
        pulled = scan.needed([library[src]]) | {src}
        for name in sorted(undefined):
            if name in definer and definer[name] not in pulled:
                missed.setdefault(f"{src} on {board}", []).append(name)
    assert not wrong, f"the scan does not find these definitions: {wrong}"
    assert not missed, f"the scan does not pull in what these objects call: {missed}"
    assert {"tq_conv_s8_wk_dsp", "tq_fully_connected_s16_w4_dsp"} <= set(definer)
