/* Task groups (asyncio.TaskGroup) on the hub: exact, no sleep-based sync.
 *
 * - all children succeed: the wait returns 0, every value is there, the
 *   group is closed afterwards (spawn -> MT_ECLOSED);
 * - a failed child cancels its siblings: those parked in a queue get see
 *   MT_ECANCELLED once and end CANCELLED, those not started never run; a
 *   sibling that turns the cancel into a failure of its own is counted;
 *   the wait reports MT_ETASKFAILED, the count and the first failure;
 * - cancelling (or killing) the parent waiting on the group cancels the
 *   children; a wait with a timeout leaves the group open;
 * - children spawn siblings while the parent waits;
 * - free: running children are cancelled, a failure after the free is
 *   reported as never retrieved, one the group saw is not;
 * - bad arguments, another thread, no hub;
 * - many groups of many children, exact totals (MT_TEST_SCALE);
 * - timeout scopes: the deadline cuts each blocking call (queue get/put,
 *   Lock, Event, future result, sleep, Semaphore, Condition, join) with
 *   MT_ECANCELLED, never before it, the next call at once, the end says
 *   MT_ETIMEDOUT; a call's own shorter timeout is its own; nesting (inner
 *   earlier, outer earlier, equal); zero scopes; asyncio's cancel inside
 *   a scope; MT_WITH_TIMEOUT; no timer left once a scope ended. */
#include "mt_test.h"
#include "coro_test.h"
#include "coro/scope.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

/* hub, setup, teardown: coro_test.h */

typedef struct {
  mt_queue_t *q; /* children park here (nobody puts) */
  int started, ended;
  int got[8];    /* what child i's wait returned */
  int on_cancel; /* what a cancelled child returns */
} ctx_t;

typedef struct {
  ctx_t *c;
  int i;
} kid_t;

static int square(void *arg, mt_value_t *out) {
  intptr_t v = (intptr_t)arg;
  out->ptr = (void *)(v * v);
  return 0;
}

static void all_succeed(void **state) {
  (void)state;
  mt_taskgroup_t *g = mt_taskgroup_new();
  assert_non_null(g);
  enum { N = 50 };
  for (intptr_t i = 0; i < N; i++) assert_non_null(mt_taskgroup_spawn(g, square, (void *)i, NULL));
  assert_int_equal(mt_taskgroup_len(g), N);
  assert_int_equal(mt_taskgroup_is_closed(g), 0);
  assert_code(mt_taskgroup_wait(g, MT_FOREVER), 0);
  for (int i = 0; i < N; i++) {
    mt_value_t v;
    assert_code(mt_future_result(mt_taskgroup_task(g, i), 0, &v), 0);
    assert_int_equal((intptr_t)v.ptr, (intptr_t)i * i);
  }
  mt_task_error_t e = {1, NULL};
  assert_int_equal(mt_taskgroup_exception(g, &e), 0);
  assert_int_equal(e.code, 0);
  assert_string_equal(e.message, "");
  assert_int_equal(mt_taskgroup_is_closed(g), 1);
  errno = 0;
  assert_null(mt_taskgroup_spawn(g, square, NULL, NULL));
  assert_int_equal(errno, -MT_ECLOSED);
  assert_null(mt_taskgroup_task(g, N));
  assert_null(mt_taskgroup_task(g, -1));
  /* waiting again: nothing left, same answer */
  assert_code(mt_taskgroup_wait(g, 0), 0);
  mt_taskgroup_free(g);
}

/* Parks in a queue get; returns c->on_cancel when the get was cancelled. */
static int parker(void *arg, mt_value_t *out) {
  (void)out;
  kid_t *k = arg;
  k->c->started++;
  void *item;
  int r = mt_queue_get(k->c->q, &item, MT_FOREVER);
  k->c->got[k->i] = r;
  k->c->ended++;
  if (r == MT_ECANCELLED) return k->c->on_cancel;
  return r;
}

static int fails(void *arg, mt_value_t *out) {
  (void)out;
  ctx_t *c = arg;
  c->started++;
  mt_coro_sleep(0); /* let the parkers park first */
  return mt_task_fail(-77, "child %d broke", 3);
}

static void failure_cancels_siblings(void **state) {
  (void)state;
  ctx_t c = {.q = mt_queue_new(0), .on_cancel = MT_ECANCELLED};
  kid_t k[4];
  mt_taskgroup_t *g = mt_taskgroup_new();
  for (int i = 0; i < 3; i++) {
    k[i] = (kid_t){&c, i};
    c.got[i] = 1;
    assert_non_null(mt_taskgroup_spawn(g, parker, &k[i], NULL));
  }
  mt_future_t *bad = mt_taskgroup_spawn(g, fails, &c, NULL);
  assert_non_null(bad);
  assert_code(mt_taskgroup_wait(g, MT_FOREVER), MT_ETASKFAILED);
  assert_int_equal(c.started, 4);
  assert_int_equal(c.ended, 3);
  for (int i = 0; i < 3; i++) {
    assert_code(c.got[i], MT_ECANCELLED);
    assert_int_equal(mt_future_is_cancelled(mt_taskgroup_task(g, i)), 1);
  }
  mt_task_error_t e;
  assert_int_equal(mt_taskgroup_exception(g, &e), 1);
  assert_code(e.code, -77);
  assert_string_equal(e.message, "child 3 broke");
  assert_code(mt_future_result(bad, 0, NULL), MT_ETASKFAILED);
  assert_int_equal(mt_taskgroup_is_closed(g), 1);
  errno = 0;
  assert_null(mt_taskgroup_spawn(g, square, NULL, NULL));
  assert_int_equal(errno, -MT_ECLOSED);
  mt_taskgroup_free(g);
  /* the queue is intact: a put reaches a new getter */
  assert_code(mt_queue_put(c.q, (void *)5, 0), 0);
  void *item;
  assert_code(mt_queue_get(c.q, &item, 0), 0);
  assert_ptr_equal(item, (void *)5);
  mt_queue_free(c.q);
}

/* Failing at once: siblings spawned after it have not started yet and never
 * run; one that fails on cancel counts; spawning into the failed group is
 * refused before the parent waits. */
static int fail_now(void *arg, mt_value_t *out) {
  (void)out;
  (void)arg;
  return mt_task_fail(-5, "first");
}

static int count_run(void *arg, mt_value_t *out) {
  (void)out;
  (*(int *)arg)++;
  return 0;
}

static int fail_on_cancel(void *arg, mt_value_t *out) {
  kid_t *k = arg;
  int r = parker(arg, out);
  return r == MT_ECANCELLED ? mt_task_fail(-6, "second %d", k->i) : r;
}

typedef struct {
  mt_taskgroup_t *g;
  int ran;
  mt_future_t *late;
  int late_errno;
} watcher_t;

static void failure_before_siblings_start(void **state) {
  (void)state;
  ctx_t c = {.q = mt_queue_new(0), .on_cancel = MT_ECANCELLED};
  kid_t k0 = {&c, 0};
  int ran = 0;
  mt_taskgroup_t *g = mt_taskgroup_new();
  assert_non_null(mt_taskgroup_spawn(g, fail_on_cancel, &k0, NULL)); /* parks first */
  assert_non_null(mt_taskgroup_spawn(g, fail_now, NULL, NULL));
  for (int i = 0; i < 5; i++) assert_non_null(mt_taskgroup_spawn(g, count_run, &ran, NULL));
  assert_code(mt_coro_sleep(0), 0); /* one round: kid 0 parks, kid 1 fails, 2.. cancelled */
  assert_int_equal(mt_taskgroup_is_closed(g), 1);
  errno = 0;
  assert_null(mt_taskgroup_spawn(g, count_run, &ran, NULL));
  assert_int_equal(errno, -MT_ECLOSED);
  assert_code(mt_taskgroup_wait(g, MT_FOREVER), MT_ETASKFAILED);
  assert_int_equal(ran, 0);
  for (int i = 2; i < 7; i++) assert_int_equal(mt_future_is_cancelled(mt_taskgroup_task(g, i)), 1);
  mt_task_error_t e;
  assert_int_equal(mt_taskgroup_exception(g, &e), 2);
  assert_code(e.code, -5);
  assert_string_equal(e.message, "first");
  mt_task_error_t e0;
  assert_code(mt_future_exception(mt_taskgroup_task(g, 0), 0, &e0), 0);
  assert_code(e0.code, -6);
  assert_string_equal(e0.message, "second 0");
  mt_taskgroup_free(g);
  mt_queue_free(c.q);
}

/* The parent is a task waiting on its group; cancelling (or killing) it
 * cancels the children. */
typedef struct {
  ctx_t *c;
  kid_t k[3];
  int wait_r;
  int ended_at_wait;
  mt_future_t *kids[3];
} parent_t;

static int parent(void *arg, mt_value_t *out) {
  (void)out;
  parent_t *p = arg;
  mt_taskgroup_t *g = mt_taskgroup_new();
  for (int i = 0; i < 3; i++) {
    p->k[i] = (kid_t){p->c, i};
    mt_taskgroup_spawn(g, parker, &p->k[i], NULL);
  }
  p->wait_r = mt_taskgroup_wait(g, MT_FOREVER);
  p->ended_at_wait = p->c->ended;
  for (int i = 0; i < 3; i++) p->kids[i] = mt_future_ref(mt_taskgroup_task(g, i));
  mt_taskgroup_free(g);
  return p->wait_r;
}

static void cancel_parent_cancels_children(void **state) {
  (void)state;
  for (int kill = 0; kill < 2; kill++) {
    ctx_t c = {.q = mt_queue_new(0), .on_cancel = MT_ECANCELLED};
    parent_t p = {.c = &c};
    mt_future_t *t = mt_coro_spawn(parent, &p, NULL);
    while (c.started < 3) assert_code(mt_coro_sleep(0), 0);
    assert_int_equal(mt_future_is_done(t), 0);
    if (kill) assert_code(mt_coro_kill(t, MT_FOREVER), 0);
    else assert_int_equal(mt_coro_cancel(t), 1);
    assert_code(mt_future_result(t, MT_FOREVER, NULL), MT_ECANCELLED);
    assert_code(p.wait_r, MT_ECANCELLED);
    /* a cancelled parent waits for its children; a killed one cannot */
    assert_int_equal(p.ended_at_wait, kill ? 0 : 3);
    for (int i = 0; i < 3; i++) {
      assert_code(mt_coro_join(p.kids[i], MT_FOREVER), 0);
      assert_int_equal(mt_future_is_cancelled(p.kids[i]), 1);
      assert_code(c.got[i], MT_ECANCELLED);
      mt_future_free(p.kids[i]);
    }
    mt_future_free(t);
    mt_queue_free(c.q);
  }
}

static void wait_timeout_keeps_group_open(void **state) {
  (void)state;
  ctx_t c = {.q = mt_queue_new(0), .on_cancel = MT_ECANCELLED};
  kid_t k[2] = {{&c, 0}, {&c, 1}};
  mt_taskgroup_t *g = mt_taskgroup_new();
  for (int i = 0; i < 2; i++) mt_taskgroup_spawn(g, parker, &k[i], NULL);
  assert_code(mt_taskgroup_wait(g, 0), MT_ETIMEDOUT);
  assert_code(mt_taskgroup_wait(g, 0.01), MT_ETIMEDOUT);
  assert_int_equal(c.started, 2);
  assert_int_equal(mt_taskgroup_is_closed(g), 0);
  assert_code(mt_taskgroup_wait(g, -2), MT_EINVAL);
  assert_code(mt_queue_put(c.q, (void *)1, 0), 0);
  assert_code(mt_queue_put(c.q, (void *)2, 0), 0);
  assert_code(mt_taskgroup_wait(g, MT_FOREVER), 0);
  assert_int_equal(c.ended, 2);
  assert_code(c.got[0], 0);
  assert_code(c.got[1], 0);
  mt_taskgroup_free(g);
  mt_queue_free(c.q);
}

/* mt_taskgroup_cancel: the children see MT_ECANCELLED; the group closes. */
static void cancel_group(void **state) {
  (void)state;
  ctx_t c = {.q = mt_queue_new(0), .on_cancel = MT_ECANCELLED};
  kid_t k[3] = {{&c, 0}, {&c, 1}, {&c, 2}};
  mt_taskgroup_t *g = mt_taskgroup_new();
  for (int i = 0; i < 3; i++) mt_taskgroup_spawn(g, parker, &k[i], NULL);
  while (c.started < 2) assert_code(mt_coro_sleep(0), 0); /* kid 2 may not have started */
  int n = mt_taskgroup_cancel(g);
  assert_int_equal(n, 3);
  assert_code(mt_taskgroup_wait(g, MT_FOREVER), 0); /* cancelled is not failed */
  for (int i = 0; i < 3; i++) assert_int_equal(mt_future_is_cancelled(mt_taskgroup_task(g, i)), 1);
  assert_int_equal(mt_taskgroup_cancel(g), 0);
  mt_taskgroup_free(g);
  mt_queue_free(c.q);
}

/* A child spawns siblings (while the parent waits): the wait includes them. */
typedef struct {
  mt_taskgroup_t *g;
  int depth;
  int count;
} tree_t;

static int spawner(void *arg, mt_value_t *out) {
  (void)out;
  tree_t *t = arg;
  t->count++;
  if (t->depth-- > 0) {
    mt_coro_sleep(0);
    if (!mt_taskgroup_spawn(t->g, spawner, t, NULL)) return -errno;
    if (!mt_taskgroup_spawn(t->g, count_run, &t->count, NULL)) return -errno;
  }
  return 0;
}

static void children_spawn_siblings(void **state) {
  (void)state;
  tree_t t = {mt_taskgroup_new(), 10, 0};
  assert_non_null(mt_taskgroup_spawn(t.g, spawner, &t, NULL));
  assert_code(mt_taskgroup_wait(t.g, MT_FOREVER), 0);
  assert_int_equal(mt_taskgroup_len(t.g), 21);
  assert_int_equal(t.count, 21);
  mt_taskgroup_free(t.g);
}

/* free: children running are cancelled; what fails after the free is
 * reported as never retrieved, what the group saw is not. */
static int reported;
static int reported_code;
static void on_report(mt_future_t *task, const mt_task_error_t *err, void *arg) {
  (void)task;
  (void)arg;
  reported++;
  reported_code = err->code;
}

static void free_semantics(void **state) {
  (void)state;
  mt_coro_set_exception_handler(on_report, NULL);
  reported = 0;
  /* a failure the group saw: not reported when freed */
  mt_taskgroup_t *g = mt_taskgroup_new();
  mt_taskgroup_spawn(g, fail_now, NULL, NULL);
  assert_code(mt_taskgroup_wait(g, MT_FOREVER), MT_ETASKFAILED);
  mt_taskgroup_free(g);
  assert_int_equal(reported, 0);
  /* free with children parked: they are cancelled; one fails on it */
  ctx_t c = {.q = mt_queue_new(0), .on_cancel = MT_ECANCELLED};
  kid_t k[2] = {{&c, 0}, {&c, 1}};
  g = mt_taskgroup_new();
  mt_taskgroup_spawn(g, parker, &k[0], NULL);
  mt_taskgroup_spawn(g, fail_on_cancel, &k[1], NULL);
  while (c.started < 2) assert_code(mt_coro_sleep(0), 0);
  mt_taskgroup_free(g); /* never blocks */
  assert_int_equal(c.ended, 0);
  while (c.ended < 2) assert_code(mt_coro_sleep(0), 0);
  assert_code(c.got[0], MT_ECANCELLED);
  assert_code(c.got[1], MT_ECANCELLED);
  assert_code(mt_coro_sleep(0), 0); /* the tasks' greenlets end */
  assert_int_equal(reported, 1);
  assert_code(reported_code, -6);
  mt_coro_set_exception_handler(NULL, NULL);
  mt_queue_free(c.q);
}

/* Bad arguments, another thread, no hub. */
static void *other_thread(void *arg) {
  watcher_t *w = arg;
  errno = 0;
  w->late = mt_taskgroup_spawn(w->g, square, NULL, NULL);
  w->late_errno = errno;
  w->ran = mt_taskgroup_wait(w->g, 0) * 1000 + mt_taskgroup_cancel(w->g);
  errno = 0;
  mt_taskgroup_t *g = mt_taskgroup_new(); /* this thread has no hub */
  if (g || errno != -MT_EPERM) w->ran = 1;
  return NULL;
}

static void bad_arguments(void **state) {
  (void)state;
  mt_taskgroup_t *g = mt_taskgroup_new();
  errno = 0;
  assert_null(mt_taskgroup_spawn(g, NULL, NULL, NULL));
  assert_int_equal(errno, -MT_EINVAL);
  mt_coro_opts_t o = {0};
  errno = 0;
  assert_null(mt_taskgroup_spawn(g, square, NULL, &o));
  assert_int_equal(errno, -MT_EINVAL);
  mt_coro_opts_t tiny = MT_CORO_OPTS_INIT;
  tiny.stack_size = 100;
  errno = 0;
  assert_null(mt_taskgroup_spawn(g, square, NULL, &tiny));
  assert_int_equal(errno, -MT_EINVAL);
  assert_int_equal(mt_taskgroup_len(g), 0);
  watcher_t w = {.g = g};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, other_thread, &w), 0);
  pthread_join(th, NULL);
  assert_null(w.late);
  assert_int_equal(w.late_errno, -MT_EPERM);
  assert_int_equal(w.ran, MT_EPERM * 1000 + MT_EPERM);
  assert_code(mt_taskgroup_wait(g, MT_FOREVER), 0); /* empty */
  mt_taskgroup_free(g);
}

/* Many groups, many children each, exact totals; every third group has a
 * failing child whose siblings park. */
static long total;
static int add_one(void *arg, mt_value_t *out) {
  (void)out;
  total += (intptr_t)arg;
  return mt_coro_sleep(0);
}

static void many_groups(void **state) {
  (void)state;
  long groups = mt_test_scaled(200, 4), kids = 100;
  long expect = 0, failed_groups = 0;
  ctx_t c = {.q = mt_queue_new(0), .on_cancel = MT_ECANCELLED};
  kid_t k = {&c, 0};
  total = 0;
  for (long i = 0; i < groups; i++) {
    mt_taskgroup_t *g = mt_taskgroup_new();
    bool bad = i % 3 == 2;
    if (bad) mt_taskgroup_spawn(g, parker, &k, NULL);
    for (long j = 0; j < kids; j++) {
      assert_non_null(mt_taskgroup_spawn(g, add_one, (void *)(intptr_t)(j + 1), NULL));
      expect += j + 1;
    }
    if (bad) mt_taskgroup_spawn(g, fail_now, NULL, NULL);
    int r = mt_taskgroup_wait(g, MT_FOREVER);
    assert_code(r, bad ? MT_ETASKFAILED : 0);
    failed_groups += bad;
    mt_taskgroup_free(g);
  }
  assert_int_equal(total, expect);
  assert_int_equal(c.ended, failed_groups);
  mt_queue_free(c.q);
}

static void no_hub(void **state) {
  (void)state;
  errno = 0;
  assert_null(mt_taskgroup_new());
  assert_int_equal(errno, -MT_EPERM);
}

/* ---- timeout scopes ---------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum { C_QGET, C_QPUT, C_LOCK, C_EVENT, C_FUTURE, C_SLEEP, C_SEM, C_COND, C_JOIN, C_PIPE, C_N };
static const char *cnames[C_N] = {"queue get", "queue put", "lock", "event", "future result",
                                  "sleep", "sem", "cond", "join", "pipe recv"};

typedef struct {
  mt_queue_t *q, *full;
  mt_lock_t *lock;
  mt_event_t *ev;
  mt_future_t *fut, *task;
  mt_sem_t *sem;
  mt_cond_t *cond;
  mt_conn_t *pa, *pb; /* a pipe nobody writes to: a descriptor wait */
} objs_t;

static int never(void *arg, mt_value_t *out) {
  (void)out;
  return mt_event_wait(arg, MT_FOREVER); /* until cancelled */
}

static objs_t make_objs(void) {
  objs_t o = {mt_queue_new(0), mt_queue_new(1), mt_lock_new(0), mt_event_new(0), mt_future_new(),
              NULL, mt_sem_new(0, 0), mt_cond_new(NULL, 0), NULL, NULL};
  assert_code(mt_queue_put(o.full, (void *)1, 0), 0);
  assert_code(mt_lock_acquire(o.lock, 0), 0); /* held by the root */
  o.task = mt_coro_spawn(never, o.ev, NULL);
  assert_code(mt_pipe_new(true, &o.pa, &o.pb), 0);
  return o;
}

static void free_objs(objs_t *o) {
  assert_code(mt_coro_kill(o->task, MT_FOREVER), 0);
  mt_future_free(o->task);
  mt_queue_free(o->q);
  mt_queue_free(o->full);
  assert_code(mt_lock_release(o->lock), 0);
  mt_lock_free(o->lock);
  mt_event_free(o->ev);
  mt_future_free(o->fut);
  mt_sem_free(o->sem);
  mt_cond_free(o->cond);
  mt_conn_free(o->pa);
  mt_conn_free(o->pb);
}

/* One blocking call of kind k, unlimited (or with `timeout`). */
static int call(objs_t *o, int k, double timeout) {
  void *item;
  switch (k) {
  case C_QGET: return mt_queue_get(o->q, &item, timeout);
  case C_QPUT: return mt_queue_put(o->full, (void *)2, timeout);
  case C_LOCK: return mt_lock_acquire(o->lock, timeout);
  case C_EVENT: return mt_event_wait(o->ev, timeout);
  case C_FUTURE: return mt_future_result(o->fut, timeout, NULL);
  case C_SLEEP: return mt_coro_sleep(timeout == MT_FOREVER ? 1000 : timeout);
  case C_SEM: return mt_sem_acquire(o->sem, timeout);
  case C_COND: {
    int r = mt_cond_acquire(o->cond, MT_FOREVER);
    if (r < 0) return r;
    r = mt_cond_wait(o->cond, timeout);
    assert_code(mt_cond_release(o->cond), 0); /* held again whatever ended the wait */
    return r;
  }
  case C_JOIN: return mt_coro_join(o->task, timeout);
  case C_PIPE: {
    void *p = NULL;
    size_t n;
    int r = mt_conn_recv_bytes(o->pb, &p, &n, timeout);
    free(p);
    return r;
  }
  }
  return -1;
}

typedef struct {
  objs_t *o;
  int k;
  int r1, r2, end, after;
  double took;
} scoped_t;

/* The scope cuts the first call at its deadline; the second returns at
 * once; the end reports the expiry; after it the calls work again. */
static int scoped(void *arg, mt_value_t *out) {
  (void)out;
  scoped_t *s = arg;
  mt_timeout_t t;
  double t0 = now_s(); /* before the scope's own clock read: took >= 0.02 exactly */
  assert_code(mt_timeout_scope_begin(&t, 0.02), 0);
  s->r1 = call(s->o, s->k, MT_FOREVER);
  s->took = now_s() - t0;
  s->r2 = call(s->o, s->k, MT_FOREVER);
  s->end = mt_timeout_scope_end(&t);
  assert_int_equal(mt_timeout_is_expired(&t), 1);
  s->after = call(s->o, s->k, 0); /* one try: not cancelled any more */
  return 0;
}

static void check_scoped(scoped_t *s) {
  const char *n = cnames[s->k];
  if (s->r1 != MT_ECANCELLED || s->r2 != MT_ECANCELLED || s->end != MT_ETIMEDOUT)
    fail_msg("%s: first %s, second %s, end %s", n, mt_err_name(s->r1), mt_err_name(s->r2),
             mt_err_name(s->end));
  if (s->took < 0.02) fail_msg("%s: cut after %.4f s, before the deadline", n, s->took);
  int want = s->k == C_QGET ? MT_EEMPTY : s->k == C_QPUT ? MT_EFULL : s->k == C_SLEEP ? 0
             : MT_ETIMEDOUT;
  if (s->after != want) fail_msg("%s: after the scope %s", n, mt_err_name(s->after));
}

static void scope_cuts_each_blocking_call(void **state) {
  (void)state;
  objs_t o = make_objs();
  assert_code(mt_coro_sleep(0), 0); /* `never` parks */
  for (int k = 0; k < C_N; k++) {
    scoped_t s = {.o = &o, .k = k};
    mt_future_t *t = mt_coro_spawn(scoped, &s, NULL);
    assert_code(mt_future_result(t, MT_FOREVER, NULL), 0);
    mt_future_free(t);
    check_scoped(&s);
    assert_int_equal(mt__hub_timer_count(), 0);
    /* the same on the thread's own code */
    if (k == C_LOCK) continue; /* the root holds it: an RLock-free Lock would deadlock-fail */
    scoped_t r = {.o = &o, .k = k};
    assert_code(scoped(&r, NULL), 0);
    check_scoped(&r);
  }
  free_objs(&o);
}

/* A call's own shorter timeout is its own: its usual result, the scope
 * not expired; a scope that did not run out leaves no timer. */
static int own_stage;
static int own_timeout(void *arg, mt_value_t *out) {
  (void)out;
  objs_t *o = arg;
  mt_timeout_t t;
  assert_code(mt_timeout_scope_begin(&t, 10), 0);
  void *item;
  assert_code(mt_queue_get(o->q, &item, 0.01), MT_EEMPTY);
  assert_code(mt_event_wait(o->ev, 0.01), MT_ETIMEDOUT);
  assert_code(mt_coro_sleep(0.001), 0);
  assert_int_equal(mt__hub_timer_count(), 0); /* nothing parked: no timer */
  own_stage = 1;
  assert_code(mt_queue_get(o->q, &item, MT_FOREVER), 0); /* the root puts */
  assert_ptr_equal(item, (void *)9);
  assert_code(mt_timeout_scope_end(&t), 0);
  assert_int_equal(mt_timeout_is_expired(&t), 0);
  return 0;
}

static void scope_not_expired(void **state) {
  (void)state;
  objs_t o = make_objs();
  mt_future_t *t = mt_coro_spawn(own_timeout, &o, NULL);
  own_stage = 0;
  while (own_stage != 1) assert_code(mt_coro_sleep(0), 0);
  assert_int_equal(mt__hub_timer_count(), 1); /* parked in get: the scope bounds it */
  assert_code(mt_queue_put(o.q, (void *)9, 0), 0);
  assert_code(mt_future_result(t, MT_FOREVER, NULL), 0);
  mt_future_free(t);
  assert_int_equal(mt__hub_timer_count(), 0);
  free_objs(&o);
}

/* Nesting: the earliest deadline wins, whichever scope holds it. */
static void scope_nesting(void **state) {
  (void)state;
  objs_t o = make_objs();
  void *item;
  /* inner earlier: inner expires, the outer goes on */
  mt_timeout_t outer, inner;
  assert_code(mt_timeout_scope_begin(&outer, 30), 0);
  assert_code(mt_timeout_scope_begin(&inner, 0.01), 0);
  assert_code(mt_queue_get(o.q, &item, MT_FOREVER), MT_ECANCELLED);
  assert_code(mt_timeout_scope_end(&outer), MT_EINVAL); /* not the innermost */
  assert_code(mt_timeout_scope_end(&inner), MT_ETIMEDOUT);
  assert_code(mt_coro_sleep(0.001), 0);
  assert_code(mt_event_wait(o.ev, 0.001), MT_ETIMEDOUT);
  assert_code(mt_timeout_scope_end(&outer), 0);
  assert_int_equal(mt_timeout_is_expired(&outer), 0);
  assert_code(mt_timeout_scope_end(&outer), MT_EINVAL); /* twice */
  /* outer earlier: the cancellation goes through the inner scope */
  assert_code(mt_timeout_scope_begin(&outer, 0.01), 0);
  assert_code(mt_timeout_scope_begin(&inner, 30), 0);
  double t0 = now_s();
  assert_code(mt_future_result(o.fut, MT_FOREVER, NULL), MT_ECANCELLED);
  assert_true(now_s() - t0 < 20);
  assert_code(mt_timeout_scope_end(&inner), MT_ECANCELLED);
  assert_int_equal(mt_timeout_is_expired(&inner), 0);
  assert_code(mt_coro_sleep(0), MT_ECANCELLED); /* still inside the expired outer */
  assert_code(mt_timeout_scope_end(&outer), MT_ETIMEDOUT);
  assert_code(mt_coro_sleep(0), 0);
  /* equal deadlines: the outer one holds it */
  assert_code(mt_timeout_scope_begin(&outer, 0), 0);
  inner = outer;
  inner.outer_ns = outer.deadline_ns;
  inner.outer_scope = &outer;
  mt__hub_scopes()->top = &inner; /* an inner scope with the very same deadline */
  assert_code(mt_sem_acquire(o.sem, MT_FOREVER), MT_ECANCELLED);
  assert_code(mt_timeout_scope_end(&inner), MT_ECANCELLED);
  assert_code(mt_timeout_scope_end(&outer), MT_ETIMEDOUT);
  /* MT_FOREVER: no deadline */
  assert_code(mt_timeout_scope_begin(&outer, MT_FOREVER), 0);
  assert_code(mt_queue_get(o.q, &item, 0.001), MT_EEMPTY);
  assert_code(mt_timeout_scope_end(&outer), 0);
  free_objs(&o);
}

/* A call that need not wait succeeds in an expired scope (an await that
 * does not yield); a zero scope cuts the first wait at once. */
static void scope_zero(void **state) {
  (void)state;
  objs_t o = make_objs();
  void *item;
  mt_timeout_t t;
  assert_code(mt_queue_put(o.q, (void *)3, 0), 0);
  assert_code(mt_timeout_scope_begin(&t, 0), 0);
  assert_code(mt_queue_get(o.q, &item, MT_FOREVER), 0);
  assert_code(mt_queue_get(o.q, &item, MT_FOREVER), MT_ECANCELLED);
  assert_code(mt_queue_put(o.q, (void *)4, MT_FOREVER), 0); /* never waits on an unbounded queue */
  assert_code(mt_timeout_scope_end(&t), MT_ETIMEDOUT);
  assert_code(mt_queue_get(o.q, &item, 0), 0);
  assert_ptr_equal(item, (void *)4);
  free_objs(&o);
}

/* asyncio's cancel inside a scope: the call returns MT_ECANCELLED, the
 * scope did not expire.  A cancel arriving inside an expired scope is
 * delivered at the first wait after it. */
typedef struct {
  objs_t *o;
  int r1, end1, r2, end2, after, after2;
  int stage;
} cancel_in_scope_t;

static int cancel_in_scope(void *arg, mt_value_t *out) {
  (void)out;
  cancel_in_scope_t *c = arg;
  mt_timeout_t t;
  void *item;
  mt_timeout_scope_begin(&t, 30);
  c->stage = 1;
  c->r1 = mt_queue_get(c->o->q, &item, MT_FOREVER); /* cancelled by the root */
  c->end1 = mt_timeout_scope_end(&t);
  mt_timeout_scope_begin(&t, 0.01);
  c->r2 = mt_queue_get(c->o->q, &item, MT_FOREVER); /* expires */
  /* a cancel arriving inside the expired scope (here from the task itself:
   * nothing else runs before it waits again) */
  if (mt_coro_cancel(mt_task_current()) != 1) return -1;
  c->stage = mt_coro_sleep(0); /* the scope's MT_ECANCELLED; the cancel stays */
  c->end2 = mt_timeout_scope_end(&t);
  c->after = mt_coro_sleep(0);  /* the cancel, once */
  c->after2 = mt_coro_sleep(0); /* then nothing */
  return 0;
}

static void scope_and_cancel(void **state) {
  (void)state;
  objs_t o = make_objs();
  cancel_in_scope_t c = {.o = &o};
  mt_future_t *t = mt_coro_spawn(cancel_in_scope, &c, NULL);
  while (c.stage != 1) assert_code(mt_coro_sleep(0), 0);
  assert_int_equal(mt_coro_cancel(t), 1);
  assert_code(mt_future_result(t, MT_FOREVER, NULL), 0);
  assert_code(c.stage, MT_ECANCELLED);
  mt_future_free(t);
  assert_code(c.r1, MT_ECANCELLED);
  assert_code(c.end1, 0);
  assert_code(c.r2, MT_ECANCELLED);
  assert_code(c.end2, MT_ETIMEDOUT);
  assert_code(c.after, MT_ECANCELLED);
  assert_code(c.after2, 0);
  free_objs(&o);
}

/* MT_WITH_TIMEOUT, a `break` out of it, bad arguments, no hub, another
 * coroutine's scope. */
static int end_other(void *arg, mt_value_t *out) {
  (void)out;
  return mt_timeout_scope_end(arg);
}

static void *no_hub_scope(void *arg) {
  mt_timeout_t t;
  *(int *)arg = mt_timeout_scope_begin(&t, 1);
  return NULL;
}

static void scope_api(void **state) {
  (void)state;
  objs_t o = make_objs();
  void *item;
  mt_timeout_t t;
  int runs = 0;
  MT_WITH_TIMEOUT(&t, 0.01) {
    runs++;
    assert_code(mt_queue_get(o.q, &item, MT_FOREVER), MT_ECANCELLED);
  }
  assert_int_equal(runs, 1);
  assert_int_equal(mt_timeout_is_expired(&t), 1);
  assert_code(mt_coro_sleep(0), 0); /* closed */
  MT_WITH_TIMEOUT(&t, 0.01) {
    runs++;
    break;
  }
  assert_int_equal(runs, 2);
  assert_int_equal(t.open, 0);
  assert_code(mt_timeout_scope_begin(NULL, 1), MT_EINVAL);
  assert_code(mt_timeout_scope_begin(&t, -3), MT_EINVAL);
  assert_code(mt_timeout_scope_end(NULL), MT_EINVAL);
  assert_code(mt_timeout_is_expired(NULL), MT_EINVAL);
  mt_timeout_scope_exit(NULL);
  assert_code(mt_timeout_scope_begin(&t, 1), 0);
  mt_future_t *other = mt_coro_spawn(end_other, &t, NULL);
  assert_code(mt_future_result(other, MT_FOREVER, NULL), MT_ETASKFAILED);
  mt_task_error_t e;
  assert_code(mt_future_exception(other, 0, &e), 0);
  assert_code(e.code, MT_EINVAL);
  mt_future_free(other);
  assert_code(mt_timeout_scope_end(&t), 0);
  int r = 0;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, no_hub_scope, &r), 0);
  pthread_join(th, NULL);
  assert_code(r, MT_EPERM);
  free_objs(&o);
}

/* Many tasks, each in a scope, waiting on one queue with fewer items than
 * tasks: exactly the items are received, every other task expires. */
typedef struct {
  mt_queue_t *q;
  int got, expired, other;
} race_t;

static int scoped_get(void *arg, mt_value_t *out) {
  (void)out;
  race_t *c = arg;
  mt_timeout_t t;
  void *item;
  mt_timeout_scope_begin(&t, 0.05);
  int r = mt_queue_get(c->q, &item, MT_FOREVER);
  int e = mt_timeout_scope_end(&t);
  if (r == 0 && e == 0) c->got++;
  else if (r == MT_ECANCELLED && e == MT_ETIMEDOUT) c->expired++;
  else c->other++;
  return 0;
}

static void many_scopes(void **state) {
  (void)state;
  long n = mt_test_scaled(2000, 10);
  race_t c = {mt_queue_new(0), 0, 0, 0};
  mt_taskgroup_t *g = mt_taskgroup_new();
  for (long i = 0; i < n; i++) mt_taskgroup_spawn(g, scoped_get, &c, NULL);
  assert_code(mt_coro_sleep(0), 0); /* all park */
  for (long i = 0; i < n / 2; i++) assert_code(mt_queue_put(c.q, (void *)1, 0), 0);
  assert_code(mt_taskgroup_wait(g, MT_FOREVER), 0);
  assert_int_equal(c.got, n / 2);
  assert_int_equal(c.expired, n - n / 2);
  assert_int_equal(c.other, 0);
  assert_int_equal(mt__hub_timer_count(), 0);
  mt_taskgroup_free(g);
  mt_queue_free(c.q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(all_succeed, setup, teardown),
      cmocka_unit_test_setup_teardown(failure_cancels_siblings, setup, teardown),
      cmocka_unit_test_setup_teardown(failure_before_siblings_start, setup, teardown),
      cmocka_unit_test_setup_teardown(cancel_parent_cancels_children, setup, teardown),
      cmocka_unit_test_setup_teardown(wait_timeout_keeps_group_open, setup, teardown),
      cmocka_unit_test_setup_teardown(cancel_group, setup, teardown),
      cmocka_unit_test_setup_teardown(children_spawn_siblings, setup, teardown),
      cmocka_unit_test_setup_teardown(free_semantics, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
      cmocka_unit_test_setup_teardown(many_groups, setup, teardown),
      cmocka_unit_test(no_hub),
      cmocka_unit_test_setup_teardown(scope_cuts_each_blocking_call, setup, teardown),
      cmocka_unit_test_setup_teardown(scope_not_expired, setup, teardown),
      cmocka_unit_test_setup_teardown(scope_nesting, setup, teardown),
      cmocka_unit_test_setup_teardown(scope_zero, setup, teardown),
      cmocka_unit_test_setup_teardown(scope_and_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(scope_api, setup, teardown),
      cmocka_unit_test_setup_teardown(many_scopes, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
