/* ping_pong.h - two tasks (or a task and a thread) passing numbers back and
 * forth through two queues, with sums to check exactly (test_hub.c,
 * test_compact.c).  The pinger puts 1..n and adds what comes back; the
 * ponger adds what it gets and sends it back. */
#ifndef MT_TEST_PING_PONG_H
#define MT_TEST_PING_PONG_H

#include <multitask.h>

#include <stdint.h>

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
