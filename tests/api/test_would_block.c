/* docs/api.md, "Would block follows Python": for every kind of blocking
 * call, what it returns when it would block, at timeout 0 and when a short
 * timeout expires:
 *   acquire / wait / join style (Python returns False) -> MT_ETIMEDOUT
 *   Queue get / put (Python raises Empty / Full)         -> MT_EEMPTY / MT_EFULL
 *   Future.result, as_completed (TimeoutError)           -> MT_ETIMEDOUT
 *   Barrier.wait (a timeout breaks it: BrokenBarrierError) -> MT_EBROKEN
 *   poll style (Connection.poll, connection.wait, futures.wait) -> a count, 0
 * Each call is made twice: timeout 0, then T (it must also not return early). */
#include "mt_test.h"

#include <signal.h>
#include <time.h>

#define T 0.02

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* r(timeout) must give `want` for timeout 0 and for T (not before T). */
#define BOTH(call_with_t, want)                                                  \
  do {                                                                           \
    double t_ = 0;                                                               \
    assert_code(call_with_t, want);                                              \
    double t0_ = now_s();                                                        \
    t_ = T;                                                                      \
    assert_code(call_with_t, want);                                              \
    assert_true(now_s() - t0_ >= T);                                             \
  } while (0)

static void *hold_rlock(void *arg) {
  void **a = arg; /* rlock, event "held", event "let go" */
  mt_rlock_acquire(a[0], MT_FOREVER);
  mt_event_set(a[1]);
  mt_event_wait(a[2], MT_FOREVER);
  mt_rlock_release(a[0]);
  return NULL;
}
static void *wait_event(void *arg) {
  mt_event_wait(arg, MT_FOREVER);
  return NULL;
}
static void nop(void *arg) { (void)arg; }

static void acquire_wait_join_style(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(0);
  assert_code(mt_lock_acquire(l, 0), 0);
  BOTH(mt_lock_acquire(l, t_), MT_ETIMEDOUT);
  mt_lock_release(l);

  mt_rlock_t *rl = mt_rlock_new(0);
  mt_event_t *held = mt_event_new(0), *go = mt_event_new(0);
  void *args[3] = {rl, held, go};
  mt_thread_t *th = mt_thread_spawn(hold_rlock, args, NULL);
  assert_code(mt_event_wait(held, MT_FOREVER), 0);
  BOTH(mt_rlock_acquire(rl, t_), MT_ETIMEDOUT);
  BOTH(mt_thread_join(th, t_, NULL), MT_ETIMEDOUT);
  mt_event_set(go);
  assert_code(mt_thread_join(th, MT_FOREVER, NULL), 0);
  mt_thread_free(th);

  mt_sem_t *s = mt_sem_new(0, 0);
  BOTH(mt_sem_acquire(s, t_), MT_ETIMEDOUT);
  mt_event_t *ev = mt_event_new(0);
  BOTH(mt_event_wait(ev, t_), MT_ETIMEDOUT);
  mt_cond_t *c = mt_cond_new(l, 0);
  assert_code(mt_cond_acquire(c, MT_FOREVER), 0);
  BOTH(mt_cond_wait(c, t_), MT_ETIMEDOUT);
  BOTH(mt_cond_acquire(c, t_), MT_ETIMEDOUT); /* the Lock is held (by us) */
  mt_cond_release(c);

  /* a timed-out Barrier.wait breaks the barrier (Python) */
  mt_barrier_t *b = mt_barrier_new(2, NULL, NULL, MT_FOREVER, 0);
  assert_code(mt_barrier_wait(b, 0), MT_EBROKEN);
  assert_code(mt_barrier_reset(b), 0); /* broken until reset */
  double t0 = now_s();
  assert_code(mt_barrier_wait(b, T), MT_EBROKEN);
  assert_true(now_s() - t0 >= T);

  mt_timer_t *tm = mt_timer_new(60, nop, NULL);
  assert_code(mt_timer_start(tm), 0);
  BOTH(mt_timer_join(tm, t_), MT_ETIMEDOUT);
  assert_code(mt_timer_cancel(tm, 0), 1);

  mt_queue_t *q = mt_queue_new(1);
  assert_code(mt_queue_put(q, NULL, 0), 0);
  BOTH(mt_queue_join(q, t_), MT_ETIMEDOUT); /* join is wait-style */

  mt_timer_free(tm);
  mt_queue_free(q);
  mt_barrier_free(b);
  mt_cond_free(c);
  mt_event_free(ev);
  mt_event_free(held);
  mt_event_free(go);
  mt_sem_free(s);
  mt_rlock_free(rl);
  mt_lock_free(l);
}

/* The MT_SHARED objects take other paths (robust futex, liveness checks):
 * the same answers. */
static void shared_objects(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(MT_SHARED);
  assert_code(mt_lock_acquire(l, 0), 0);
  BOTH(mt_lock_acquire(l, t_), MT_ETIMEDOUT);
  mt_cond_t *c = mt_cond_new(l, MT_SHARED);
  BOTH(mt_cond_wait(c, t_), MT_ETIMEDOUT);
  mt_lock_release(l);
  mt_rlock_t *rl = mt_rlock_new(MT_SHARED);
  assert_code(mt_rlock_acquire(rl, 0), 0);
  assert_code(mt_rlock_acquire(rl, 0), 0); /* the owner re-enters: never blocks */
  mt_rlock_release(rl);
  mt_rlock_release(rl);
  mt_sem_t *s = mt_sem_new_bounded(1, MT_SHARED);
  assert_code(mt_sem_acquire(s, 0), 0);
  BOTH(mt_sem_acquire(s, t_), MT_ETIMEDOUT);
  mt_event_t *ev = mt_event_new(MT_SHARED);
  BOTH(mt_event_wait(ev, t_), MT_ETIMEDOUT);
  mt_barrier_t *b = mt_barrier_new(2, NULL, NULL, MT_FOREVER, MT_SHARED);
  assert_code(mt_barrier_wait(b, 0), MT_EBROKEN);
  mt_barrier_free(b);
  mt_event_free(ev);
  mt_sem_free(s);
  mt_rlock_free(rl);
  mt_cond_free(c);
  mt_lock_free(l);
}

static void queue_style(void **state) {
  (void)state;
  void *it;
  mt_queue_t *q = mt_queue_new(1);
  BOTH(mt_queue_get(q, &it, t_), MT_EEMPTY);
  assert_code(mt_queue_put(q, NULL, 0), 0);
  BOTH(mt_queue_put(q, NULL, t_), MT_EFULL);
  mt_queue_free(q);
  mt_queue_t *pq = mt_queue_new_priority(1);
  int64_t k;
  BOTH(mt_queue_get_prio(pq, &k, &it, t_), MT_EEMPTY);
  assert_code(mt_queue_put_prio(pq, 1, NULL, 0), 0);
  BOTH(mt_queue_put_prio(pq, 2, NULL, t_), MT_EFULL);
  mt_queue_free(pq);

  char buf[16];
  mt_mpqueue_t *mq = mt_mpqueue_new_joinable(1, 16);
  BOTH(mt_mpqueue_get(mq, buf, sizeof buf, NULL, t_), MT_EEMPTY);
  assert_code(mt_mpqueue_put(mq, "x", 1, 0), 0);
  BOTH(mt_mpqueue_put(mq, "y", 1, t_), MT_EFULL);
  BOTH(mt_mpqueue_join(mq, t_), MT_ETIMEDOUT);
  mt_mpqueue_free(mq);
}

static void futures_style(void **state) {
  (void)state;
  mt_future_t *f = mt_future_new();
  mt_value_t v;
  mt_task_error_t e;
  BOTH(mt_future_result(f, t_, &v), MT_ETIMEDOUT);
  BOTH(mt_future_exception(f, t_, &e), MT_ETIMEDOUT);
  /* wait() is poll-style: the number done, 0 */
  BOTH(mt_future_wait(&f, 1, t_, MT_ALL_COMPLETED, NULL, NULL, NULL), 0);
  double t0 = now_s(); /* as Python's: the timeout counts from as_completed() */
  mt_as_completed_t *it = mt_as_completed_new(&f, 1, T);
  mt_future_t *got;
  assert_code(mt_as_completed_next(it, &got), MT_ETIMEDOUT);
  assert_true(now_s() - t0 >= T);
  mt_as_completed_free(it);
  it = mt_as_completed_new(&f, 1, 0);
  assert_code(mt_as_completed_next(it, &got), MT_ETIMEDOUT);
  mt_as_completed_free(it);
  mt_future_free(f);
}

static void poll_style_and_conn(void **state) {
  (void)state;
  mt_conn_t *a, *b;
  assert_code(mt_pipe_new(true, &a, &b), 0);
  BOTH(mt_conn_poll(a, t_), 0);
  mt_waitable_t w = {.kind = MT_WAIT_CONN, .obj = a};
  BOTH(mt_conn_wait(&w, 1, t_), 0);
  mt_queue_t *q = mt_queue_new(0);
  mt_waitable_t wq = {.kind = MT_WAIT_QUEUE, .obj = q};
  BOTH(mt_conn_wait(&wq, 1, t_), 0);
  /* a receive is wait-style (Python's recv has no timeout: ours says so) */
  int64_t x;
  size_t len;
  BOTH(mt_conn_recv_i64(a, &x, t_), MT_ETIMEDOUT);
  BOTH(mt_conn_peek_size(a, &len, t_), MT_ETIMEDOUT);
  mt_queue_free(q);
  mt_conn_free(a);
  mt_conn_free(b);
}

static int wait_forever(void *arg) {
  mt_event_wait(arg, MT_FOREVER);
  return 0;
}

static void processes(void **state) {
  (void)state;
  mt_event_t *ev = mt_event_new(MT_SHARED);
  mt_process_t *p = mt_process_new(wait_forever, ev, NULL);
  assert_code(mt_process_start(p), 0);
  BOTH(mt_process_join(p, t_), MT_ETIMEDOUT);
  /* wait_any returns an index, so it cannot be poll-style: join-style */
  BOTH(mt_process_wait_any(&p, 1, t_), MT_ETIMEDOUT);
  int code;
  assert_code(mt_process_exitcode(p, &code), MT_ERUNNING);
  mt_event_set(ev);
  assert_code(mt_process_join(p, MT_FOREVER), 0);
  mt_process_free(p);
  mt_event_free(ev);
  (void)wait_event;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(acquire_wait_join_style),
      cmocka_unit_test(shared_objects),
      cmocka_unit_test(queue_style),
      cmocka_unit_test(futures_style),
      cmocka_unit_test(poll_style_and_conn),
      cmocka_unit_test(processes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
