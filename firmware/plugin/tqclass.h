/* tqclass.h: classify one Thumb/Thumb-2 instruction (Armv7-M, Armv8-M Mainline, Armv8.1-M with MVE and
 * low-overhead loops) into the classes tinyq's cycle model prices (tinyq/bench/cycles.py, which
 * holds the same names in the same order). Decoded from the raw bytes at translation time, so the
 * class costs nothing per executed instruction beyond one inline add. Encodings follow the Armv7-M
 * and Armv8-M Architecture Reference Manuals ("Thumb instruction set encoding" chapters); the MVE and
 * loop encodings were checked against GNU as 2.40 (-march=armv8.1-m.main+mve.fp).
 * The decoder only has to pick a class for code that QEMU accepted: it does not reject anything.
 */
#ifndef TQCLASS_H
#define TQCLASS_H

#include <stddef.h>
#include <stdint.h>

enum tq_counter {
    /* classes: every instruction is in exactly one */
    TQ_C_ALU,         /* data processing, moves, shifts, extends, bitfield, SSAT/USAT, REV, CLZ */
    TQ_C_MUL,         /* MUL (32-bit result) */
    TQ_C_MLA,         /* MLA, MLS */
    TQ_C_MULL,        /* SMULL, UMULL, SMLAL, UMLAL, UMAAL (64-bit result) */
    TQ_C_DSP_MAC,     /* SMLAD(X), SMLSD, SMUAD, SMLAxy, SMULxy, SMLAWy, SMMUL/SMMLA(R), SMLALD, SMLALxy */
    TQ_C_SIMD,        /* SADD16/SSUB8..., SXTB16/SXTAB16, SEL, QADD/QSUB, USAD8 */
    TQ_C_DIV,         /* SDIV, UDIV */
    TQ_C_LDR,         /* single load (any size, literal, exclusive) */
    TQ_C_LDRD,        /* load dual */
    TQ_C_LDM,         /* LDM, POP (register count in ldm_regs) */
    TQ_C_STR,         /* single store */
    TQ_C_STRD,        /* store dual */
    TQ_C_STM,         /* STM, PUSH (register count in stm_regs) */
    TQ_C_BRANCH,      /* B, BL, BX, BLX, TBB/TBH, MOV/ADD/LDR to PC: always taken */
    TQ_C_BRANCH_COND, /* B<c>, CBZ, CBNZ, B inside an IT block (taken ones in cond_taken) */
    TQ_C_IT,          /* IT */
    TQ_C_LOOP,        /* DLS, DLSTP, WLS, WLSTP (Armv8.1-M low-overhead loop start) */
    TQ_C_LOOP_END,    /* LE, LETP */
    TQ_C_MVE_LOAD,    /* VLDRB/H/W (contiguous and gather) */
    TQ_C_MVE_STORE,   /* VSTRB/H/W */
    TQ_C_MVE_MAC,     /* across-vector accumulations: VMLADAV(A), VMLALDAV(A), VADDV(A), VMLAV(A) */
    TQ_C_MVE,         /* other MVE vector operations, VCTP, VPT/VPST, VDUP, VMOV lane */
    TQ_C_FP,          /* scalar floating point (VFP data processing, VLDR/VSTR/VPUSH of S/D registers) */
    TQ_C_OTHER,       /* hints, barriers, MSR/MRS, SVC, BKPT, CPS, UDF */
    TQ_NCLASSES,
    /* extra counters (not in the class sum) */
    TQ_X_LDM_REGS = TQ_NCLASSES, /* registers moved by LDM/POP */
    TQ_X_STM_REGS,               /* registers moved by STM/PUSH */
    TQ_X_LDM_PC,                 /* LDM/POP that load PC (a taken branch too) */
    TQ_X_COND_TAKEN,             /* conditional branches that were taken */
    TQ_X_LDR_PIPELINED,          /* single loads right after a single load in the same block */
    TQ_NCOUNTERS
};

static const char *const tq_counter_names[TQ_NCOUNTERS] = {
    "alu", "mul", "mla", "mull", "dsp_mac", "simd", "div", "ldr", "ldrd", "ldm", "str", "strd", "stm", "branch",
    "branch_cond", "it", "loop", "loop_end", "mve_load", "mve_store", "mve_mac", "mve", "fp", "other",
    "ldm_regs", "stm_regs", "ldm_pc", "cond_taken", "ldr_pipelined",
};

struct tq_insn_class {
    int cls;       /* enum tq_counter, < TQ_NCLASSES */
    int regs;      /* LDM/STM: registers transferred */
    int writes_pc; /* LDM/POP with PC in the list */
    int it_length; /* IT: instructions in its block */
};

static inline int tq_popcount(unsigned v) { return __builtin_popcount(v); }

/* 16-bit encodings (Armv7-M ARM A5.2) */
static inline struct tq_insn_class tq_classify16(unsigned h, int in_it)
{
    struct tq_insn_class k = {TQ_C_ALU, 0, 0, 0};
    if ((h & 0xC000) == 0x0000) { /* shift, add, subtract, move, compare (immediate) */
    } else if ((h & 0xFC00) == 0x4000) {
        k.cls = (h & 0xFFC0) == 0x4340 ? TQ_C_MUL : TQ_C_ALU; /* MULS : data processing */
    } else if ((h & 0xFC00) == 0x4400) { /* special data processing, BX, BLX */
        unsigned rd = ((h >> 4) & 8) | (h & 7), op = (h >> 8) & 3;
        if (op == 3 || (op != 1 && rd == 15)) {
            k.cls = in_it ? TQ_C_BRANCH_COND : TQ_C_BRANCH;
        }
    } else if ((h & 0xF800) == 0x4800) {
        k.cls = TQ_C_LDR; /* LDR literal */
    } else if ((h & 0xF000) == 0x5000) {
        k.cls = ((h >> 9) & 7) < 3 ? TQ_C_STR : TQ_C_LDR; /* register offset: STR, STRH, STRB | loads */
    } else if ((h & 0xE000) == 0x6000 || (h & 0xE000) == 0x8000) {
        k.cls = (h & 0x0800) ? TQ_C_LDR : TQ_C_STR; /* immediate offset, halfword, SP-relative */
    } else if ((h & 0xF000) == 0xA000) { /* ADR, ADD SP */
    } else if ((h & 0xF000) == 0xB000) { /* miscellaneous */
        if ((h & 0x0500) == 0x0100) {
            k.cls = TQ_C_BRANCH_COND; /* CBZ, CBNZ */
        } else if ((h & 0x0E00) == 0x0400) {
            k.cls = TQ_C_STM, k.regs = tq_popcount(h & 0x1FF); /* PUSH (bit 8 = LR) */
        } else if ((h & 0x0E00) == 0x0C00) {
            k.cls = TQ_C_LDM, k.regs = tq_popcount(h & 0x1FF), k.writes_pc = (h >> 8) & 1; /* POP */
        } else if ((h & 0x0F00) == 0x0F00) {
            if (h & 0xF) {
                k.cls = TQ_C_IT, k.it_length = 4 - __builtin_ctz(h & 0xF);
            } else {
                k.cls = TQ_C_OTHER; /* NOP, YIELD, WFE, WFI, SEV */
            }
        } else if ((h & 0x0F00) == 0x0E00 || (h & 0x0FE0) == 0x0660) {
            k.cls = TQ_C_OTHER; /* BKPT, CPS */
        } /* else ADD/SUB SP, SXTB/UXTH..., REV: ALU */
    } else if ((h & 0xF000) == 0xC000) {
        k.cls = (h & 0x0800) ? TQ_C_LDM : TQ_C_STM, k.regs = tq_popcount(h & 0xFF);
    } else if ((h & 0xF000) == 0xD000) {
        k.cls = ((h >> 8) & 0xF) >= 0xE ? TQ_C_OTHER : TQ_C_BRANCH_COND; /* UDF, SVC | B<c> */
    } else if ((h & 0xF800) == 0xE000) {
        k.cls = in_it ? TQ_C_BRANCH_COND : TQ_C_BRANCH; /* B */
    }
    return k;
}

/* coprocessor space: MVE and floating point (Armv8.1-M ARM C2.4) */
static inline int tq_classify_coproc(unsigned h1, unsigned h2)
{
    unsigned cp = (h2 >> 8) & 0xF;
    if ((h1 & 0xEE00) == 0xEC00) { /* load/store and 64-bit transfers */
        if ((cp & 0xE) == 0xE) {
            return (h1 & 0x10) ? TQ_C_MVE_LOAD : TQ_C_MVE_STORE;
        }
        return TQ_C_FP; /* VLDR, VSTR, VLDM, VSTM, VPUSH, VPOP, VMOV to/from two core registers */
    }
    if ((h1 & 0xEF00) == 0xEE00 && (cp & 0xE) == 0xA) {
        return (cp == 0xB && (h2 & 0x10)) ? TQ_C_MVE : TQ_C_FP; /* VMOV lane/VDUP | VFP */
    }
    if ((h1 & 0xEF80) == 0xEE80 && (cp & 0xE) == 0xE && !(h2 & 1)) {
        return TQ_C_MVE_MAC;
    }
    return TQ_C_MVE;
}

/* 32-bit encodings (Armv7-M ARM A5.3; Armv8.1-M low-overhead loops) */
static inline struct tq_insn_class tq_classify32(unsigned h1, unsigned h2, int in_it)
{
    struct tq_insn_class k = {TQ_C_ALU, 0, 0, 0};
    unsigned op1 = (h1 >> 11) & 3;
    if (op1 == 1) {
        if ((h1 & 0xFE40) == 0xE800) { /* load/store multiple */
            k.regs = tq_popcount(h2 & 0xDFFF);
            if (h1 & 0x10) {
                k.cls = TQ_C_LDM, k.writes_pc = (h2 >> 15) & 1;
            } else {
                k.cls = TQ_C_STM;
            }
        } else if ((h1 & 0xFE40) == 0xE840) { /* load/store dual, exclusive, table branch */
            if ((h1 & 0xFFF0) == 0xE8D0 && (h2 & 0xFFE0) == 0xF000) {
                k.cls = TQ_C_BRANCH; /* TBB, TBH */
            } else if ((h1 & 0x0120) == 0) {
                k.cls = (h1 & 0x10) ? TQ_C_LDR : TQ_C_STR; /* LDREX*, STREX* */
            } else {
                k.cls = (h1 & 0x10) ? TQ_C_LDRD : TQ_C_STRD;
            }
        } else if ((h1 & 0xEC00) == 0xEC00) {
            k.cls = tq_classify_coproc(h1, h2);
        } /* else data processing (shifted register), MVE scalar shifts: ALU */
    } else if (op1 == 2) {
        if (!(h2 & 0x8000)) { /* data processing (immediate): ALU */
        } else if ((h2 & 0x5000) == 0x0000) {
            k.cls = (h1 & 0x0380) != 0x0380 ? TQ_C_BRANCH_COND : TQ_C_OTHER; /* B<c> T3 | MSR, MRS, hints */
        } else if ((h2 & 0x5000) == 0x4000) { /* the BLX slot, reused by Armv8.1-M */
            if ((h2 & 0xF001) == 0xE001) {
                k.cls = (h2 & 0x0800) ? TQ_C_MVE : TQ_C_LOOP; /* VCTP | DLS, DLSTP */
            } else if ((h2 & 0xF001) == 0xC001) {
                k.cls = (h1 & 0xF) == 0xF ? TQ_C_LOOP_END : TQ_C_LOOP; /* LE, LETP | WLS, WLSTP */
            } else {
                k.cls = TQ_C_OTHER; /* branch future */
            }
        } else {
            k.cls = in_it ? TQ_C_BRANCH_COND : TQ_C_BRANCH; /* B T4, BL */
        }
    } else { /* op1 == 3 */
        unsigned op = (h1 >> 4) & 7;
        if ((h1 & 0xFE00) == 0xF800) { /* load/store single */
            if (!(h1 & 0x10)) {
                k.cls = TQ_C_STR;
            } else if ((h1 & 0x0060) == 0x0040 && (h2 >> 12) == 15) {
                k.cls = in_it ? TQ_C_BRANCH_COND : TQ_C_BRANCH; /* LDR PC */
            } else {
                k.cls = TQ_C_LDR; /* loads of every size, PLD, PLI */
            }
        } else if ((h1 & 0xFF00) == 0xFA00) { /* data processing (register) */
            if (!(h1 & 0x80)) {
                k.cls = ((h2 & 0x80) && (op & 6) == 2) ? TQ_C_SIMD : TQ_C_ALU; /* S/UXT(A)B16 | shifts, extends */
            } else if (!(h2 & 0x80)) {
                k.cls = TQ_C_SIMD; /* parallel add/subtract */
            } else {
                unsigned m1 = (h1 >> 4) & 3, m2 = (h2 >> 4) & 3;
                k.cls = (m1 == 0 || (m1 == 2 && m2 == 0)) ? TQ_C_SIMD : TQ_C_ALU; /* QADD.., SEL | REV, CLZ */
            }
        } else if ((h1 & 0xFF80) == 0xFB00) { /* multiply, multiply accumulate, absolute difference */
            if (op == 0) {
                k.cls = ((h2 & 0xF030) == 0xF000) ? TQ_C_MUL : TQ_C_MLA; /* Ra = PC and op2 = 00: MUL */
            } else {
                k.cls = op == 7 ? TQ_C_SIMD : TQ_C_DSP_MAC; /* USAD8 | SMLAD, SMLAxy, SMMUL, ... */
            }
        } else if ((h1 & 0xFF80) == 0xFB80) { /* long multiply, divide */
            unsigned o2 = (h2 >> 4) & 0xF;
            if (o2 == 0xF && (op == 1 || op == 3)) {
                k.cls = TQ_C_DIV;
            } else if ((o2 == 0 && (op & 1) == 0) || (op == 6 && o2 == 6)) {
                k.cls = TQ_C_MULL;
            } else {
                k.cls = TQ_C_DSP_MAC; /* SMLALxy, SMLALD, SMLSLD */
            }
        } else if ((h1 & 0xEC00) == 0xEC00) {
            k.cls = tq_classify_coproc(h1, h2);
        } else {
            k.cls = TQ_C_OTHER;
        }
    }
    return k;
}

static inline struct tq_insn_class tq_classify(const void *data, size_t size, int in_it)
{
    const uint8_t *b = data;
    unsigned h1 = (unsigned)b[0] | ((unsigned)b[1] << 8);
    if (size >= 4) {
        return tq_classify32(h1, (unsigned)b[2] | ((unsigned)b[3] << 8), in_it);
    }
    return tq_classify16(h1, in_it);
}

#endif /* TQCLASS_H */
