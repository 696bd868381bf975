/* tinyq console, exit and program arguments for semihosting (QEMU) and UART (real boards). */
#include <stddef.h>
#include <stdint.h>

#include "tq_board.h"
#include "tq_rt.h"

#if defined(TQ_CONSOLE_SEMIHOSTING)

#define SYS_WRITE0 0x04
#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

void initialise_monitor_handles(void); /* newlib rdimon: stdin/stdout/stderr on the host console */

static int semihost(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void tq_console_init(void) { initialise_monitor_handles(); }

void tq_console_write(const char *s) { semihost(SYS_WRITE0, (void *)(uintptr_t)s); }

/* SYS_EXIT_EXTENDED: QEMU exits with `code` as its process status (plain SYS_EXIT only gives 0/1). */
void tq_exit(int code)
{
    uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    semihost(SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

int tq_args(char ***argv)
{
    static char line[512];
    static char *args[8];
    uint32_t block[2] = {(uint32_t)(uintptr_t)line, sizeof line - 1};
    int argc = 0;
    char *p = line;
    if (semihost(SYS_GET_CMDLINE, block) != 0) {
        *argv = args;
        return 0;
    }
    line[block[1] < sizeof line ? block[1] : sizeof line - 1] = '\0';
    while (*p != '\0' && argc < (int)(sizeof args / sizeof args[0]) - 1) {
        while (*p == ' ') {
            *p++ = '\0';
        }
        if (*p == '\0') {
            break;
        }
        args[argc++] = p;
        while (*p != '\0' && *p != ' ') {
            p++;
        }
    }
    args[argc] = NULL;
    *argv = args;
    return argc;
}

#elif defined(TQ_CONSOLE_UART)

#define REG(address) (*(volatile uint32_t *)(uintptr_t)(address))

static const uint32_t uart_init[][3] = TQ_UART_INIT; /* {address, clear_mask, set_mask} */

void tq_console_init(void)
{
    for (size_t i = 0; i < sizeof uart_init / sizeof uart_init[0]; i++) {
        REG(uart_init[i][0]) = (REG(uart_init[i][0]) & ~uart_init[i][1]) | uart_init[i][2];
    }
}

static void put_byte(char c)
{
#ifdef TQ_UART_TX_READY
    while ((REG(TQ_UART_TX_READY_ADDR) & TQ_UART_TX_READY_MASK) != TQ_UART_TX_READY_VALUE) {
    }
#endif
    REG(TQ_UART_TX_DATA) = (uint8_t)c;
#ifdef TQ_UART_TX_DONE
    while ((REG(TQ_UART_TX_DONE_ADDR) & TQ_UART_TX_DONE_MASK) != TQ_UART_TX_DONE_VALUE) {
    }
    REG(TQ_UART_TX_DONE_ADDR) = 0;
#endif
}

/* Blocking: the harness waits here for the host's next command or sample byte. */
uint8_t tq_console_read_byte(void)
{
    while ((REG(TQ_UART_RX_READY_ADDR) & TQ_UART_RX_READY_MASK) != TQ_UART_RX_READY_VALUE) {
    }
#ifdef TQ_UART_RX_EVENT
    REG(TQ_UART_RX_READY_ADDR) = 0; /* nRF: clear EVENTS_RXDRDY before reading RXD */
#endif
    return (uint8_t)REG(TQ_UART_RX_DATA);
}

void tq_console_write(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n') {
            put_byte('\r');
        }
        put_byte(*s);
    }
}

/* No host to return to: report the status, then sleep forever. */
void tq_exit(int code)
{
    char text[16];
    int n = 0;
    unsigned v = code < 0 ? (unsigned)-code : (unsigned)code;
    char digits[12];
    int d = 0;
    do {
        digits[d++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    if (code < 0) {
        text[n++] = '-';
    }
    while (d > 0) {
        text[n++] = digits[--d];
    }
    text[n] = '\0';
    tq_console_write("TINYQ_EXIT ");
    tq_console_write(text);
    tq_console_write("\n");
    for (;;) {
        __asm__ volatile("wfi");
    }
}

int tq_args(char ***argv)
{
    static char *args[1] = {NULL};
    *argv = args;
    return 0;
}

#else
#error "tq_board.h selects no console (TQ_CONSOLE_SEMIHOSTING or TQ_CONSOLE_UART)"
#endif
