"""A generated model linked by a vendor's own linker script (an STM32Cube-style one that knows nothing of tinyq)
keeps its activation arena out of flash: the arena is a NOBITS section that such a script's *(.bss*) gathers."""
import shutil
import subprocess
from pathlib import Path

import pytest

from tinyq.compiler import compile_model
from tinyq.resources import data_dir

from . import dummy  # noqa: F401  (the firmware tests' conventions)

CC = "arm-none-eabi-gcc"
FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O1", "-ffunction-sections",
         "-fdata-sections"]

# what STM32CubeIDE generates for an STM32F4, trimmed: no tinyq section is named
VENDOR_LD = """
ENTRY(model_invoke)
MEMORY
{
  FLASH (rx)  : ORIGIN = 0x08000000, LENGTH = 1024K
  RAM   (xrw) : ORIGIN = 0x20000000, LENGTH = 128K
}
_estack = ORIGIN(RAM) + LENGTH(RAM);
SECTIONS
{
  .isr_vector : { . = ALIGN(4); KEEP(*(.isr_vector)) . = ALIGN(4); } >FLASH
  .text : { . = ALIGN(4); *(.text) *(.text*) KEEP (*(.init)) KEEP (*(.fini)) . = ALIGN(4); _etext = .; } >FLASH
  .rodata : { . = ALIGN(4); *(.rodata) *(.rodata*) . = ALIGN(4); } >FLASH
  .ARM.extab : { *(.ARM.extab* .gnu.linkonce.armextab.*) } >FLASH
  .ARM : { __exidx_start = .; *(.ARM.exidx*) __exidx_end = .; } >FLASH
  _sidata = LOADADDR(.data);
  .data : { . = ALIGN(4); _sdata = .; *(.data) *(.data*) . = ALIGN(4); _edata = .; } >RAM AT> FLASH
  .bss : { _sbss = .; *(.bss) *(.bss*) *(COMMON) . = ALIGN(4); _ebss = .; } >RAM
  ._user_heap_stack : { . = ALIGN(8); PROVIDE ( end = . ); . = . + 0x600; . = ALIGN(8); } >RAM
}
"""


def _sections(elf: Path) -> dict[str, tuple[str, int]]:
    """name -> (type, size) from readelf -S."""
    out = subprocess.run(["arm-none-eabi-readelf", "-S", "-W", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    got = {}
    for line in out.splitlines():
        parts = line.replace("[ ", "[").split()
        if len(parts) > 6 and parts[0].startswith("[") and parts[0].strip("[]").isdigit():
            got[parts[1]] = (parts[2], int(parts[5], 16))
    return got


@pytest.fixture(scope="module")
def project(tmp_path_factory, shared_models):
    out = tmp_path_factory.mktemp("vendor") / "kws"
    compile_model(shared_models / "mlperf_kws_dscnn_int8.tflite", out, board="nucleo_f446re", project=False)
    return out


@pytest.mark.skipif(shutil.which(CC) is None, reason="needs arm-none-eabi-gcc")
def test_arena_section_is_nobits(project, tmp_path):
    obj = tmp_path / "model.o"
    subprocess.run([CC, *FLAGS, f"-I{data_dir('firmware') / 'include'}", f"-I{project / 'src'}", "-c",
                    str(project / "src" / "model.c"), "-o", str(obj)], check=True)
    assert _sections(obj)[".bss.tq_arena"][0] == "NOBITS"


@pytest.mark.firmware
@pytest.mark.slow
@pytest.mark.skipif(shutil.which(CC) is None, reason="needs arm-none-eabi-gcc")
def test_vendor_linker_script_keeps_the_arena_out_of_flash(project, tmp_path):
    fw = data_dir("firmware")
    (tmp_path / "vendor.ld").write_text(VENDOR_LD)
    elf, image = tmp_path / "fw.elf", tmp_path / "fw.bin"
    subprocess.run([CC, *FLAGS, f"-I{fw / 'include'}", f"-I{project / 'src'}", str(project / "src" / "model.c"),
                    str(project / "src" / "model_data.c"), *map(str, sorted((fw / "src").glob("*.c"))),
                    "-T", str(tmp_path / "vendor.ld"), "-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections",
                    "-o", str(elf)], check=True)
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", str(elf), str(image)], check=True)
    sections = _sections(elf)
    arena = [ln for ln in subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True,
                                         check=True).stdout.splitlines() if ln.endswith(" model_arena")]
    arena_bytes = int(arena[0].split()[1], 16)
    assert arena_bytes >= 8_000  # KWS: one 25x5x64 activation and the overlaps' leads
    assert sections[".bss"] == ("NOBITS", sections[".bss"][1]) and sections[".bss"][1] >= arena_bytes
    # the flash image holds code and weights only: no arena of zeros
    flash = sum(size for name, (kind, size) in sections.items() if kind == "PROGBITS" and name in
                (".isr_vector", ".text", ".rodata", ".tq_weights", ".data", ".ARM", ".ARM.extab"))
    assert image.stat().st_size <= flash + 64
