/* Allocation failures in the in-process queues (FIFO, LIFO, priority,
 * simple): every put that cannot grow returns MT_ENOMEM and loses nothing;
 * items left at shutdown(immediate) and free reach item_free. */
#include "failpoint.h"

static int live; /* items made and not yet freed */
static void *item_new(int v) {
  int *p = malloc(sizeof *p);
  FP_CHECK(p);
  *p = v;
  live++;
  return p;
}
static void item_free(void *p) {
  live--;
  free(p);
}

/* Puts n items, checks the queue holds exactly the ones that went in. */
static int fill(mt_queue_t *q, bool prio, int n, int *in) {
  for (*in = 0; *in < n; (*in)++) {
    void *it = item_new(*in);
    int r = prio ? mt_queue_put_prio(q, *in, it, 0) : mt_queue_put_nowait(q, it);
    if (r < 0) {
      item_free(it); /* not taken: still ours */
      FP_CHECK(r == MT_ENOMEM);
      FP_CHECK(mt_queue_qsize(q) == *in);
      return r;
    }
  }
  return 0;
}

static int one_kind(int kind) {
  mt_queue_t *q = kind == 0   ? mt_queue_new(0)
                  : kind == 1 ? mt_queue_new_lifo(0)
                  : kind == 2 ? mt_queue_new_priority(0)
                              : mt_queue_new_simple();
  if (!q) return fp_errno();
  FP_CHECK(mt_queue_set_item_free(q, item_free) == 0);
  int n = 100, in;
  int r = fill(q, kind == 2, n, &in);
  if (r == 0) {
    /* take half back, in the kind's order */
    for (int i = 0; i < n / 2; i++) {
      void *it;
      FP_CHECK(mt_queue_get_nowait(q, &it) == 0);
      int v = *(int *)it;
      FP_CHECK(kind == 1 ? v == n - 1 - i : v == i);
      item_free(it);
    }
  }
  if (kind == 0) FP_CHECK(mt_queue_shutdown(q, true) == 0); /* frees what is left */
  mt_queue_free(q);
  FP_CHECK(live == 0);
  return r;
}

static int scenario(void) {
  for (int kind = 0; kind < 4; kind++) {
    int r = one_kind(kind);
    if (r < 0) return r;
  }
  return 0;
}

static void queue_under_failures(void **state) {
  (void)state;
  fp_run("queue", scenario);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(queue_under_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
