/* A loop timer keeps ticking when memory runs out (issue 10, item 11).
 *
 * The re-arm after a tick used to push the timer back into the heap with
 * realloc when the heap was full, and a failed realloc stopped the timer
 * silently (it read as cancelled).  Here the first tick's callback fills
 * the heap (64 more timers: the heap's first size is 64, and this must be
 * the program's first timer) and then makes every realloc fail: the timer
 * must still tick again.  realloc is interposed by this program, so the
 * test is skipped under the sanitizers (they own the allocator). */
#include "mt_test.h"
#include "../thread/tflag.h"

#include <stdatomic.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SKIP_REALLOC 1
#endif

static atomic_bool fail_realloc;

#ifndef SKIP_REALLOC
extern void *__libc_realloc(void *p, size_t n);
void *realloc(void *p, size_t n) {
  if (atomic_load(&fail_realloc)) return NULL;
  return __libc_realloc(p, n);
}
#endif

enum { FILL = 64 };
static mt_timer_t *fillers[FILL];
static tflag_t second_tick;
static int ticks;

static void nop(void *arg) { (void)arg; }

static void tick(void *arg) {
  (void)arg;
  if (++ticks == 1) {
    for (int i = 0; i < FILL; i++) {
      fillers[i] = mt_timer_new(1000, nop, NULL);
      if (!fillers[i] || mt_timer_start(fillers[i]) != 0) abort();
    }
    atomic_store(&fail_realloc, true); /* the re-arm comes next */
  } else if (ticks == 2) {
    atomic_store(&fail_realloc, false);
    flag_set(&second_tick);
  }
}

static void loop_survives_failed_realloc(void **state) {
  (void)state;
#ifdef SKIP_REALLOC
  skip();
#endif
  mt_timer_t *t = mt_timer_new_loop(0.01, tick, NULL);
  assert_non_null(t);
  assert_code(mt_timer_start(t), 0);
  int r = flag_wait(&second_tick, 10);
  atomic_store(&fail_realloc, false);
  if (r != 0)
    fail_msg("the loop timer stopped after tick %d (join(0) = %s)", mt_timer_is_fired(t),
             mt_err_name(mt_timer_join(t, 0)));
  assert_code(mt_timer_cancel(t, MT_FOREVER), 1); /* it was still running: this stopped it */
  mt_timer_free(t);
  for (int i = 0; i < FILL; i++) mt_timer_free(fillers[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(loop_survives_failed_realloc)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
