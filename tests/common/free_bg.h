/* free_bg.h - "mt_*_free never blocks" (docs/api.md, Life cycle), tested
 * without timing asserts: the pending work waits on an event that the test
 * sets only AFTER free returned, so a free that waited for the work could
 * never return.  free runs on a helper thread; if it has not returned
 * after FREE_BG_LIMIT seconds the test reports that (it would otherwise
 * hang until the CTest timeout), releases the work and fails. */
#ifndef MT_TEST_FREE_BG_H
#define MT_TEST_FREE_BG_H

#include "mt_test.h"

#define FREE_BG_LIMIT 10.0

typedef struct {
  void (*free_fn)(void *obj);
  void *obj;
  mt_event_t *freed;
} free_bg_t;

static void *free_bg_main(void *arg) {
  free_bg_t *f = arg;
  f->free_fn(f->obj);
  mt_event_set(f->freed);
  return NULL;
}

/* Calls free_fn(obj) on another thread; asserts it returns while `go` is
 * still clear (the work it must not wait for is parked on go), then sets
 * go so the work can finish in the background. */
static inline __attribute__((unused)) void free_bg_returns(const char *what,
                                                           void (*free_fn)(void *), void *obj,
                                                           mt_event_t *go) {
  free_bg_t f = {free_fn, obj, mt_event_new(0)};
  assert_non_null(f.freed);
  mt_thread_t *t = mt_thread_spawn(free_bg_main, &f, NULL);
  assert_non_null(t);
  int r = mt_event_wait(f.freed, FREE_BG_LIMIT);
  int still_clear = mt_event_is_set(go) == 0;
  mt_event_set(go); /* release the work in every case */
  assert_code(mt_thread_join(t, MT_FOREVER, NULL), 0);
  mt_thread_free(t);
  mt_event_free(f.freed);
  if (r != 0)
    fail_msg("%s blocked: still inside after %.0f s with work pending "
             "(it returned only once the work was released)", what, FREE_BG_LIMIT);
  assert_true(still_clear);
}

#endif
