# Extra script (pre) of env "official": the same firmware on PlatformIO's own platform for the board
# (ststm32, nordicnrf52) and its toolchain, for machines that reach PlatformIO's registry. That platform
# compiles the project bare-metal (no framework); this script adds what tinyq's own builder (main.py) adds:
# the startup code and console (rt/), the memory linker script and tq_board.h from tinyq's board manifest,
# the core's code generation flags and -O2 (the ini unflags the platform's -Os).
# The stack reserve is the board's stack_bytes (tinyq's builder sizes it from -fcallgraph-info call graphs,
# which a toolchain from the registry may not write).
import json
import os
import sys

Import("env")  # noqa: F821  (SCons provides it)

PROJECT_DIR = env.subst("$PROJECT_DIR")
PLAT_DIR = os.path.join(PROJECT_DIR, "platform")
sys.path.insert(0, os.path.join(PLAT_DIR, "builder"))
from board_files import board_header, memory_script, write_if_changed  # noqa: E402

with open(os.path.join(PROJECT_DIR, "boards", env.GetProjectOption("custom_tinyq_board") + ".json"),
          encoding="utf-8") as f:
    TQ = json.load(f)["build"]["tinyq"]
GEN_DIR = os.path.join(env.subst("$BUILD_DIR"), "tinyq_gen")
os.makedirs(GEN_DIR, exist_ok=True)
write_if_changed(os.path.join(GEN_DIR, "tinyq_memory.ld"), memory_script(TQ, TQ["memory"]["stack_bytes"]))
write_if_changed(os.path.join(GEN_DIR, "tq_board.h"), board_header(TQ))

arch = TQ["arch_flags"]
env.Append(
    ASFLAGS=arch,
    CCFLAGS=arch + ["-O2", "-ffunction-sections", "-fdata-sections"],
    CFLAGS=["-std=c99"],
    LINKFLAGS=arch + ["-Wl,--gc-sections"],  # newlib-nano: official_link.py
    LIBPATH=[os.path.join(PLAT_DIR, "ld")],  # INCLUDE tinyq_sections.ld resolves here
    CPPPATH=[GEN_DIR, os.path.join(PLAT_DIR, "rt")],
)
env.Replace(LDSCRIPT_PATH=os.path.join(GEN_DIR, "tinyq_memory.ld"))
env.BuildSources(os.path.join("$BUILD_DIR", "tinyq_rt"), os.path.join(PLAT_DIR, "rt"))
