/* platform/stack.h - coroutine stacks and the stack-overflow report
 * (Linux: stack_linux.c).  The pool and the sizes live in src/coro/stack.c. */
#ifndef MT_PLATFORM_STACK_H
#define MT_PLATFORM_STACK_H

#include <stddef.h>

/* Maps guard + size bytes of private memory (MAP_NORESERVE: a page costs
 * memory only once touched) and makes the lowest `guard` bytes a guard
 * region: MADV_GUARD_INSTALL where the kernel has it (no extra mapping),
 * else mprotect(PROT_NONE) (which splits the mapping in two).  guard and
 * size are page multiples.  *base is the mapping, the usable stack is
 * [base + guard, base + guard + size).  0, or MT_ENOMEM when the process is
 * out of mappings or address space (vm.max_map_count, RLIMIT_AS). */
int mt__sys_stack_map(size_t guard, size_t size, void **base);
void mt__sys_stack_unmap(void *base, size_t bytes);
/* 1 when guard regions (MADV_GUARD_INSTALL) are in use, 0 for mprotect. */
int mt__sys_stack_guard_regions(void);

/* The overflow report.  `describe(addr, buf, n)` is called from the SIGSEGV
 * handler (async-signal context: no locks, no malloc) and returns the length
 * of a message it wrote to buf when addr is a coroutine's guard page, else 0.
 *
 * mt__sys_segv_install: installs the process's SIGSEGV handler once, and only
 * if the disposition is SIG_DFL then (a program's or a sanitizer's own
 * handler is left alone).  The handler writes the message to stderr, puts
 * SIG_DFL back and returns: the fault repeats and kills the process as
 * before (core dump included).  A fault that is not a guard page goes
 * straight to that default.  Per thread, mt__sys_altstack_new gives the
 * thread an alternate signal stack (the handler cannot run on the stack that
 * overflowed) unless it already has one; it returns a token for
 * mt__sys_altstack_free (NULL: nothing to free). */
void mt__sys_segv_install(size_t (*describe)(void *addr, char *buf, size_t n));
void *mt__sys_altstack_new(void);
void mt__sys_altstack_free(void *token);

#endif
