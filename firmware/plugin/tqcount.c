/* tqcount: QEMU 7.2 TCG plugin (API v1) that counts guest instructions exactly, per model invoke and
 * per layer, between the tinyq profiling markers (see firmware/include/tinyq/tq_profile.h), and splits
 * each count by instruction class (tqclass.h) for tinyq's cycle estimate (tinyq/bench/cycles.py).
 *
 * The marker addresses come as plugin arguments (tinyq reads them from the ELF symbol table):
 *   -plugin libtqcount.so,invoke_begin=0x...,invoke_end=0x...,layer_begin=0x...,layer_end=0x...
 * Matching by address, not by symbol name, stays exact when -icount splits a translation block
 * inside a marker function (QEMU 7.2's qemu_plugin_insn_symbol names the enclosing function).
 * Output (with -d plugin -D FILE), one line per event, then the total:
 *   tqcount layer <invoke> <layer> insns <n>
 *   tqcount layer-classes <invoke> <layer> <name>=<n> ...
 *   tqcount invoke <invoke> insns <n>
 *   tqcount invoke-classes <invoke> <name>=<n> ...
 *   tqcount total insns <n>
 * A count runs from the first instruction of a begin marker to the first instruction of the end
 * marker. The classes of an interval sum to its instruction count exactly: every instruction adds 1
 * to the total and 1 to its class with inline adds, decoded once at translation time. The extra
 * counters (register counts of LDM/STM, taken conditional branches, ...) are not part of that sum.
 * Debian ships no qemu-plugin.h, so the few API v1 declarations used are written out here.
 * Build: gcc -shared -fPIC -O2 -o libtqcount.so tqcount.c   (tqclass.h beside it)
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tqclass.h"

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op, void *ptr,
                                                uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

enum marker { INVOKE_BEGIN, INVOKE_END, LAYER_BEGIN, LAYER_END, NUM_MARKERS };
static const char *const marker_names[NUM_MARKERS] = {"invoke_begin", "invoke_end", "layer_begin", "layer_end"};
static uint64_t marker_addr[NUM_MARKERS]; /* 0 = absent (no Thumb code lives at address 0 in our images) */

static uint64_t count;            /* guest instructions executed so far (single vCPU) */
static uint64_t counter[TQ_NCOUNTERS]; /* per class, then the extra counters */
static uint64_t invoke_at, invoke_counter[TQ_NCOUNTERS]; /* snapshots at the last invoke_begin */
static uint64_t layer_at, layer_counter[TQ_NCOUNTERS];   /* snapshots at the last layer_begin */
static unsigned invoke_no;        /* invokes finished */
static unsigned layer_no;         /* layers finished in the current invoke */

/* Taken conditional branches: a block ending in one records its fall-through address when it starts;
 * the next block to start tells whether the branch fell through (an exception entered in between
 * would count as taken; the profile harness runs none). Block records are never freed, since QEMU
 * may keep a translation for the whole run: a few bytes per translation. */
struct block {
    uint64_t start;       /* guest address of the block's first instruction */
    uint64_t fallthrough; /* address after its final conditional branch; 0 if it ends otherwise */
};
static uint64_t pending_fallthrough;

static void emit(const char *text) { qemu_plugin_outs(text); }

static void emit_classes(const char *what, const uint64_t *since)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s", what);
    for (int c = 0; c < TQ_NCOUNTERS && n < (int)sizeof line; c++) {
        n += snprintf(line + n, sizeof line - n, " %s=%" PRIu64, tq_counter_names[c], counter[c] - since[c]);
    }
    if (n < (int)sizeof line - 1) {
        line[n++] = '\n';
        line[n] = '\0';
    }
    emit(line);
}

static void on_marker(unsigned int vcpu, void *userdata)
{
    char line[96];
    (void)vcpu;
    switch ((enum marker)(uintptr_t)userdata) {
    case INVOKE_BEGIN:
        invoke_at = count;
        memcpy(invoke_counter, counter, sizeof counter);
        layer_no = 0;
        break;
    case LAYER_BEGIN:
        layer_at = count;
        memcpy(layer_counter, counter, sizeof counter);
        break;
    case LAYER_END:
        snprintf(line, sizeof line, "tqcount layer %u %u insns %" PRIu64 "\n", invoke_no, layer_no, count - layer_at);
        emit(line);
        snprintf(line, sizeof line, "tqcount layer-classes %u %u", invoke_no, layer_no++);
        emit_classes(line, layer_counter);
        break;
    case INVOKE_END:
        snprintf(line, sizeof line, "tqcount invoke %u insns %" PRIu64 "\n", invoke_no, count - invoke_at);
        emit(line);
        snprintf(line, sizeof line, "tqcount invoke-classes %u", invoke_no++);
        emit_classes(line, invoke_counter);
        break;
    default:
        break;
    }
}

static void on_block(unsigned int vcpu, void *userdata)
{
    const struct block *b = userdata;
    (void)vcpu;
    if (pending_fallthrough != 0 && b->start != pending_fallthrough) {
        counter[TQ_X_COND_TAKEN]++;
    }
    pending_fallthrough = b->fallthrough;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    struct block *b = calloc(1, sizeof *b);
    int it_left = 0;        /* instructions still inside an IT block */
    int prev = TQ_C_OTHER;  /* class of the previous instruction of this block */
    (void)id;
    if (b == NULL) {
        return; /* out of memory: QEMU will fail soon anyway; never count wrong */
    }
    b->start = qemu_plugin_tb_vaddr(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        size_t size = qemu_plugin_insn_size(insn);
        struct tq_insn_class k = tq_classify(qemu_plugin_insn_data(insn), size, it_left > 0);
        for (int m = 0; m < NUM_MARKERS; m++) {
            if (marker_addr[m] != 0 && vaddr == marker_addr[m]) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)m);
            }
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &count, 1);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counter[k.cls], 1);
        if (k.regs != 0) {
            int x = k.cls == TQ_C_LDM ? TQ_X_LDM_REGS : TQ_X_STM_REGS;
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counter[x], k.regs);
        }
        if (k.writes_pc) {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counter[TQ_X_LDM_PC], 1);
        }
        /* Cortex-M3/M4 TRMs: a single load right after a single load pipelines (one cycle, not two) */
        if (k.cls == TQ_C_LDR && prev == TQ_C_LDR) {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counter[TQ_X_LDR_PIPELINED], 1);
        }
        if (i + 1 == n && k.cls == TQ_C_BRANCH_COND) {
            b->fallthrough = vaddr + size;
        }
        it_left = k.cls == TQ_C_IT ? k.it_length : (it_left > 0 ? it_left - 1 : 0);
        prev = k.cls;
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void at_exit(qemu_plugin_id_t id, void *userdata)
{
    char line[64];
    (void)id;
    (void)userdata;
    snprintf(line, sizeof line, "tqcount total insns %" PRIu64 "\n", count);
    emit(line);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv)
{
    (void)info;
    for (int a = 0; a < argc; a++) {
        const char *eq = strchr(argv[a], '=');
        int known = 0;
        for (int m = 0; eq != NULL && m < NUM_MARKERS; m++) {
            if ((size_t)(eq - argv[a]) == strlen(marker_names[m]) &&
                strncmp(argv[a], marker_names[m], strlen(marker_names[m])) == 0) {
                marker_addr[m] = strtoull(eq + 1, NULL, 0) & ~(uint64_t)1; /* drop the Thumb bit */
                known = 1;
            }
        }
        if (!known) {
            fprintf(stderr, "tqcount: unknown argument '%s'\n", argv[a]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
