/* coro_test.h - what the hub's tests share (test_hub.c, test_group.c,
 * test_compact.c): a cmocka fixture giving each test a fresh hub on the
 * test's thread, and a ping-pong pair.  Include after mt_test.h. */
#ifndef MT_TEST_CORO_TEST_H
#define MT_TEST_CORO_TEST_H

#include <multitask.h>

#include <stdint.h>

/* ---- fixture: one hub per test, freed (and gone) afterwards ---- */
static mt_hub_t *hub;

static inline int setup(void **state) {
  (void)state;
  hub = mt_hub_new();
  return hub ? 0 : -1;
}

static inline int teardown(void **state) {
  (void)state;
  mt_hub_free(hub);
  assert_null(mt_hub_current());
  return 0;
}

/* ---- ping-pong: two tasks (or a task and a thread) pass numbers back and
 * forth through two queues, with sums to check exactly.  The pinger puts
 * 1..n and adds what comes back; the ponger adds what it gets and sends it
 * back. ---- */

typedef struct {
  mt_queue_t *in, *out;
  long n;
  long sum;
} pp_t;

static inline int pinger(void *arg, mt_value_t *out) {
  (void)out;
  pp_t *p = arg;
  for (long i = 1; i <= p->n; i++) {
    int r = mt_queue_put(p->out, (void *)(intptr_t)i, MT_FOREVER);
    if (r < 0) return r;
    void *x;
    if ((r = mt_queue_get(p->in, &x, MT_FOREVER)) < 0) return r;
    p->sum += (intptr_t)x;
  }
  return 0;
}

static inline int ponger(void *arg, mt_value_t *out) {
  (void)out;
  pp_t *p = arg;
  for (long i = 0; i < p->n; i++) {
    void *x;
    int r = mt_queue_get(p->in, &x, MT_FOREVER);
    if (r < 0) return r;
    p->sum += (intptr_t)x;
    if ((r = mt_queue_put(p->out, x, MT_FOREVER)) < 0) return r;
  }
  return 0;
}

#endif
