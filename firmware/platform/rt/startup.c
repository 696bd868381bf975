/* tinyq startup for Cortex-M3/M4/M7/M33/M55: vector table, reset handler, fault handler.
 * Our own Reset_Handler replaces newlib's crt0 (whose SYS_HEAPINFO call is unreliable on QEMU M-profile). */
#include <stdint.h>
#include <stdlib.h>

#include "tq_board.h"
#include "tq_rt.h"

extern uint32_t __StackTop, __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern uint32_t __tq_arena_start__, __tq_arena_end__, __StackLimit;
int main(int argc, char **argv);
void __libc_init_array(void);
void Reset_Handler(void);
void Fault_Handler(void);
void tq_fault_report(const uint32_t *frame);

#define SCB_REG(offset) (*(volatile uint32_t *)(uintptr_t)(0xE000ED00u + (offset)))

static void write_reg(const char *name, uint32_t value)
{
    static const char hex[] = "0123456789abcdef";
    char text[24];
    int n = 0;
    while (*name != '\0') {
        text[n++] = *name++;
    }
    text[n++] = '=';
    for (int shift = 28; shift >= 0; shift -= 4) {
        text[n++] = hex[(value >> shift) & 0xFu];
    }
    text[n++] = ' ';
    text[n] = '\0';
    tq_console_write(text);
}

/* Any fault: one line with the fault status registers and the stacked PC/LR, then exit TQ_EXIT_FAULT.
 * tinyq's runner parses this line ("*** FAULT CFSR=... HFSR=... PC=..."). */
void tq_fault_report(const uint32_t *frame)
{
    tq_console_write("\n*** FAULT ");
    write_reg("CFSR", SCB_REG(0x28));
    write_reg("HFSR", SCB_REG(0x2C));
    write_reg("MMFAR", SCB_REG(0x34));
    write_reg("BFAR", SCB_REG(0x38));
    write_reg("PC", frame[6]);
    write_reg("LR", frame[5]);
    tq_console_write("\n");
    tq_exit(TQ_EXIT_FAULT);
}

/* Pick the stack the exception frame was pushed on (EXC_RETURN bit 2), pass it to the C reporter. */
__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile("tst lr, #4\n"
                     "ite eq\n"
                     "mrseq r0, msp\n"
                     "mrsne r0, psp\n"
                     "b tq_fault_report\n");
}

__attribute__((section(".isr_vector"), used)) void (*const tq_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&__StackTop,
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    Fault_Handler, /* SecureFault (v8-M) */
    0,
    0,
    0,
    Fault_Handler, /* SVC */
    Fault_Handler, /* DebugMon */
    0,
    Fault_Handler, /* PendSV */
    Fault_Handler, /* SysTick (never enabled) */
};

__attribute__((noreturn)) void Reset_Handler(void)
{
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    /* Armv8-M stack limit: a stack that outgrows the reserve (sized from the call graph) faults (STKOF)
     * instead of overwriting .bss and the arena */
    __asm__ volatile("msr msplim, %0" : : "r"(&__StackLimit));
#endif
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    SCB_REG(0x88) |= 0xFu << 20; /* CPACR: full access to CP10/CP11 (FPU, MVE) */
    __asm__ volatile("dsb\n isb" ::: "memory");
#endif
    uint32_t *src = &__data_load__;
    uint32_t *dst = &__data_start__;
    if (src != dst) {
        while (dst < &__data_end__) {
            *dst++ = *src++;
        }
    }
    for (dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0;
    }
    for (dst = &__tq_arena_start__; dst < &__tq_arena_end__;) { /* the arena is NOLOAD but zero-initialised C */
        *dst++ = 0;
    }
    tq_console_init();
    __libc_init_array();
    char **argv;
    int argc = tq_args(&argv);
    int status = main(argc, argv);
#if defined(TQ_CONSOLE_SEMIHOSTING)
    exit(status); /* newlib exit flushes stdio, then rdimon reports the status to QEMU */
#else
    tq_exit(status);
#endif
}
