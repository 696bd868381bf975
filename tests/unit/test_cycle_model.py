"""The cycle model: the plugin's instruction classifier on assembled instructions, and the per-core tables on
known tiny sequences (figures worked out by hand from the TRM tables quoted in tinyq/bench/cycles.py)."""
import re
import shutil
import subprocess

import pytest

from tinyq.bench.cycles import CLASSES, CORES, EXTRAS, M3, M4, M7, M55, estimate_cycles, timing
from tinyq.resources import data_dir

PLUGIN = data_dir("firmware") / "plugin"

# (instruction, class, registers moved): Armv7E-M (Cortex-M4 with FPU)
M4_CASES = [
    ("adds r0, r1, r2", "alu", 0), ("ssat r0, #8, r1", "alu", 0), ("mov pc, lr", "branch", 0),
    ("muls r0, r1, r0", "mul", 0), ("mul r0, r1, r2", "mul", 0), ("mla r0, r1, r2, r3", "mla", 0),
    ("mls r0, r1, r2, r3", "mla", 0), ("smull r0, r1, r2, r3", "mull", 0), ("smlal r0, r1, r2, r3", "mull", 0),
    ("smlad r0, r1, r2, r3", "dsp_mac", 0), ("smlabb r0, r1, r2, r3", "dsp_mac", 0),
    ("smmulr r0, r1, r2", "dsp_mac", 0), ("smlald r0, r1, r2, r3", "dsp_mac", 0),
    ("sxtb16 r0, r1", "simd", 0), ("sxtab16 r0, r1, r2", "simd", 0), ("sxtb r0, r1", "alu", 0),
    ("sxth.w r0, r1", "alu", 0), ("sadd16 r0, r1, r2", "simd", 0), ("uadd8 r0, r1, r2", "simd", 0),
    ("sel r0, r1, r2", "simd", 0), ("qadd r0, r1, r2", "simd", 0), ("clz r0, r1", "alu", 0),
    ("sdiv r0, r1, r2", "div", 0), ("udiv r0, r1, r2", "div", 0),
    ("ldr r0, [r1, #4]", "ldr", 0), ("ldrsb.w r0, [r1, r2]", "ldr", 0), ("ldr r0, [sp, #8]", "ldr", 0),
    ("ldrd r0, r1, [r2]", "ldrd", 0), ("ldm r0!, {r1-r3}", "ldm", 3), ("pop {r4-r7, pc}", "ldm", 5),
    ("ldmia.w r0, {r1-r9}", "ldm", 9), ("str r0, [r1]", "str", 0), ("strb.w r0, [r1, #-1]", "str", 0),
    ("strd r0, r1, [r2, #8]", "strd", 0), ("push {r4-r7, lr}", "stm", 5), ("stmdb sp!, {r4-r11, lr}", "stm", 9),
    ("bl .", "branch", 0), ("b.w .", "branch", 0), ("bx lr", "branch", 0), ("tbb [r0, r1]", "branch", 0),
    ("beq .", "branch_cond", 0), ("bne.w .", "branch_cond", 0), ("cbz r0, .+6", "branch_cond", 0),
    ("ite eq", "it", 0), ("moveq r0, #1", "alu", 0), ("movne r0, #2", "alu", 0),
    ("vadd.f32 s0, s1, s2", "fp", 0), ("vldr s0, [r0]", "fp", 0), ("nop", "other", 0),
]
# Armv8.1-M with MVE (Cortex-M55)
M55_CASES = [
    ("vldrb.s8 q0, [r0]", "mve_load", 0), ("vldrw.u32 q2, [r1], #16", "mve_load", 0),
    ("vldrb.u32 q0, [r1, q2]", "mve_load", 0), ("vstrb.8 q0, [r0]", "mve_store", 0),
    ("vmladava.s8 r0, q0, q1", "mve_mac", 0), ("vmlaldava.s16 r0, r1, q0, q1", "mve_mac", 0),
    ("vadd.i32 q0, q1, q2", "mve", 0), ("vqrdmulh.s32 q0, q1, r2", "mve", 0), ("vdup.32 q0, r1", "mve", 0),
    ("vctp.8 r2", "mve", 0), ("vpst", "mve", 0), ("vaddt.i32 q0, q1, q2", "mve", 0),
    ("dls lr, r3", "loop", 0), ("dlstp.8 lr, r2", "loop", 0),
    ("le lr, .", "loop_end", 0), ("letp lr, .", "loop_end", 0), ("sqrshr r0, r1", "alu", 0),
    ("smlad r0, r1, r2, r3", "dsp_mac", 0),
]

HARNESS = r"""
#include <stdio.h>
#include "tqclass.h"
int main(void) {  /* stdin: "<hw1> [<hw2>]" in hex per line; stdout: "<class> <registers>" */
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        unsigned h1 = 0, h2 = 0;
        int n = sscanf(line, "%x %x", &h1, &h2);
        uint8_t b[4] = {h1 & 0xFF, h1 >> 8, h2 & 0xFF, h2 >> 8};
        struct tq_insn_class k = tq_classify(b, n == 2 ? 4 : 2, 0);
        printf("%s %d\n", tq_counter_names[k.cls], k.regs);
    }
    return 0;
}
"""
_DUMP = re.compile(r"^\s*[0-9a-f]+:\s+([0-9a-f]{4}(?: [0-9a-f]{4})?)\s", re.MULTILINE)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    if not (shutil.which("gcc") and shutil.which("arm-none-eabi-as")):
        pytest.skip("needs gcc and arm-none-eabi-as")
    d = tmp_path_factory.mktemp("tqclass")
    (d / "main.c").write_text(HARNESS)
    subprocess.run(["gcc", "-O1", "-Wall", "-Werror", "-I", str(PLUGIN), "-o", str(d / "cls"), str(d / "main.c")],
                   check=True)

    def classify(cases, arch_flags):
        src = d / "t.s"
        src.write_text(".syntax unified\n.thumb\n" + "".join(f"{asm}\n" for asm, _, _ in cases))
        subprocess.run(["arm-none-eabi-as", *arch_flags, "-mthumb", "-o", str(d / "t.o"), str(src)], check=True)
        dump = subprocess.run(["arm-none-eabi-objdump", "-d", str(d / "t.o")], capture_output=True, text=True,
                              check=True).stdout
        codes = _DUMP.findall(dump)
        assert len(codes) == len(cases), dump
        out = subprocess.run([str(d / "cls")], input="\n".join(codes) + "\n", capture_output=True, text=True,
                             check=True).stdout.split("\n")
        return [(c.split()[0], int(c.split()[1])) for c in out if c]

    return classify


def test_classes_of_armv7em_instructions(classifier):
    got = classifier(M4_CASES, ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"])
    assert [(asm, *g) for (asm, _, _), g in zip(M4_CASES, got)] == M4_CASES


def test_classes_of_mve_and_loop_instructions(classifier):
    got = classifier(M55_CASES, ["-march=armv8.1-m.main+mve.fp+fp.dp", "-mfloat-abi=hard"])
    assert [(asm, *g) for (asm, _, _), g in zip(M55_CASES, got)] == M55_CASES


def test_python_names_match_the_plugin():
    header = (PLUGIN / "tqclass.h").read_text()
    names = re.search(r"tq_counter_names\[TQ_NCOUNTERS\] = \{(.*?)\};", header, re.S).group(1)
    assert tuple(re.findall(r'"(\w+)"', names)) == CLASSES + EXTRAS
    for t in CORES.values():
        assert set(t.cost) == set(CLASSES) and all(v >= 0 for v in t.cost.values())


# a DSP inner loop, one iteration: 2 word loads (the second pipelined), 2 SMLAD, 2 SXTB16, a pointer add,
# SUBS, and BNE taken
LOOP = {"ldr": 2, "ldr_pipelined": 1, "dsp_mac": 2, "simd": 2, "alu": 2, "branch_cond": 1, "cond_taken": 1}


def test_m4_loop_and_epilogue():
    # LDR 2 + LDR pipelined 1 + 2 SMLAD + 2 SXTB16 + 2 ALU + BNE 1 + P 2 = 12
    assert estimate_cycles(LOOP, M4) == 12
    # the same branch falling through: no refill
    assert estimate_cycles({**LOOP, "cond_taken": 0}, M4) == 10
    # POP {r4-r7, pc}: 1 + N (5) + P (2); PUSH {r4-r7, lr}: 1 + 5; LDRD 3; STR #imm 1; SDIV at worst 12
    assert estimate_cycles({"ldm": 1, "ldm_regs": 5, "ldm_pc": 1}, M4) == 8
    assert estimate_cycles({"stm": 1, "stm_regs": 5, "ldrd": 1, "str": 1, "div": 1}, M4) == 6 + 3 + 1 + 12
    assert estimate_cycles({"branch": 3}, M4) == 9  # B/BL/BX: 1 + P


def test_m3_multiplies_cost_more():
    assert estimate_cycles({"mul": 1, "mla": 1, "mull": 1}, M3) == 1 + 2 + 5
    assert estimate_cycles({"mul": 1, "mla": 1, "mull": 1}, M4) == 3


def test_m7_pairs_loads_with_macs():
    # 2 LDR + 2 SMLAD + 2 SXTB16 at 0.5, 2 ALU at 1, BNE predicted 1 = 6
    assert estimate_cycles(LOOP, M7) == 6
    assert estimate_cycles({"ldm": 1, "ldm_regs": 4, "ldm_pc": 1}, M7) == 3


def test_m55_vector_instructions_take_two_cycles():
    # VLDRB, VLDRB, VMLADAVA, LETP: 3 vector instructions at 2 (dual-beat), LE 1
    assert estimate_cycles({"mve_load": 2, "mve_mac": 1, "loop_end": 1}, M55) == 7
    assert estimate_cycles(LOOP, M55) == estimate_cycles(LOOP, M4)  # scalar code: the M4 table


def test_every_core_of_the_emulated_boards_has_a_table():
    from tinyq.boards import list_boards

    for b in list_boards():
        if not b.is_host:
            assert timing(b.cpu).core == b.cpu
    with pytest.raises(ValueError, match="no cycle model"):
        timing("cortex-a53")
