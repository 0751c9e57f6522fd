/* The thread pool's fast path (issue 13): the queue's reference is the
 * QREF flag of a future's state word, dropped by the worker's publishing
 * CAS; a caller that lets go of a pending future marks it ORPHAN and the
 * worker frees it (future.c "The queue's reference").  The queue's last
 * node is taken by swinging tail back to the stub with a CAS (thread_pool.c
 * q_pop).  A running task's start and claim are one CAS, so completing it
 * by hand meanwhile is refused.
 *
 * Each future's value carries a free function that counts: every future
 * must be freed exactly once (a double free counts twice, and ASan sees
 * it; a leak counts short), whichever side lets go last. */
#include "mt_test.h"
#include "future/future_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "counted_tasks.h"

typedef struct {
  mt_executor_t *ex;
  long n, callbacks;
  uint64_t sum; /* results the caller read */
  int id;
} producer_t;

/* Four ways to let go, in turn: free at once (ORPHAN races the worker's
 * publish), free after result (the common path), add a callback then free
 * at once (LISTENERS: the worker keeps QREF through the notify), wait then
 * free. */
static void *produce(void *arg) {
  producer_t *p = arg;
  for (long i = 0; i < p->n; i++) {
    mt_future_t *f;
    intptr_t v = (intptr_t)(i + 1);
    if (mt_executor_submit(p->ex, counted, (void *)v, &f) != 0) abort();
    switch ((i + p->id) % 4) {
    case 0:
      mt_future_free(f);
      break;
    case 1: {
      mt_value_t out;
      if (mt_future_result(f, MT_FOREVER, &out) != 0) abort();
      p->sum += (uint64_t)(intptr_t)out.ptr;
      mt_future_free(f);
      break;
    }
    case 2:
      if (mt_future_add_done_callback(f, count_cb, &p->callbacks) != 0) abort();
      mt_future_free(f);
      break;
    default:
      if (mt_future_wait(&f, 1, MT_FOREVER, MT_ALL_COMPLETED, NULL, NULL, NULL) < 0) abort();
      mt_future_free(f);
      break;
    }
  }
  return NULL;
}

static void freed_exactly_once(void **state) {
  (void)state;
  long n = mt_test_scaled(200000, 2000);
  for (int workers = 1; workers <= 2; workers++) {
    for (int np = 1; np <= 3; np += 2) {
      __atomic_store_n(&g_freed, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&g_ran, 0, __ATOMIC_RELAXED);
      mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
      o.max_workers = workers;
      mt_executor_t *ex = mt_executor_new_thread_pool(&o);
      assert_non_null(ex);
      producer_t ps[3];
      pthread_t th[3];
      for (int k = 0; k < np; k++) {
        ps[k] = (producer_t){.ex = ex, .n = n / np, .id = k};
        assert_int_equal(pthread_create(&th[k], NULL, produce, &ps[k]), 0);
      }
      long total = 0, callbacks = 0;
      uint64_t sum = 0, want = 0;
      for (int k = 0; k < np; k++) {
        assert_int_equal(pthread_join(th[k], NULL), 0);
        total += ps[k].n;
        sum += ps[k].sum;
        for (long i = 0; i < ps[k].n; i++)
          if ((i + k) % 4 == 1) want += (uint64_t)(i + 1);
      }
      /* the workers free the orphans before they leave */
      assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
      mt_executor_free(ex);
      for (int k = 0; k < np; k++) /* callbacks run in the workers: read after shutdown */
        callbacks += __atomic_load_n(&ps[k].callbacks, __ATOMIC_RELAXED);
      assert_int_equal(__atomic_load_n(&g_ran, __ATOMIC_RELAXED), total);
      assert_int_equal(__atomic_load_n(&g_freed, __ATOMIC_RELAXED), total);
      assert_int_equal(sum, want);
      long want_cb = 0;
      for (int k = 0; k < np; k++)
        for (long i = 0; i < ps[k].n; i++) want_cb += (i + k) % 4 == 2;
      assert_int_equal(callbacks, want_cb);
    }
  }
}

/* Futures a shutdown cancels from the queue, and ones the caller let go
 * of first, are freed once too (mt__future_release_qref). */
static int gate_task(void *arg, mt_value_t *out) {
  (void)out;
  return mt_future_result(arg, MT_FOREVER, NULL);
}

static void cancelled_from_queue_freed_once(void **state) {
  (void)state;
  long n = mt_test_scaled(20000, 500);
  __atomic_store_n(&g_freed, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&g_ran, 0, __ATOMIC_RELAXED);
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 1;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  assert_non_null(ex);
  mt_future_t *gate = mt_future_new(), *g;
  assert_code(mt_executor_submit(ex, gate_task, gate, &g), 0);
  while (!mt_future_is_running(g)) sched_yield(); /* else the shutdown cancels it too */
  mt_future_t **keep = calloc((size_t)n, sizeof *keep);
  assert_non_null(keep);
  for (long i = 0; i < n; i++) {
    mt_future_t *f;
    assert_code(mt_executor_submit(ex, counted, (void *)(intptr_t)1, &f), 0);
    if (i % 2) mt_future_free(f); /* let go while queued: ORPHAN */
    else keep[i] = f;
  }
  /* cancel everything queued while the worker is held at the gate */
  assert_code(mt_executor_shutdown(ex, false, true, 0), 0);
  assert_code(mt_future_set_result(gate, (mt_value_t){0}), 0);
  assert_code(mt_future_result(g, MT_FOREVER, NULL), 0);
  long cancelled = 0;
  for (long i = 0; i < n; i += 2) {
    int r = mt_future_result(keep[i], MT_FOREVER, NULL);
    assert_true(r == MT_ECANCELLED || r == 0);
    cancelled += r == MT_ECANCELLED;
    mt_future_free(keep[i]);
  }
  assert_int_equal(cancelled, (n + 1) / 2); /* the gate held the only worker */
  mt_executor_free(ex);
  mt_future_free(g);
  mt_future_free(gate);
  free(keep);
  assert_int_equal(__atomic_load_n(&g_ran, __ATOMIC_RELAXED), 0);
  assert_int_equal(__atomic_load_n(&g_freed, __ATOMIC_RELAXED), 0); /* no value: none ran */
}

/* A running task is claimed by its run: set_result by hand is refused
 * (MT_EBUSY) and the task's own value is the result. */
static int wait_gate(void *arg, mt_value_t *out) {
  if (mt_future_result(arg, MT_FOREVER, NULL) != 0) return MT_EINVAL;
  out->ptr = (void *)(intptr_t)7;
  return 0;
}

static void running_task_refuses_hand_completion(void **state) {
  (void)state;
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 1;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  assert_non_null(ex);
  mt_future_t *gate = mt_future_new(), *f;
  assert_code(mt_executor_submit(ex, wait_gate, gate, &f), 0);
  while (!mt_future_is_running(f)) sched_yield();
  assert_code(mt_future_set_result(f, (mt_value_t){(void *)(intptr_t)1, 0, NULL}), MT_EBUSY);
  assert_code(mt_future_set_exception(f, MT_EINVAL, "by hand"), MT_EBUSY);
  assert_code(mt_future_cancel(f), 0);
  assert_code(mt_future_set_result(gate, (mt_value_t){0}), 0);
  mt_value_t v;
  assert_code(mt_future_result(f, MT_FOREVER, &v), 0);
  assert_int_equal((intptr_t)v.ptr, 7);
  mt_future_free(f);
  mt_future_free(gate);
  mt_executor_free(ex);
}

/* A holder may take a reference on a pool future its caller already let go
 * of: the task itself (mt_task_current) or a done callback (its f).  That
 * reference must keep the future alive after the worker is done with it
 * (regression: the worker freed it under the new holder). */
static mt_future_t *g_kept;
static mt_future_t *g_gate;

static int refs_itself(void *arg, mt_value_t *out) {
  (void)arg;
  if (mt_future_result(g_gate, MT_FOREVER, NULL) != 0) return MT_EINVAL; /* the caller let go */
  __atomic_store_n(&g_kept, mt_future_ref(mt_task_current()), __ATOMIC_RELEASE);
  *out = (mt_value_t){(void *)(intptr_t)42, 0, count_free};
  return 0;
}

static int after_gate(void *arg, mt_value_t *out) {
  (void)arg;
  if (mt_future_result(g_gate, MT_FOREVER, NULL) != 0) return MT_EINVAL;
  *out = (mt_value_t){(void *)(intptr_t)42, 0, count_free};
  return 0;
}

static void cb_keeps(mt_future_t *f, void *arg) {
  (void)arg;
  __atomic_store_n(&g_kept, mt_future_ref(f), __ATOMIC_RELEASE);
}

static void late_reference_keeps_future(void **state) {
  (void)state;
  long rounds = mt_test_scaled(400, 20);
  for (long i = 0; i < rounds; i++) {
    int mode = (int)(i % 2); /* 0: the task refs itself; 1: a callback refs f */
    mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
    o.max_workers = 1;
    mt_executor_t *ex = mt_executor_new_thread_pool(&o);
    assert_non_null(ex);
    g_gate = mt_future_new();
    g_kept = NULL;
    g_freed = 0;
    mt_future_t *f;
    assert_code(mt_executor_submit(ex, mode ? after_gate : refs_itself, NULL, &f), 0);
    if (mode) assert_code(mt_future_add_done_callback(f, cb_keeps, NULL), 0);
    mt_future_free(f); /* the caller lets go while the task waits for the gate */
    assert_code(mt_future_set_result(g_gate, (mt_value_t){0}), 0);
    while (!__atomic_load_n(&g_kept, __ATOMIC_ACQUIRE)) sched_yield();
    assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0); /* the worker is done */
    assert_int_equal(__atomic_load_n(&g_freed, __ATOMIC_RELAXED), 0); /* still held */
    mt_value_t v = {0};
    assert_code(mt_future_result(g_kept, 0, &v), 0);
    assert_int_equal((intptr_t)v.ptr, 42);
    mt_future_free(g_kept);
    assert_int_equal(__atomic_load_n(&g_freed, __ATOMIC_RELAXED), 1);
    mt_future_free(g_gate);
    mt_executor_free(ex);
  }
}

/* The caller's free stopped half way (refs at 0, the rest not yet run)
 * while the task takes a reference from 0 and ends: the worker must not
 * wait for that caller (the task queued behind runs), and the caller's
 * late half then drops the queue's reference (HANDOFF). */
static void late_reference_while_caller_frees(void **state) {
  (void)state;
  long rounds = mt_test_scaled(200, 10);
  for (long i = 0; i < rounds; i++) {
    mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
    o.max_workers = 1;
    mt_executor_t *ex = mt_executor_new_thread_pool(&o);
    assert_non_null(ex);
    g_gate = mt_future_new();
    g_kept = NULL;
    g_freed = 0;
    mt_future_t *f, *next;
    assert_code(mt_executor_submit(ex, refs_itself, NULL, &f), 0);
    assert_code(mt_executor_submit(ex, after_gate, NULL, &next), 0);
    assert_int_equal(__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL), 0); /* free's 1st half */
    assert_code(mt_future_set_result(g_gate, (mt_value_t){0}), 0);
    assert_code(mt_future_result(next, 30.0, NULL), 0); /* the worker went on */
    assert_non_null(__atomic_load_n(&g_kept, __ATOMIC_ACQUIRE));
    assert_true(__atomic_load_n(&f->state, __ATOMIC_ACQUIRE) & MT__F_HANDOFF);
    mt__future_last_ref_gone(f); /* free's 2nd half: drops the queue's reference */
    assert_int_equal(__atomic_load_n(&g_freed, __ATOMIC_RELAXED), 0); /* `next`'s value is not freed yet */
    mt_value_t v = {0};
    assert_code(mt_future_result(g_kept, 0, &v), 0);
    assert_int_equal((intptr_t)v.ptr, 42);
    mt_future_free(g_kept);
    assert_int_equal(__atomic_load_n(&g_freed, __ATOMIC_RELAXED), 1);
    /* The worker may still hold `next` by QREF (it wakes the waiter, then
     * drops the queue's reference): a free now may leave the last word to
     * it.  Shutdown joins the worker, so after it `next` is ours alone. */
    assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
    mt_future_free(next);
    assert_int_equal(__atomic_load_n(&g_freed, __ATOMIC_RELAXED), 2);
    mt_future_free(g_gate);
    mt_executor_free(ex);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(late_reference_while_caller_frees),
      cmocka_unit_test(late_reference_keeps_future),
      cmocka_unit_test(freed_exactly_once),
      cmocka_unit_test(cancelled_from_queue_freed_once),
      cmocka_unit_test(running_task_refuses_hand_completion),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
