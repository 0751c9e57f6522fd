/* platform/switch.h - the context switch: make a context on a stack, switch.
 *
 * Backends (CMake picks one by CMAKE_SYSTEM_PROCESSOR):
 *   switch_x86_64.S   callee-saved rbx rbp r12-r15, MXCSR and the x87
 *                     control word; 6 pushes, 2 stores, no system call
 *   switch_aarch64.S  x19-x29, lr, d8-d15 and FPCR
 *   switch_ucontext.c makecontext/swapcontext (every other machine, or
 *                     -DMT_CORO_UCONTEXT=ON): swapcontext also saves and
 *                     restores the signal mask, one system call per switch
 * A context is where a suspended stack left off.  mt__ctx_switch saves the
 * caller's registers into *from and resumes *to; the call returns when some
 * later switch resumes *from, with the value that switch passed.  The first switch into a made context calls
 * fn(arg) on its stack; fn must never return (it switches away for good).
 * Nothing here knows about sanitizers or greenlets: src/coro/ does. */
#ifndef MT_PLATFORM_SWITCH_H
#define MT_PLATFORM_SWITCH_H

#include <stddef.h>

#ifdef MT_CORO_UCONTEXT
#include <ucontext.h>
typedef struct mt__ctx {
  ucontext_t uc;
} mt__ctx_t;
#else
typedef struct mt__ctx {
  void *sp; /* saved stack pointer; the registers are on that stack */
} mt__ctx_t;
#endif

/* Prepares c so that the first switch to it runs fn(arg) on the stack
 * [lo, lo + size) (lo + size is its top; it grows down). */
void mt__ctx_make(mt__ctx_t *c, void *lo, size_t size, void (*fn)(void *arg), void *arg);
/* Saves the running context into *from and resumes *to; `value` becomes
 * the return value of the mt__ctx_switch call that *to is suspended in (in
 * registers: no memory).  The first switch into a made context drops it
 * (fn gets its arg). */
void *mt__ctx_switch(mt__ctx_t *from, mt__ctx_t *to, void *value);
/* Where a suspended context's stack pointer is (everything it still needs
 * lies between it and the top of its stack: the asm backends pushed their
 * registers there, ucontext keeps them in *c), or NULL when this backend
 * cannot tell (ucontext on a machine it does not know): compact greenlets,
 * which copy that part of the stack out and back, need it. */
void *mt__ctx_sp(const mt__ctx_t *c);
#if !defined(MT_CORO_UCONTEXT) || defined(__x86_64__) || defined(__aarch64__)
#define MT__CTX_HAS_SP 1 /* mt__ctx_sp never answers NULL for a suspended context */
#endif
/* "x86_64", "aarch64" or "ucontext": the backend compiled in. */
const char *mt__ctx_backend(void);

#endif
