/* switch_asm.c - the name of the assembly backend (platform/switch.h). */
#include "platform/switch.h"

const char *mt__ctx_backend(void) {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
#error "no assembly context switch for this machine: build with MT_CORO_UCONTEXT"
#endif
}

void *mt__ctx_sp(const mt__ctx_t *c) { return c->sp; }
