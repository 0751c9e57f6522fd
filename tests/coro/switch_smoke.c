/* The raw context switch (src/platform/switch.h) alone: values handed back
 * and forth through many switches, callee-saved registers and the FP
 * rounding mode kept per context, several contexts in a ring.  Plain C with
 * no library: docs/coroutines.md cross-builds this very file for aarch64
 * and runs it under qemu-aarch64-static.  Exit status 0 = passed. */
#include "platform/switch.h"

#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "switch_smoke: %s:%d: %s failed\n", __FILE__, __LINE__, #c); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

static mt__ctx_t main_ctx, co_ctx, ring_ctx[3];
static volatile long mailbox;
static long n_switch = 100000;

static void co_body(void *arg) {
  long base = (long)(intptr_t)arg;
  /* values kept in callee-saved registers across switches */
  long a = base, b = base * 2, c = base * 3;
  double d = 0.5;
  fesetround(FE_DOWNWARD); /* this context's rounding mode */
  for (long i = 0; i < n_switch; i++) {
    mailbox = a + b + c + i;
    d += 1.0;
    void *got = mt__ctx_switch(&co_ctx, &main_ctx, (void *)(intptr_t)(i + 1));
    CHECK(got == (void *)(intptr_t)(i + 2));
    CHECK(fegetround() == FE_DOWNWARD);
    CHECK(a == base && b == base * 2 && c == base * 3);
  }
  CHECK(d == 0.5 + (double)n_switch);
  mailbox = -1;
  mt__ctx_switch(&co_ctx, &main_ctx, NULL);
  abort(); /* never resumed */
}

static int ring_count[3];
static void ring_body(void *arg) {
  int k = (int)(intptr_t)arg;
  for (;;) {
    ring_count[k]++;
    mt__ctx_switch(&ring_ctx[k], k == 2 ? &main_ctx : &ring_ctx[k + 1], NULL);
  }
}

int main(int argc, char **argv) {
  if (argc > 1) n_switch = atol(argv[1]);
  size_t size = 64 * 1024;
  void *stack = malloc(size);
  CHECK(stack);
  mt__ctx_make(&co_ctx, stack, size, co_body, (void *)(intptr_t)7);
  fesetround(FE_TONEAREST);
  long sum = 0, expect = 0;
  for (long i = 0; i < n_switch; i++) {
    void *got = mt__ctx_switch(&main_ctx, &co_ctx, (void *)(intptr_t)(i + 1));
    CHECK(got == (void *)(intptr_t)(i + 1));
    CHECK(fegetround() == FE_TONEAREST);
    sum += mailbox;
    expect += 7 * 6 + i;
  }
  mt__ctx_switch(&main_ctx, &co_ctx, (void *)(intptr_t)(n_switch + 1));
  CHECK(mailbox == -1);
  CHECK(sum == expect);

  void *rs[3];
  for (int k = 0; k < 3; k++) {
    rs[k] = malloc(size);
    CHECK(rs[k]);
    mt__ctx_make(&ring_ctx[k], rs[k], size, ring_body, (void *)(intptr_t)k);
  }
  for (int r = 0; r < 1000; r++) mt__ctx_switch(&main_ctx, &ring_ctx[0], NULL);
  CHECK(ring_count[0] == 1000 && ring_count[1] == 1000 && ring_count[2] == 1000);
  printf("switch_smoke: %s backend, %ld round trips and a 3-context ring: ok\n",
         mt__ctx_backend(), n_switch);
  free(stack);
  for (int k = 0; k < 3; k++) free(rs[k]);
  return 0;
}
