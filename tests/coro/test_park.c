/* The wait layer parks coroutines (issue 14 part 1), driven through a
 * minimal test parker: a round-robin scheduler on the thread's root
 * greenlet (the hub of issue 15 does not exist yet).
 *
 * - a greenlet killed while blocked in each converted blocking call gets
 *   MT_ECANCELLED, the object's counts are unwound, and the kill is sticky
 *   (the next blocking call returns MT_ECANCELLED at once);
 * - two coroutines on ONE thread hand work to each other through each
 *   converted primitive (a blocked call parks the coroutine, not the thread:
 *   without it these tests deadlock and time out);
 * - a coroutine is woken from another thread: through its own waiter node
 *   (queue, future: unpark is called on the other thread) and through the
 *   parker's word wait (sem, event: a bounded re-check, as MT_SHARED objects
 *   woken from another process are). */
#include "mt_test.h"
#include "coro/coro.h"
#include "queue/queue_internal.h"
#include "sync/sync_internal.h"
#include "platform/platform.h"
#include "wait/wait.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* ---- the test parker ---------------------------------------------------- */

typedef struct task {
  mt_greenlet_t *g;
  int (*body)(struct task *t);
  void *obj, *obj2;
  int result, result2; /* of the blocking call; of a second one (sticky kill) */
  bool done;
  int parked;                 /* 0, 1 on a node, 2 on a word */
  mt__waiter_t *_Atomic node; /* read by unpark on any thread */
  const uint32_t *word;
  uint32_t expected;
  int64_t deadline;
  atomic_int ready; /* unparked */
  int parks;
} task_t;

#define MAXT 4
static struct {
  task_t *tasks[MAXT];
  int n;
  task_t *running; /* NULL: the root (scheduler) runs */
  uint32_t posted; /* bumped by unpark: the idle scheduler wakes */
  pthread_t thread;
  atomic_int unparks, cross_unparks;
} S;

static int switch_to_root(task_t *t) {
  t->parks++;
  void *out = NULL;
  int r = mt_greenlet_switch(mt_greenlet_parent(t->g), NULL, &out);
  __atomic_store_n(&t->parked, 0, __ATOMIC_RELEASE);
  return r < 0 ? r : (int)(intptr_t)out; /* killed: MT_ECANCELLED */
}

static int tp_park(void *ctx, mt__waiter_t *w, int64_t deadline) {
  (void)ctx;
  task_t *t = S.running;
  assert_non_null(t); /* the root never parks on a node in these tests */
  t->deadline = deadline;
  atomic_store(&t->node, w);
  __atomic_store_n(&t->parked, 1, __ATOMIC_RELEASE);
  int r = switch_to_root(t);
  atomic_store(&t->node, NULL);
  return r;
}

static void tp_unpark(void *ctx, mt__waiter_t *w) {
  (void)ctx;
  atomic_fetch_add(&S.unparks, 1);
  if (!pthread_equal(pthread_self(), S.thread)) atomic_fetch_add(&S.cross_unparks, 1);
  for (int i = 0; i < S.n; i++)
    if (atomic_load(&S.tasks[i]->node) == w) atomic_store(&S.tasks[i]->ready, 1);
  __atomic_fetch_add(&S.posted, 1, __ATOMIC_SEQ_CST);
  mt__sys_futex_wake(&S.posted, 1, false);
}

static int tp_wait_word(void *ctx, const uint32_t *word, uint32_t expected, bool shared,
                        int64_t deadline) {
  (void)ctx;
  task_t *t = S.running;
  if (!t) { /* the root: an internal lock it contends for, as a thread */
    int r = mt__sys_futex_wait(word, expected, shared, deadline);
    return r == MT_ETIMEDOUT ? r : 0;
  }
  t->word = word;
  t->expected = expected;
  t->deadline = deadline;
  __atomic_store_n(&t->parked, 2, __ATOMIC_RELEASE);
  return switch_to_root(t);
}

static const mt__parker_t parker = {
    .wait_word = tp_wait_word, .park = tp_park, .unpark = tp_unpark};

static void *task_main(void *arg, void *value) {
  (void)value;
  task_t *t = arg;
  t->result = t->body(t);
  t->done = true;
  return NULL;
}

static void sched_begin(void) {
  memset(&S, 0, sizeof S);
  S.thread = pthread_self();
  mt__set_parker(&parker);
}

static task_t *spawn(int (*body)(task_t *), void *obj, void *obj2) {
  task_t *t = calloc(1, sizeof *t);
  t->body = body;
  t->obj = obj;
  t->obj2 = obj2;
  t->result = t->result2 = 1;
  t->g = mt_greenlet_new(task_main, t, NULL, NULL);
  assert_non_null(t->g);
  S.tasks[S.n++] = t;
  return t;
}

/* One scheduler pass: resumes every task that can go on.  true if any ran. */
static bool pass(void) {
  bool ran = false;
  for (int i = 0; i < S.n; i++) {
    task_t *t = S.tasks[i];
    if (t->done) continue;
    int code = 1;
    if (!mt_greenlet_is_started(t->g)) code = 0;
    /* ready, or woken before tp_park recorded the node (the waker's
     * unpark then found no task: the node's state says it) */
    else if (t->parked == 1 && (atomic_exchange(&t->ready, 0) ||
                                __atomic_load_n(&atomic_load(&t->node)->state,
                                                __ATOMIC_ACQUIRE) == MT__W_WOKEN))
      code = 0;
    else if (t->parked == 2 && __atomic_load_n(t->word, __ATOMIC_ACQUIRE) != t->expected) code = 0;
    else if (t->parked && mt__deadline_passed(t->deadline)) code = MT_ETIMEDOUT;
    if (code == 1) continue;
    S.running = t;
    assert_code(mt_greenlet_switch(t->g, (void *)(intptr_t)code, NULL), 0);
    S.running = NULL;
    ran = true;
  }
  return ran;
}

/* Runs until stop(): idle, the root sleeps on `posted` in 1 ms slices (the
 * bounded re-check of word-parked tasks). */
static void run_until(bool (*stop)(void)) {
  while (!stop()) {
    uint32_t seen = __atomic_load_n(&S.posted, __ATOMIC_SEQ_CST);
    if (!pass() && !stop()) mt__sys_futex_wait(&S.posted, seen, false, mt__now_ns() + 1000000);
  }
}

static bool all_done(void) {
  for (int i = 0; i < S.n; i++)
    if (!S.tasks[i]->done) return false;
  return true;
}

static bool first_parked(void) { return S.tasks[0]->parked != 0; }

static void sched_end(void) {
  for (int i = 0; i < S.n; i++) {
    mt_greenlet_free(S.tasks[i]->g);
    free(S.tasks[i]);
  }
  S.n = 0;
  mt__set_parker(NULL);
}

/* ---- the blocking calls ------------------------------------------------------ */

static int q_get(task_t *t) {
  void *item = NULL;
  int r = mt_queue_get(t->obj, &item, MT_FOREVER);
  if (r == 0) t->obj2 = item;
  if (r == MT_ECANCELLED) t->result2 = mt_queue_get(t->obj, &item, MT_FOREVER);
  return r;
}
static int q_put(task_t *t) {
  int r = mt_queue_put(t->obj, (void *)2, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_queue_put(t->obj, (void *)3, MT_FOREVER);
  return r;
}
static int q_join(task_t *t) {
  int r = mt_queue_join(t->obj, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_queue_join(t->obj, MT_FOREVER);
  return r;
}
static int mq_get(task_t *t) {
  char buf[8];
  int r = mt_mpqueue_get(t->obj, buf, sizeof buf, NULL, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_mpqueue_get(t->obj, buf, sizeof buf, NULL, MT_FOREVER);
  return r < 0 ? r : 0; /* a length */
}
static int mq_put(task_t *t) {
  int r = mt_mpqueue_put(t->obj, "b", 1, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_mpqueue_put(t->obj, "c", 1, MT_FOREVER);
  return r;
}
static int mq_join(task_t *t) {
  int r = mt_mpqueue_join(t->obj, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_mpqueue_join(t->obj, MT_FOREVER);
  return r;
}
static int mq_putter(task_t *t) { return mt_mpqueue_put(t->obj, "a", 1, MT_FOREVER); }
static int f_result(task_t *t) {
  mt_value_t v = {0};
  int r = mt_future_result(t->obj, MT_FOREVER, &v);
  if (r == 0) t->obj2 = v.ptr;
  if (r == MT_ECANCELLED) t->result2 = mt_future_result(t->obj, MT_FOREVER, &v);
  return r;
}
static int s_acquire(task_t *t) {
  int r = mt_sem_acquire(t->obj, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_sem_acquire(t->obj, MT_FOREVER);
  return r;
}
static int e_wait(task_t *t) {
  int r = mt_event_wait(t->obj, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_event_wait(t->obj, MT_FOREVER);
  return r;
}
static bool flag_set(void *arg) { return *(int *)arg != 0; }
static int c_wait(task_t *t) {
  mt_cond_t *c = t->obj;
  assert_code(mt_cond_acquire(c, MT_FOREVER), 0);
  int r = mt_cond_wait_for(c, flag_set, t->obj2, MT_FOREVER);
  /* retaken whatever ended the wait: releasing must succeed */
  assert_code(mt_cond_release(c), 0);
  if (r == MT_ECANCELLED) {
    assert_code(mt_cond_acquire(c, MT_FOREVER), 0);
    t->result2 = mt_cond_wait(c, MT_FOREVER);
    assert_code(mt_cond_release(c), 0);
  }
  return r;
}

static int l_acquire(task_t *t) {
  int r = mt_lock_acquire(t->obj, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_lock_acquire(t->obj, MT_FOREVER);
  else if (r == 0) assert_code(mt_lock_release(t->obj), 0);
  return r;
}
static int rl_acquire(task_t *t) {
  int r = mt_rlock_acquire(t->obj, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_rlock_acquire(t->obj, MT_FOREVER);
  else if (r == 0) assert_code(mt_rlock_release(t->obj), 0);
  return r;
}
static int b_wait(task_t *t) {
  int r = mt_barrier_wait(t->obj, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_barrier_wait(t->obj, MT_FOREVER);
  return r < 0 ? r : 0; /* an arrival index */
}
static int th_join(task_t *t) {
  int r = mt_thread_join(t->obj, MT_FOREVER, NULL);
  if (r == MT_ECANCELLED) t->result2 = mt_thread_join(t->obj, MT_FOREVER, NULL);
  return r;
}
static int tm_join(task_t *t) {
  int r = mt_timer_join(t->obj, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_timer_join(t->obj, MT_FOREVER);
  return r;
}
static int tm_cancel(task_t *t) {
  int r = mt_timer_cancel(t->obj, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_timer_cancel(t->obj, MT_FOREVER);
  return r;
}
static void once_fn(void *arg) { /* parks its coroutine until the event is set */
  assert_code(mt_event_wait(arg, MT_FOREVER), 0);
}
static int once_run(task_t *t) { return mt_once_call(t->obj, once_fn, t->obj2); }
static int once_wait(task_t *t) {
  int r = mt_once_call(t->obj, once_fn, t->obj2);
  if (r == MT_ECANCELLED) t->result2 = mt_once_call(t->obj, once_fn, t->obj2);
  return r;
}

static int fw_wait(task_t *t) {
  mt_future_t *f = t->obj;
  int r = mt_future_wait(&f, 1, MT_FOREVER, MT_ALL_COMPLETED, NULL, NULL, NULL);
  if (r == MT_ECANCELLED)
    t->result2 = mt_future_wait(&f, 1, MT_FOREVER, MT_ALL_COMPLETED, NULL, NULL, NULL);
  return r < 0 ? r : r - 1; /* 0 once the one future is done */
}
static int ac_next(task_t *t) {
  mt_future_t *f = t->obj, *out = NULL;
  mt_as_completed_t *it = mt_as_completed_new(&f, 1, MT_FOREVER);
  assert_non_null(it);
  int r = mt_as_completed_next(it, &out);
  if (r == MT_ECANCELLED) t->result2 = mt_as_completed_next(it, &out);
  mt_as_completed_free(it);
  return r < 0 ? r : r - 1;
}

/* A plain thread that holds a lock (or runs) until told to let go. */
typedef struct holder {
  mt_rlock_t *rlock;
  mt_sem_t *go;
  atomic_int holding;
} holder_t;
static int ex_shutdown(task_t *t) {
  int r = mt_executor_shutdown(t->obj, true, false, MT_FOREVER);
  if (r == MT_ECANCELLED) t->result2 = mt_executor_shutdown(t->obj, true, false, MT_FOREVER);
  return r;
}
static int task_wait_go(void *arg, mt_value_t *result) {
  (void)result;
  atomic_store(&((struct holder *)arg)->holding, 1);
  return mt_sem_acquire(((struct holder *)arg)->go, MT_FOREVER);
}

static void *holder_main(void *arg) {
  holder_t *h = arg;
  if (h->rlock) assert_code(mt_rlock_acquire(h->rlock, MT_FOREVER), 0);
  atomic_store(&h->holding, 1);
  assert_code(mt_sem_acquire(h->go, MT_FOREVER), 0);
  if (h->rlock) assert_code(mt_rlock_release(h->rlock), 0);
  return NULL;
}

/* Kills t as the scheduler would run it: t is the running task meanwhile
 * (a park during its unwinding is t's, not the root's). */
static int kill_task(task_t *t) {
  S.running = t;
  int r = mt_greenlet_kill(t->g);
  S.running = NULL;
  return r;
}

/* ---- killed while blocked ----------------------------------------------------- */

static void kill_blocked(int (*body)(task_t *), void *obj, void *obj2) {
  sched_begin();
  task_t *t = spawn(body, obj, obj2);
  run_until(first_parked);
  assert_int_equal(t->parks, 1);
  assert_code(kill_task(t), 0);
  assert_true(t->done);
  assert_code(t->result, MT_ECANCELLED);
  assert_code(t->result2, MT_ECANCELLED); /* sticky, and did not park again */
  assert_int_equal(t->parks, 1);
  sched_end();
}

static void killed_in_each_call(void **state) {
  (void)state;
  int g, p, j;
  mt_queue_t *q = mt_queue_new(1);
  kill_blocked(q_get, q, NULL);
  mt__queue_waiting(q, &g, &p, &j);
  assert_int_equal(g, 0);
  assert_code(mt_queue_put(q, (void *)1, 0), 0); /* usable; now full */
  kill_blocked(q_put, q, NULL);
  mt__queue_waiting(q, &g, &p, &j);
  assert_int_equal(p, 0);
  kill_blocked(q_join, q, NULL); /* one unfinished item */
  mt__queue_waiting(q, &g, &p, &j);
  assert_int_equal(j, 0);
  void *item;
  assert_code(mt_queue_get(q, &item, 0), 0);
  assert_ptr_equal(item, (void *)1);
  assert_code(mt_queue_task_done(q), 0);
  assert_code(mt_queue_join(q, 0), 0);
  mt_queue_free(q);

  mt_future_t *f = mt_future_new();
  kill_blocked(f_result, f, NULL);
  assert_code(mt_future_set_result(f, (mt_value_t){(void *)7, 0, NULL}), 0);
  mt_value_t v;
  assert_code(mt_future_result(f, 0, &v), 0);
  mt_future_free(f);

  for (int flags = 0; flags <= MT_SHARED; flags += MT_SHARED) {
    mt_sem_t *s = mt_sem_new(0, flags);
    kill_blocked(s_acquire, s, NULL);
    assert_code(mt_sem_value(s), 0);
    assert_code(mt_sem_release(s, 1), 0);
    assert_code(mt_sem_acquire(s, 0), 0);
    mt_sem_free(s);

    mt_event_t *e = mt_event_new(flags);
    kill_blocked(e_wait, e, NULL);
    assert_int_equal(mt__event_waiters(e), 0);
    mt_event_free(e);

    int flag = 0;
    mt_cond_t *c = mt_cond_new(NULL, flags);
    kill_blocked(c_wait, c, &flag);
    mt_cond_free(c);
  }
}

/* Process queues (MT_SHARED): get on an empty queue, put on a full one,
 * join with an unfinished item. */
static bool two_parked(void) { return S.tasks[0]->parked && S.tasks[1]->parked; }

static void killed_in_mpqueue(void **state) {
  (void)state;
  int g, p;
  char buf[8];
  mt_mpqueue_t *q = mt_mpqueue_new_joinable(1, 8);
  assert_non_null(q);
  kill_blocked(mq_get, q, NULL);
  mt__mpqueue_sleeping(q, &g, &p);
  assert_int_equal(g, 0);
  assert_code(mt_mpqueue_qsize(q), 0);
  assert_code(mt_mpqueue_put(q, "a", 1, 0), 0); /* usable; now full */
  kill_blocked(mq_put, q, NULL);
  mt__mpqueue_sleeping(q, &g, &p);
  assert_int_equal(p, 0);
  assert_code(mt_mpqueue_qsize(q), 1); /* no item added, none lost */
  kill_blocked(mq_join, q, NULL); /* one unfinished item */
  assert_code(mt_mpqueue_get(q, buf, sizeof buf, NULL, 0), 1);
  assert_int_equal(buf[0], 'a');
  assert_code(mt_mpqueue_task_done(q), 0);
  assert_code(mt_mpqueue_join(q, 0), 0);
  /* the next waiter is served: two coroutines hand an item over */
  sched_begin();
  task_t *a = spawn(mq_get, q, NULL), *b = spawn(mq_putter, q, NULL);
  run_until(all_done);
  assert_code(a->result, 0);
  assert_code(b->result, 0);
  assert_true(a->parks >= 1);
  sched_end();
  assert_code(mt_mpqueue_qsize(q), 0);
  /* two getters wait, the first is killed: a put reaches the second */
  sched_begin();
  a = spawn(mq_get, q, NULL);
  b = spawn(mq_get, q, NULL);
  run_until(two_parked);
  assert_code(kill_task(a), 0);
  assert_code(a->result, MT_ECANCELLED);
  assert_code(mt_mpqueue_put(q, "d", 1, 0), 0);
  run_until(all_done);
  assert_code(b->result, 0);
  sched_end();
  mt__mpqueue_sleeping(q, &g, &p);
  assert_int_equal(g + p, 0);
  assert_code(mt_mpqueue_qsize(q), 0);
  mt_mpqueue_free(q);
}

static void holder_cb(void *arg) { holder_main(arg); }
static void never_cb(void *arg) {
  (void)arg;
  fail_msg("a cancelled timer fired");
}

/* Lock, RLock, Barrier, once, thread join, timer join and cancel. */
static void killed_in_each_call_2(void **state) {
  (void)state;
  for (int flags = 0; flags <= MT_SHARED; flags += MT_SHARED) {
    mt_lock_t *l = mt_lock_new(flags);
    assert_code(mt_lock_acquire(l, 0), 0); /* the root holds it */
    kill_blocked(l_acquire, l, NULL);
    assert_code(mt_lock_release(l), 0);
    assert_code(mt_lock_is_locked(l), 0);
    assert_code(mt_lock_acquire(l, 0), 0); /* usable */
    assert_code(mt_lock_release(l), 0);
    mt_lock_free(l);

    /* an RLock is the thread's: held by another thread */
    holder_t h = {.rlock = mt_rlock_new(flags), .go = mt_sem_new(0, 0)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, holder_main, &h), 0);
    while (!atomic_load(&h.holding)) mt__sys_yield();
    kill_blocked(rl_acquire, h.rlock, NULL);
    assert_code(mt_sem_release(h.go, 1), 0);
    pthread_join(th, NULL);
    assert_code(mt_rlock_acquire(h.rlock, 0), 0);
    assert_code(mt_rlock_release(h.rlock), 0);
    mt_rlock_free(h.rlock);
    mt_sem_free(h.go);

    mt_barrier_t *b = mt_barrier_new(2, NULL, NULL, MT_FOREVER, flags);
    kill_blocked(b_wait, b, NULL);
    assert_code(mt_barrier_n_waiting(b), 0); /* the party left its round */
    assert_code(mt_barrier_is_broken(b), 0);
    sched_begin(); /* still works: two coroutines pass it */
    task_t *p1 = spawn(b_wait, b, NULL), *p2 = spawn(b_wait, b, NULL);
    run_until(all_done);
    assert_code(p1->result, 0);
    assert_code(p2->result, 0);
    sched_end();
    mt_barrier_free(b);
  }

  /* futures.wait and as_completed */
  mt_future_t *fu = mt_future_new();
  kill_blocked(fw_wait, fu, NULL);
  kill_blocked(ac_next, fu, NULL);
  assert_code(mt_future_set_result(fu, (mt_value_t){(void *)5, 0, NULL}), 0);
  mt_future_t *fdone = NULL;
  assert_code(mt_future_wait(&fu, 1, 0, MT_ALL_COMPLETED, &fdone, NULL, NULL), 1);
  assert_ptr_equal(fdone, fu);
  mt_future_free(fu);

  /* a thread pool's shutdown(wait): its one task runs until told to end */
  holder_t eh = {.go = mt_sem_new(0, 0)};
  mt_executor_t *ex = mt_executor_new_thread_pool(NULL);
  assert_non_null(ex);
  mt_future_t *ef = NULL;
  assert_code(mt_executor_submit(ex, task_wait_go, &eh, &ef), 0);
  while (!atomic_load(&eh.holding)) mt__sys_yield();
  kill_blocked(ex_shutdown, ex, NULL);
  assert_code(mt_sem_release(eh.go, 1), 0);
  assert_code(mt_executor_shutdown(ex, true, false, MT_FOREVER), 0);
  assert_code(mt_future_result(ef, 0, NULL), 0);
  mt_future_free(ef);
  mt_executor_free(ex);
  mt_sem_free(eh.go);

  /* once: the runner is a coroutine parked in fn, a second caller waits */
  mt_once_t o = MT_ONCE_INIT;
  mt_event_t *ev = mt_event_new(0);
  sched_begin();
  task_t *runner = spawn(once_run, &o, ev), *waiter = spawn(once_wait, &o, ev);
  run_until(first_parked);
  while (!waiter->parked) pass();
  assert_code(kill_task(waiter), 0);
  assert_code(waiter->result, MT_ECANCELLED);
  assert_code(waiter->result2, MT_ECANCELLED);
  assert_int_equal(waiter->parks, 1);
  assert_code(mt_event_set(ev), 0);
  run_until(all_done);
  assert_code(runner->result, 0);
  sched_end();
  assert_code(mt_once_call(&o, once_fn, ev), 0); /* done: fn not run again */
  mt_event_free(ev);

  /* thread join: the thread runs until told to end */
  holder_t h = {.go = mt_sem_new(0, 0)};
  mt_thread_t *t = mt_thread_spawn(holder_main, &h, NULL);
  assert_non_null(t);
  kill_blocked(th_join, t, NULL);
  assert_code(mt_sem_release(h.go, 1), 0);
  assert_code(mt_thread_join(t, MT_FOREVER, NULL), 0);
  mt_thread_free(t);

  /* timer join: a timer that would fire in an hour */
  mt_timer_t *tm = mt_timer_new(3600, never_cb, NULL);
  assert_code(mt_timer_start(tm), 0);
  kill_blocked(tm_join, tm, NULL);
  assert_code(mt_timer_cancel(tm, MT_FOREVER), 1);
  assert_code(mt_timer_join(tm, MT_FOREVER), 0);
  mt_timer_free(tm);

  /* timer cancel: waits for a running callback, which waits for `go` */
  holder_t ch = {.go = mt_sem_new(0, 0)};
  tm = mt_timer_new(0, holder_cb, &ch);
  assert_code(mt_timer_start(tm), 0);
  while (!atomic_load(&ch.holding)) mt__sys_yield();
  kill_blocked(tm_cancel, tm, NULL);
  assert_code(mt_sem_release(ch.go, 1), 0);
  assert_code(mt_timer_join(tm, MT_FOREVER), 0);
  assert_code(mt_timer_is_fired(tm), 1);
  mt_timer_free(tm);
  mt_sem_free(h.go);
  mt_sem_free(ch.go);
}

/* A condition waiter killed while another holds the lock retakes the lock
 * before it returns MT_ECANCELLED (as Python): the kill does not end that
 * wait, so the caller never "releases" a lock it does not hold. */
static void cond_kill_lock_held(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(0);
  mt_cond_t *c = mt_cond_new(l, 0);
  int flag = 0;
  sched_begin();
  task_t *t = spawn(c_wait, c, &flag);
  run_until(first_parked);
  assert_code(mt_lock_acquire(l, 0), 0); /* the root takes it meanwhile */
  assert_code(kill_task(t), MT_EBUSY); /* waits for the lock */
  assert_false(t->done);
  assert_code(mt_lock_release(l), 0);
  run_until(all_done);
  assert_code(t->result, MT_ECANCELLED);
  assert_code(t->result2, MT_ECANCELLED);
  sched_end();
  assert_code(mt_lock_is_locked(l), 0);
  mt_cond_free(c);
  mt_lock_free(l);
}

/* ---- two coroutines on one thread ------------------------------------------- */

static int q_putter(task_t *t) { return mt_queue_put(t->obj, (void *)42, MT_FOREVER); }
static int f_setter(task_t *t) {
  return mt_future_set_result(t->obj, (mt_value_t){(void *)43, 0, NULL});
}
static int s_releaser(task_t *t) { return mt_sem_release(t->obj, 1); }
static int e_setter(task_t *t) { return mt_event_set(t->obj); }
static int c_notifier(task_t *t) {
  mt_cond_t *c = t->obj;
  assert_code(mt_cond_acquire(c, MT_FOREVER), 0);
  *(int *)t->obj2 = 1;
  int r = mt_cond_notify(c, 1);
  assert_code(mt_cond_release(c), 0);
  return r;
}

static void hand_off(int (*waiter)(task_t *), int (*waker)(task_t *), void *obj, void *obj2) {
  sched_begin();
  task_t *a = spawn(waiter, obj, obj2);
  task_t *b = spawn(waker, obj, obj2);
  run_until(all_done);
  assert_code(a->result, 0);
  assert_code(b->result, 0);
  assert_true(a->parks >= 1); /* it parked, and the thread ran b meanwhile */
  sched_end();
}

static void two_coroutines_one_thread(void **state) {
  (void)state;
  mt_queue_t *q = mt_queue_new(0);
  hand_off(q_get, q_putter, q, NULL);
  mt_queue_free(q);
  mt_future_t *f = mt_future_new();
  hand_off(f_result, f_setter, f, NULL);
  mt_future_free(f);
  for (int flags = 0; flags <= MT_SHARED; flags += MT_SHARED) {
    mt_sem_t *s = mt_sem_new(0, flags);
    hand_off(s_acquire, s_releaser, s, NULL);
    mt_sem_free(s);
    mt_event_t *e = mt_event_new(flags);
    hand_off(e_wait, e_setter, e, NULL);
    mt_event_free(e);
    int flag = 0;
    mt_cond_t *c = mt_cond_new(NULL, flags);
    hand_off(c_wait, c_notifier, c, &flag);
    mt_cond_free(c);
  }
}

/* A Lock between two coroutines of one thread: A holds it while parked on
 * an event; B sets the event and blocks on the lock (parks on its node). */
static int lock_holder(task_t *t) {
  assert_code(mt_lock_acquire(t->obj, MT_FOREVER), 0);
  int r = mt_event_wait(t->obj2, MT_FOREVER);
  assert_code(mt_lock_release(t->obj), 0);
  return r;
}
static int lock_taker(task_t *t) {
  assert_code(mt_event_set(t->obj2), 0);
  return l_acquire(t);
}

static void lock_two_coroutines(void **state) {
  (void)state;
  for (int flags = 0; flags <= MT_SHARED; flags += MT_SHARED) {
    mt_lock_t *l = mt_lock_new(flags);
    mt_event_t *e = mt_event_new(flags);
    sched_begin();
    task_t *a = spawn(lock_holder, l, e), *b = spawn(lock_taker, l, e);
    run_until(all_done);
    assert_code(a->result, 0);
    assert_code(b->result, 0);
    assert_true(b->parks >= 1);
    sched_end();
    assert_code(mt_lock_is_locked(l), 0);
    mt_lock_free(l);
    mt_event_free(e);
  }
}

/* ---- woken from another thread ------------------------------------------------ */

typedef struct {
  int (*waker)(task_t *);
  task_t *t;
  task_t fake; /* the waker's arguments */
} other_t;

static void *other_thread(void *arg) {
  other_t *o = arg;
  /* wait for the coroutine to park: on the thing itself, no sleep */
  while (!__atomic_load_n(&o->t->parked, __ATOMIC_ACQUIRE)) mt__sys_yield();
  o->fake.result = o->waker(&o->fake);
  return NULL;
}

static int l_releaser(task_t *t) { return mt_lock_release(t->obj); }

static void woken_from(int (*waiter)(task_t *), int (*waker)(task_t *), void *obj,
                       bool by_node) {
  sched_begin();
  task_t *a = spawn(waiter, obj, NULL);
  other_t o = {waker, a, {.obj = obj}};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, other_thread, &o), 0);
  run_until(all_done);
  pthread_join(th, NULL);
  assert_code(o.fake.result, 0);
  assert_code(a->result, 0);
  assert_true(a->parks >= 1);
  if (by_node) assert_true(atomic_load(&S.cross_unparks) >= 1);
  sched_end();
}

static void woken_from_another_thread(void **state) {
  (void)state;
  int rounds = (int)mt_test_scaled(200, 5);
  for (int i = 0; i < rounds; i++) {
    mt_queue_t *q = mt_queue_new(0);
    woken_from(q_get, q_putter, q, true);
    mt_queue_free(q);
    mt_future_t *f = mt_future_new();
    woken_from(f_result, f_setter, f, true);
    mt_future_free(f);
    mt_sem_t *s = mt_sem_new(0, MT_SHARED);
    woken_from(s_acquire, s_releaser, s, false);
    mt_sem_free(s);
    mt_event_t *e = mt_event_new(0);
    woken_from(e_wait, e_setter, e, true); /* a private event count: by node */
    mt_event_free(e);
    mt_lock_t *l = mt_lock_new(0);
    assert_code(mt_lock_acquire(l, 0), 0);
    woken_from(l_acquire, l_releaser, l, true);
    assert_code(mt_lock_is_locked(l), 0);
    mt_lock_free(l);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(killed_in_each_call),
      cmocka_unit_test(killed_in_each_call_2),
      cmocka_unit_test(killed_in_mpqueue),
      cmocka_unit_test(lock_two_coroutines),
      cmocka_unit_test(cond_kill_lock_held),
      cmocka_unit_test(two_coroutines_one_thread),
      cmocka_unit_test(woken_from_another_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
