"""Estimated cycles from instruction-class counts: one timing table per Cortex-M core.

Consumes the class counts of the counting plugin (firmware/plugin/tqclass.h: the classes sum to the exact
instruction count; the extra counters refine LDM/STM, branches and load pipelining) and produces an
estimated cycle count for a core. The figures come from Arm's technical reference manuals where Arm
publishes them (Cortex-M3, Cortex-M4); for the cores whose TRM gives no instruction timing (M7, M33, M55)
the model is stated here and in docs/cycle_model.md. It is an estimate for zero-wait-state memory: no
flash wait states, caches, TCM or bus contention, no branch prediction beyond what a table says, no
overlap of MVE beats. Instructions stay the exact figure; cycles are the check that an instruction
count was not bought with slower instructions.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# the plugin's classes, in tqclass.h order; every counted instruction is in exactly one
CLASSES = ("alu", "mul", "mla", "mull", "dsp_mac", "simd", "div", "ldr", "ldrd", "ldm", "str", "strd", "stm",
           "branch", "branch_cond", "it", "loop", "loop_end", "mve_load", "mve_store", "mve_mac", "mve", "fp",
           "other")
EXTRAS = ("ldm_regs", "stm_regs", "ldm_pc", "cond_taken", "ldr_pipelined")


@dataclass(frozen=True)
class CoreTiming:
    """Cycles of one core. `cost[c]`: cycles per instruction of class c (LDM/STM: the fixed part, before
    `per_register` for each register moved; branch_cond: when not taken). A taken branch, a conditional one
    taken, and an LDM/POP that loads PC add `refill` cycles; a single load right after a single load costs
    `pipelined_saving` cycles less."""

    core: str
    cost: dict[str, float]
    per_register: float
    refill: float
    pipelined_saving: float
    source: str  # where the figures come from
    assumptions: tuple[str, ...] = field(default=())


def _table(base: dict[str, float], **changes: float) -> dict[str, float]:
    table = {**base, **changes}
    assert set(table) == set(CLASSES), set(CLASSES) ^ set(table)
    return table


# Cortex-M4 TRM (Arm DDI 0439B, r0p1), 3.3.1 "Cortex-M4 instruction set summary", Table 3-1, and 3.3.2
# "Load/store timings".
_M4 = _table(dict.fromkeys(CLASSES, 1.0),
             # MUL, MLA, MLS, SMULL/UMULL/SMLAL/UMLAL, SMLAD/SMLAxy/SMMUL..., SADD16/SEL...: 1 (single-cycle MAC)
             div=12.0,  # SDIV/UDIV "2-12" (early termination): the worst case, so that divisions never flatter
             ldr=2.0,  # LDR 2; 1 when pipelined after a single load (pipelined_saving)
             ldrd=3.0, strd=3.0,  # LDRD/STRD "1 + N", N = 2
             ldm=1.0, stm=1.0,  # LDM/STM/PUSH/POP "1 + N" (per_register), POP/LDM with PC "1 + N + P"
             str=1.0,  # 3.3.2: STR Rx,[Ry,#imm] is one cycle (the data phase overlaps the next instruction)
             branch=1.0,  # B/BL/BX "1 + P" (refill), P = 1..3
             branch_cond=1.0,  # B<c> not taken: 1; taken: 1 + P
             it=1.0,  # IT: 1 (0 when folded onto a preceding 16-bit instruction: folding not modelled)
             fp=1.0,  # VADD/VMUL.F32 1 (VMLA 3, VDIV 14: int8 kernels execute none)
             )
M4 = CoreTiming("cortex-m4", _M4, per_register=1.0, refill=2.0, pipelined_saving=1.0,
                source="Cortex-M4 TRM (DDI 0439B) 3.3.1 Table 3-1, 3.3.2 Load/store timings",
                assumptions=("P (pipeline refill after a taken branch) = 2, the middle of the TRM's 1-3",
                             "SDIV/UDIV at the worst case, 12", "IT never folded",
                             "STR 1 cycle (immediate offset; register-offset stores take 2, not distinguished)",
                             "a load pipelines after any single load of the same block (address dependencies "
                             "not checked)"))

# Cortex-M3 TRM (Arm DDI 0337I, r2p1), 18.2 "Instruction timings", Table 18-1: as the M4 except the multiplies.
M3 = CoreTiming("cortex-m3", _table(_M4, mla=2.0,  # MLA/MLS 2
                                    mull=5.0,  # SMULL/UMULL "3-5", SMLAL/UMLAL "4-7": 5
                                    ), per_register=1.0, refill=2.0, pipelined_saving=1.0,
                source="Cortex-M3 TRM (DDI 0337I) 18.2 Table 18-1",
                assumptions=M4.assumptions + ("long multiplies 5 (early termination not modelled)",
                                              "the M3 has no DSP/SIMD instructions (priced 1, never executed)"))

# Cortex-M33 TRM (Arm 100230) publishes no instruction timings; the M33 is a 3-stage in-order Armv8-M core
# with the same single-cycle MAC DSP extension as the M4: the M4 table is assumed.
M33 = CoreTiming("cortex-m33", _M4, per_register=1.0, refill=2.0, pipelined_saving=1.0,
                 source="assumed equal to Cortex-M4 (the Cortex-M33 TRM, Arm 100230, gives no instruction timings)",
                 assumptions=M4.assumptions + ("M4 figures assumed for the M33",))

# Cortex-M7 TRM (Arm DDI 0489) describes a 6-stage dual-issue pipeline but no per-instruction cycles. Model:
# 1 cycle per instruction, except single loads/stores and multiplies/MACs/SIMD, which are assumed to
# dual-issue with a neighbour (0.5 each: a load + MAC pair in one cycle is the best case); LDRD/STRD and
# register pairs of LDM/STM use the 64-bit bus (1 cycle, 0.5 per register); branches are predicted (no refill).
_M7 = _table(dict.fromkeys(CLASSES, 1.0), ldr=0.5, str=0.5, mul=0.5, mla=0.5, mull=0.5, dsp_mac=0.5, simd=0.5,
             div=12.0, ldm=1.0, stm=1.0)
M7 = CoreTiming("cortex-m7", _M7, per_register=0.5, refill=0.0, pipelined_saving=0.0,
                source="simple dual-issue model (the Cortex-M7 TRM, DDI 0489, gives no instruction timings)",
                assumptions=("loads/stores single and MUL/MAC/SIMD dual-issue with a neighbour: 0.5 each; "
                             "everything else 1",
                             "branches always predicted (no refill, no mispredict penalty)",
                             "LDRD/STRD 1, LDM/STM 1 + 0.5 per register (64-bit bus)", "SDIV/UDIV 12",
                             "no cache misses: TCM or cache-resident code and data"))

# Cortex-M55 TRM (Arm 101051) gives no instruction timings. Scalar code: the M4 table. MVE: the M55 is
# dual-beat, so a 128-bit vector instruction (4 beats) takes 2 cycles; overlap of consecutive vector
# instructions of different kinds (a VLDR with a VMLADAV) is not modelled, so vector code is an upper
# estimate (overlap can bring it to 1 cycle each). LE (low-overhead loop end) is priced 1.
M55 = CoreTiming("cortex-m55", _table(_M4, loop=1.0, loop_end=1.0, mve_load=2.0, mve_store=2.0, mve_mac=2.0,
                                      mve=2.0), per_register=1.0, refill=2.0, pipelined_saving=1.0,
                 source="M4 table for scalar code (the Cortex-M55 TRM, Arm 101051, gives no instruction "
                        "timings); MVE: 2 cycles per vector instruction on the dual-beat M55",
                 assumptions=M4.assumptions + ("MVE instructions 2 cycles each, no beat overlap",
                                               "LE/LETP 1 cycle (no loop-buffer fold)"))

CORES = {t.core: t for t in (M3, M4, M7, M33, M55)}


def timing(cpu: str) -> CoreTiming:
    """The table of a board's `cpu` (e.g. "cortex-m4"); ValueError for a core without one."""
    try:
        return CORES[cpu]
    except KeyError:
        raise ValueError(f"no cycle model for {cpu!r} (known: {', '.join(CORES)})") from None


def estimate_cycles(counts: dict[str, int], t: CoreTiming) -> float:
    """Estimated cycles of an interval from its class counts and extra counters (missing ones = 0)."""
    n = {k: counts.get(k, 0) for k in CLASSES + EXTRAS}
    cycles = sum(n[c] * t.cost[c] for c in CLASSES)
    cycles += (n["ldm_regs"] + n["stm_regs"]) * t.per_register
    cycles += (n["branch"] + n["cond_taken"] + n["ldm_pc"]) * t.refill
    cycles -= n["ldr_pipelined"] * t.pipelined_saving
    return cycles
