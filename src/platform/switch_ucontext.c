/* switch_ucontext.c - the portable backend of platform/switch.h:
 * makecontext/swapcontext.  Picked by CMake on machines without an assembly
 * switch, or forced with -DMT_CORO_UCONTEXT=ON.  swapcontext saves and
 * restores the signal mask (one rt_sigprocmask system call per switch), which
 * is why the assembly backends exist. */
#ifndef MT_CORO_UCONTEXT
#error "switch_ucontext.c needs -DMT_CORO_UCONTEXT everywhere (switch.h's layout)"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* REG_RSP */
#endif
#include "platform/switch.h"

#include <stdint.h>
#include <stdlib.h>

/* makecontext passes int arguments only: the function and its argument
 * travel as two halves each. */
static void start(unsigned fhi, unsigned flo, unsigned ahi, unsigned alo) {
  void (*fn)(void *) = (void (*)(void *))(uintptr_t)(((uint64_t)fhi << 32) | flo);
  void *arg = (void *)(uintptr_t)(((uint64_t)ahi << 32) | alo);
  fn(arg);
  abort(); /* fn never returns */
}

void mt__ctx_make(mt__ctx_t *c, void *lo, size_t size, void (*fn)(void *arg), void *arg) {
  getcontext(&c->uc);
  c->uc.uc_stack.ss_sp = lo;
  c->uc.uc_stack.ss_size = size;
  c->uc.uc_link = NULL;
  uint64_t f = (uint64_t)(uintptr_t)fn, a = (uint64_t)(uintptr_t)arg;
  makecontext(&c->uc, (void (*)(void))start, 4, (unsigned)(f >> 32), (unsigned)f,
              (unsigned)(a >> 32), (unsigned)a);
}

/* The value in flight: per thread, as a context never changes threads
 * during a switch. */
static _Thread_local void *in_flight;

void *mt__ctx_switch(mt__ctx_t *from, mt__ctx_t *to, void *value) {
  in_flight = value;
  swapcontext(&from->uc, &to->uc);
  return in_flight;
}

void *mt__ctx_sp(const mt__ctx_t *c) {
#if defined(__x86_64__)
  return (void *)(uintptr_t)c->uc.uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  return (void *)(uintptr_t)c->uc.uc_mcontext.sp;
#else
  (void)c;
  return NULL;
#endif
}

const char *mt__ctx_backend(void) { return "ucontext"; }
