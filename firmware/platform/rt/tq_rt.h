/* tinyq bare-metal runtime: console output and exit, over semihosting (QEMU) or a UART (real boards).
 * Built by the tinyq dev-platform with every firmware; the board's console is chosen in the generated
 * tq_board.h (TQ_CONSOLE_SEMIHOSTING or TQ_CONSOLE_UART). */
#ifndef TQ_RT_H
#define TQ_RT_H

#include <stdint.h>

/* Exit status of a firmware stopped by the fault handler (QEMU returns it as its own status). */
#define TQ_EXIT_FAULT 99

/* Prepare the console (semihosting file handles, or UART clocks/pins/baud). Called by the startup code. */
void tq_console_init(void);

/* Write a NUL-terminated string to the console. */
void tq_console_write(const char *s);

/* Wait for one byte from the console (UART consoles only: how `tinyq run` sends samples). */
uint8_t tq_console_read_byte(void);

/* Stop the program with `code`: QEMU exits with it; a real board prints "TINYQ_EXIT <code>" and sleeps. */
__attribute__((noreturn)) void tq_exit(int code);

/* Program arguments: the semihosting command line split at spaces (argc 0 on real boards). */
int tq_args(char ***argv);

#endif /* TQ_RT_H */
