# SCons build script of tinyq's offline dev-platform: bare-metal Cortex-M with the system arm-none-eabi-gcc.
#
# Consumes the board manifest that tinyq.targets.project writes (boards/tinyq_<board>.json; its
# "build.tinyq" block holds the memory map, stack size, console and upload settings). Produces
# $BUILD_DIR/firmware.elf/.bin/.hex; generates the memory linker script and tq_board.h (console
# selection, board_files.py) into $BUILD_DIR/tinyq_gen; compiles rt/ (startup, console) with the project.
# Extra targets: `-t qemu` (run an emulated board) and `-t upload` (flash a real board).
import glob
import os
import sys

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
platform = env.PioPlatform()
board = env.BoardConfig()
PLAT_DIR = platform.get_dir()
TQ = board.get("build.tinyq")
GEN_DIR = os.path.join(env.subst("$BUILD_DIR"), "tinyq_gen")
STACK_FILE = os.path.join(env.subst("$BUILD_DIR"), "tinyq_stack.txt")
sys.path.insert(0, os.path.join(PLAT_DIR, "builder"))
import stack_bound  # noqa: E402  (the platform's own modules, beside this script)
from board_files import board_header, memory_script, write_if_changed  # noqa: E402

# The stack reserve: the worst-case stack of the model's invoke, from GCC's call graphs of this build
# (stack_bound.py), plus HARNESS_BYTES for main's frame and the harness's newlib stdio, an exception frame
# with FP state and the fault reporter. When the call graphs give no bound, the board's stack_bytes.
HARNESS_BYTES = TQ["memory"].get("stack_margin", 2048)  # tinyq.boards.STACK_MARGIN_BYTES


def last_reserve():
    """The reserve the last link sized (so an unchanged build does not relink), else the board's."""
    try:
        with open(STACK_FILE, encoding="utf-8") as f:
            return int(dict(line.split("=", 1) for line in f.read().split()).get("reserve"))
    except (OSError, ValueError, TypeError):
        return TQ["memory"]["stack_bytes"]


def size_stack(target, source, env):
    """Before the link: the reserve from this build's call graphs, into the memory script and tinyq_stack.txt."""
    ci = glob.glob(os.path.join(env.subst("$BUILD_DIR"), "**", "*.ci"), recursive=True)
    invoke, why = stack_bound.bound(ci, lambda name: name.endswith("_invoke_v") or name.endswith("_invoke_level_v"))
    reserve = (invoke + HARNESS_BYTES + 7) // 8 * 8 if invoke is not None else TQ["memory"]["stack_bytes"]
    write_if_changed(os.path.join(GEN_DIR, "tinyq_memory.ld"), memory_script(TQ, reserve))
    with open(STACK_FILE, "w", encoding="utf-8") as f:
        f.write("invoke=%s\nmargin=%d\nreserve=%d\n" % (invoke if invoke is not None else "none", HARNESS_BYTES, reserve))
        if why:
            f.write("why=%s\n" % why.replace(" ", "_"))


os.makedirs(GEN_DIR, exist_ok=True)
write_if_changed(os.path.join(GEN_DIR, "tinyq_memory.ld"), memory_script(TQ, last_reserve()))
write_if_changed(os.path.join(GEN_DIR, "tq_board.h"), board_header(TQ))
SEMIHOSTING = TQ["console"]["kind"] == "semihosting"

env.Replace(
    AR="arm-none-eabi-gcc-ar",
    AS="arm-none-eabi-as",
    CC="arm-none-eabi-gcc",
    CXX="arm-none-eabi-g++",
    GDB="arm-none-eabi-gdb",
    OBJCOPY="arm-none-eabi-objcopy",
    RANLIB="arm-none-eabi-gcc-ranlib",
    SIZETOOL="arm-none-eabi-size",
    ARFLAGS=["rc"],
    SIZEPROGREGEXP=r"^(?:\.text|\.data|\.rodata|\.ARM\.exidx|\.init_array|\.tq_weights)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.tq_arena|\.stack)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -A -d $SOURCES",
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    LDSCRIPT_PATH=os.path.join(GEN_DIR, "tinyq_memory.ld"),
)

arch = TQ["arch_flags"]
env.Append(
    ASFLAGS=arch,
    ASPPFLAGS=["-x", "assembler-with-cpp"],
    CCFLAGS=arch + ["-O2", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra", "-Werror",
                    "-fstack-usage", "-fcallgraph-info=su"],  # frame sizes and call graphs for size_stack
    CFLAGS=["-std=c99"],
    LINKFLAGS=arch + ["--specs=nano.specs", "--specs=rdimon.specs" if SEMIHOSTING else "--specs=nosys.specs",
                      "-Wl,--gc-sections", "-Wl,-Map,${BUILD_DIR}/firmware.map"],
    LIBS=["m"],
    LIBPATH=[os.path.join(PLAT_DIR, "ld")],  # INCLUDE tinyq_sections.ld resolves here
    CPPPATH=[GEN_DIR, os.path.join(PLAT_DIR, "rt")],
)

# startup code, console and vector table ship with the platform, not with the project
env.BuildSources(os.path.join("$BUILD_DIR", "tinyq_rt"), os.path.join(PLAT_DIR, "rt"))

target_elf = env.BuildProgram()
env.AddPreAction(target_elf, env.VerboseAction(size_stack, "Sizing the stack from the call graph"))
target_bin = env.Command(os.path.join("$BUILD_DIR", "firmware.bin"), target_elf,
                         env.VerboseAction("$OBJCOPY -O binary $SOURCES $TARGET", "Building $TARGET"))
target_hex = env.Command(os.path.join("$BUILD_DIR", "firmware.hex"), target_elf,
                         env.VerboseAction("$OBJCOPY -O ihex $SOURCES $TARGET", "Building $TARGET"))
target_size = env.Alias("size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE"))
AlwaysBuild(target_size)

if TQ.get("qemu_machine"):
    # the harness reads input.bin and writes output.bin in the project directory (semihosting)
    qemu = ("qemu-system-arm -M %s -nographic -monitor none -semihosting-config "
            "enable=on,target=native,arg=firmware,arg=input.bin,arg=output.bin -kernel $SOURCE" % TQ["qemu_machine"])
    env.AddPlatformTarget("qemu", target_elf, env.VerboseAction(qemu, "Running $SOURCE in QEMU"),
                          "Run in QEMU (input.bin -> output.bin)")

upload = TQ.get("upload")
if upload:
    protocol = upload["protocol"]
    if protocol == "openocd":
        cmd = ('openocd -f interface/stlink.cfg -f target/%s.cfg -c "program {$SOURCE} verify reset exit"'
               % upload["openocd_target"])
        source = target_elf
    elif protocol == "stlink":
        cmd = "st-flash --reset write $SOURCE 0x%08X" % TQ["memory"]["flash"][0]
        source = target_bin
    else:  # nrfjprog
        cmd = "nrfjprog -f NRF52 --program $SOURCE --sectorerase --verify --reset"
        source = target_hex
    env.AddPlatformTarget("upload", source, env.VerboseAction(cmd, "Uploading $SOURCE (%s)" % protocol),
                          "Upload")

Default([target_elf, target_bin, target_hex, target_size])
