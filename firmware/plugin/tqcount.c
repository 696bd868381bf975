/* tqcount: QEMU 7.2 TCG plugin (API v1) that counts guest instructions exactly, per model invoke and
 * per layer, between the tinyq profiling markers (see firmware/include/tinyq/tq_profile.h).
 *
 * The marker addresses come as plugin arguments (tinyq reads them from the ELF symbol table):
 *   -plugin libtqcount.so,invoke_begin=0x...,invoke_end=0x...,layer_begin=0x...,layer_end=0x...
 * Matching by address, not by symbol name, stays exact when -icount splits a translation block
 * inside a marker function (QEMU 7.2's qemu_plugin_insn_symbol names the enclosing function).
 * Output (with -d plugin -D FILE), one line per event, then the total:
 *   tqcount layer <invoke> <layer> insns <n>
 *   tqcount invoke <invoke> insns <n>
 *   tqcount total insns <n>
 * A count runs from the first instruction of a begin marker to the first instruction of the end
 * marker. Debian ships no qemu-plugin.h, so the few API v1 declarations used are written out here.
 * Build: gcc -shared -fPIC -O2 -o libtqcount.so tqcount.c
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
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

static uint64_t count;      /* guest instructions executed so far (single vCPU) */
static uint64_t invoke_at;  /* count at the last invoke_begin */
static uint64_t layer_at;   /* count at the last layer_begin */
static unsigned invoke_no;  /* invokes finished */
static unsigned layer_no;   /* layers finished in the current invoke */

static void emit(const char *text) { qemu_plugin_outs(text); }

static void on_marker(unsigned int vcpu, void *userdata)
{
    char line[96];
    (void)vcpu;
    switch ((enum marker)(uintptr_t)userdata) {
    case INVOKE_BEGIN:
        invoke_at = count;
        layer_no = 0;
        break;
    case LAYER_BEGIN:
        layer_at = count;
        break;
    case LAYER_END:
        snprintf(line, sizeof line, "tqcount layer %u %u insns %" PRIu64 "\n", invoke_no, layer_no++,
                 count - layer_at);
        emit(line);
        break;
    case INVOKE_END:
        snprintf(line, sizeof line, "tqcount invoke %u insns %" PRIu64 "\n", invoke_no++, count - invoke_at);
        emit(line);
        break;
    default:
        break;
    }
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    (void)id;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        for (int m = 0; m < NUM_MARKERS; m++) {
            if (marker_addr[m] != 0 && vaddr == marker_addr[m]) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)m);
            }
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &count, 1);
    }
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
