/* Compact tasks (issue 15): coroutines on one shared stack per hub thread,
 * whose used stack bytes are copied out while they are switched out.
 * Exact, no sleep-based synchronisation.
 *
 * - many_parked: 10^5 compact tasks (MT_TEST_SCALE; `make stress`: 10^6;
 *   200 under TSan) parked inside mt_queue_get on an empty queue, then
 *   released one item each: every task returns its item, totals exact;
 *   the resident memory per parked task is printed (and loosely bounded);
 * - every_call: compact tasks parked in each blocking call whose park
 *   could reach into the caller's stack (waiter list, word park, event
 *   count, descriptors, timers, futures' wait with arrays on the stack,
 *   joinall/gather, to_thread) while other compact tasks run on the same
 *   shared stack and scribble over it; results and a canary on each
 *   parked task's stack exact;
 * - rules: a compact task cannot switch straight to another compact
 *   greenlet (MT_EPERM), stack_size beyond the shared stack is EINVAL, an
 *   options struct from an older header (shorter size) means default mode;
 * - mixed: compact and default tasks ping-pong through queues;
 * - cancel and kill of parked compact tasks (the next waiter gets the
 *   object); compact tasks spawned onto the hub from another thread, fed
 *   and awaited from there;
 * - review fixes: a generator blocking inside a task (default and
 *   compact) waits with the thread; a plain greenlet ending while its
 *   compact parent is copied out; spawn/hub_spawn/to_thread refuse a
 *   compact task's local (MT_EINVAL).
 *
 * `test_coro_compact --measure N compact|default [sleep|queue]` prints the
 * cost figures docs/coroutines.md quotes (not run by ctest). */
#include "mt_test.h"
#include "coro_test.h"
#include "coro/coro.h" /* mt__greenlet_new_compact: compact greenlets without the hub */

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN 1
#endif
#endif

/* hub, setup, teardown: coro_test.h */

static mt_coro_opts_t compact_opts(void) {
  mt_coro_opts_t o = MT_CORO_OPTS_INIT;
  o.compact = 1;
  return o;
}

static mt_future_t *spawn_compact(mt_task_fn fn, void *arg) {
  mt_coro_opts_t o = compact_opts();
  mt_future_t *f = mt_coro_spawn(fn, arg, &o);
  assert_non_null(f);
  return f;
}

/* A canary on the caller's stack: a task's frames must come back intact
 * after other tasks ran on the same addresses. */
#define CANARY_WORDS 32
static void canary_fill(uint64_t *c, uint64_t seed) {
  for (int i = 0; i < CANARY_WORDS; i++) c[i] = seed * 0x9E3779B97F4A7C15ull + (uint64_t)i;
}
static int canary_ok(const volatile uint64_t *c, uint64_t seed) {
  for (int i = 0; i < CANARY_WORDS; i++)
    if (c[i] != seed * 0x9E3779B97F4A7C15ull + (uint64_t)i) return 0;
  return 1;
}

/* Scribbles over the shared stack below the caller: deep frames of junk. */
static __attribute__((noinline)) int scribble(int depth, uint64_t v) {
  volatile uint64_t junk[64];
  for (int i = 0; i < 64; i++) junk[i] = v ^ (uint64_t)i;
  return depth > 0 ? scribble(depth - 1, v + 1) + (int)(junk[3] & 1) : (int)(junk[5] & 1);
}

/* ---- 10^5 compact tasks parked in mt_queue_get ------------------------------ */

static mt_queue_t *many_q;

static int getter(void *arg, mt_value_t *out) {
  uint64_t c[CANARY_WORDS];
  canary_fill(c, (uint64_t)(intptr_t)arg);
  void *item = NULL;
  int r = mt_queue_get(many_q, &item, MT_FOREVER);
  if (r < 0) return r;
  if (!canary_ok(c, (uint64_t)(intptr_t)arg)) return MT_EINVAL;
  out->ptr = item;
  return 0;
}

static long many_n(void) {
  long n = mt_test_scaled(100000, 100);
#ifdef TSAN
  if (n > 200) n = 200; /* TSan's fibers (GCC: ~0.8 MB, ~20 ms each here): <= 1,000 live */
#endif
  return n;
}

static void many_parked(void **state) {
  (void)state;
  long n = many_n();
  mt_future_t **f = calloc((size_t)n, sizeof *f);
  assert_non_null(f);
  assert_non_null(many_q = mt_queue_new(0));
  long before = mt_test_rss_kib();
  for (long i = 0; i < n; i++) f[i] = spawn_compact(getter, (void *)(intptr_t)(i + 1));
  assert_code(mt_coro_sleep(0), 0); /* every task runs once and parks in its get */
  long parked = mt_test_rss_kib();
  for (long i = 0; i < n; i++) assert_int_equal(mt_future_is_done(f[i]), 0);
  assert_int_equal(mt_queue_qsize(many_q), 0);
  /* FIFO wake order: task i gets item i + 1 */
  for (long i = 0; i < n; i++) assert_code(mt_queue_put(many_q, (void *)(intptr_t)(i + 1), 0), 0);
  assert_int_equal(mt_coro_joinall(f, (int)n, 120.0), (int)n);
  long sum = 0;
  for (long i = 0; i < n; i++) {
    mt_value_t v = {0};
    assert_code(mt_future_result(f[i], 0, &v), 0);
    assert_int_equal((intptr_t)v.ptr, i + 1);
    sum += (intptr_t)v.ptr;
    mt_future_free(f[i]);
  }
  assert_int_equal(sum, n * (n + 1) / 2);
  free(f);
  mt_queue_free(many_q);
  double per = (double)(parked - before) * 1024.0 / (double)n;
  print_message("  %ld compact tasks parked in mt_queue_get: RSS +%ld KiB = %.0f bytes per parked task\n",
                n, parked - before, per);
#if !defined(TSAN) && !defined(__SANITIZE_ADDRESS__)
  /* Loose (the goal is 2 KiB; a default task costs ~4.7 KiB): only where
   * n is large enough for the figure to mean something. */
  if (n >= 10000) assert_true(per < 3072);
#endif
}

/* ---- compact tasks parked in each call while others use the shared stack ---- */

enum {
  C_QUEUE_GET, C_QUEUE_PUT, C_LOCK, C_SEM, C_EVENT, C_COND, C_BARRIER, C_FUTURE, C_FWAIT,
  C_ASCOMPLETED, C_JOINALL, C_GATHER, C_SLEEP, C_PIPE, C_TO_THREAD, C_THREAD_JOIN, C_NCALLS
};
static const char *call_name[C_NCALLS] = {
    "queue_get", "queue_put", "lock",   "sem",   "event", "cond",  "barrier",   "future",
    "future_wait", "as_completed", "joinall", "gather", "sleep", "pipe", "to_thread", "thread_join"};

#define VICTIMS 4
typedef struct {
  int call;
  mt_queue_t *q, *full;
  mt_lock_t *lock, *cond_lock;
  mt_sem_t *sem;
  mt_event_t *ev;
  mt_cond_t *cond;
  mt_barrier_t *barrier;
  mt_future_t *fut[2];  /* plain futures the releaser completes */
  mt_future_t *gate[2]; /* tasks the victims join: they end when released */
  mt_conn_t *rd[VICTIMS], *wr[VICTIMS];
  mt_event_t *thread_go;
  mt_thread_t *thread;
  int cond_flag;
  atomic_int parked;    /* victims about to park */
  int released;
} world_t;

static world_t W;

static int gate_fn(void *arg, mt_value_t *out) {
  (void)arg;
  int r = mt_event_wait(W.ev, MT_FOREVER);
  out->ptr = (void *)(intptr_t)77;
  return r;
}

static void *thread_fn(void *arg) {
  (void)arg;
  return (void *)(intptr_t)mt_event_wait(W.thread_go, MT_FOREVER);
}

static int to_thread_fn(void *arg, mt_value_t *out) {
  (void)arg;
  int r = mt_event_wait(W.thread_go, MT_FOREVER);
  out->ptr = (void *)(intptr_t)55;
  return r;
}

/* One victim: parks in W.call; returns the value it got (checked exactly
 * by the test), its canary checked after the park. */
static int victim(void *arg, mt_value_t *out) {
  int id = (int)(intptr_t)arg;
  uint64_t c[CANARY_WORDS];
  canary_fill(c, 1000 + (uint64_t)id);
  intptr_t got = -1;
  int r = 0;
  atomic_fetch_add(&W.parked, 1);
  switch (W.call) {
  case C_QUEUE_GET: {
    void *x = NULL;
    r = mt_queue_get(W.q, &x, MT_FOREVER);
    got = (intptr_t)x;
    break;
  }
  case C_QUEUE_PUT:
    r = mt_queue_put(W.full, (void *)(intptr_t)(100 + id), MT_FOREVER);
    got = 1;
    break;
  case C_LOCK:
    r = mt_lock_acquire(W.lock, MT_FOREVER);
    if (r == 0) mt_lock_release(W.lock);
    got = 1;
    break;
  case C_SEM:
    r = mt_sem_acquire(W.sem, MT_FOREVER);
    got = 1;
    break;
  case C_EVENT:
    r = mt_event_wait(W.ev, MT_FOREVER);
    got = 1;
    break;
  case C_COND:
    r = mt_lock_acquire(W.cond_lock, MT_FOREVER);
    while (r == 0 && !W.cond_flag) r = mt_cond_wait(W.cond, MT_FOREVER) < 0 ? -1 : 0;
    got = W.cond_flag;
    mt_lock_release(W.cond_lock);
    break;
  case C_BARRIER:
    r = mt_barrier_wait(W.barrier, MT_FOREVER);
    got = r >= 0 ? 1 : -1;
    r = r < 0 ? r : 0;
    break;
  case C_FUTURE: {
    mt_value_t v = {0};
    r = mt_future_result(W.fut[id % 2], MT_FOREVER, &v);
    got = (intptr_t)v.ptr;
    break;
  }
  case C_FWAIT: { /* arrays on this stack: input, done, not_done */
    mt_future_t *in[2] = {W.fut[0], W.fut[1]}, *done[2] = {0}, *nd[2] = {0};
    int nn = -1;
    r = mt_future_wait(in, 2, MT_FOREVER, MT_ALL_COMPLETED, done, nd, &nn);
    got = r == 2 && nn == 0 && done[0] && done[1] ? 1 : -1;
    r = r < 0 ? r : 0;
    break;
  }
  case C_ASCOMPLETED: {
    mt_future_t *in[2] = {W.fut[0], W.fut[1]};
    mt_as_completed_t *it = mt_as_completed_new(in, 2, MT_FOREVER);
    if (!it) return MT_ENOMEM;
    mt_future_t *x;
    int k = 0;
    while ((r = mt_as_completed_next(it, &x)) == 1) k++;
    mt_as_completed_free(it);
    got = k == 2 ? 1 : -1;
    break;
  }
  case C_JOINALL: {
    mt_future_t *in[2] = {W.gate[0], W.gate[1]};
    r = mt_coro_joinall(in, 2, MT_FOREVER);
    got = r == 2 ? 1 : -1;
    r = r < 0 ? r : 0;
    break;
  }
  case C_GATHER: {
    mt_future_t *in[2] = {W.gate[0], W.gate[1]};
    mt_value_t vs[2] = {{0}};
    r = mt_coro_gather(in, 2, MT_FOREVER, vs);
    got = (intptr_t)vs[0].ptr + (intptr_t)vs[1].ptr;
    break;
  }
  case C_SLEEP:
    r = mt_coro_sleep(0.001 * (id + 1));
    got = 1;
    break;
  case C_PIPE: { /* the pollfd array is on this stack */
    int64_t v = 0;
    r = mt_conn_recv_i64(W.rd[id], &v, MT_FOREVER);
    got = (intptr_t)v;
    break;
  }
  case C_TO_THREAD: {
    mt_value_t v = {0};
    r = mt_coro_to_thread(to_thread_fn, NULL, MT_FOREVER, &v);
    got = (intptr_t)v.ptr;
    break;
  }
  case C_THREAD_JOIN:
    r = mt_thread_join(W.thread, MT_FOREVER, NULL);
    got = 1;
    break;
  }
  if (r < 0) return r;
  if (!canary_ok(c, 1000 + (uint64_t)id)) return MT_EINVAL;
  out->ptr = (void *)got;
  return 0;
}

static void release(int call) {
  switch (call) {
  case C_QUEUE_GET:
    for (int i = 0; i < VICTIMS; i++) mt_queue_put(W.q, (void *)(intptr_t)(10 + i), 0);
    break;
  case C_QUEUE_PUT:
    for (int i = 0; i < VICTIMS + 1; i++) {
      void *x;
      assert_code(mt_queue_get(W.full, &x, MT_FOREVER), 0);
    }
    break;
  case C_LOCK:
    mt_lock_release(W.lock);
    break;
  case C_SEM:
    assert_code(mt_sem_release(W.sem, VICTIMS), 0);
    break;
  case C_EVENT:
  case C_JOINALL:
  case C_GATHER:
    mt_event_set(W.ev);
    break;
  case C_COND:
    assert_code(mt_lock_acquire(W.cond_lock, MT_FOREVER), 0);
    W.cond_flag = 1;
    mt_cond_notify_all(W.cond);
    mt_lock_release(W.cond_lock);
    break;
  case C_BARRIER:
    assert_true(mt_barrier_wait(W.barrier, MT_FOREVER) >= 0);
    break;
  case C_FUTURE:
  case C_FWAIT:
  case C_ASCOMPLETED:
    assert_code(mt_future_set_result(W.fut[0], (mt_value_t){(void *)(intptr_t)31, 0, NULL}), 0);
    assert_code(mt_future_set_result(W.fut[1], (mt_value_t){(void *)(intptr_t)32, 0, NULL}), 0);
    break;
  case C_SLEEP:
    break; /* they wake by themselves, while the releaser scribbles */
  case C_PIPE:
    for (int i = 0; i < VICTIMS; i++) assert_code(mt_conn_send_i64(W.wr[i], 40 + i, 1.0), 0);
    break;
  case C_TO_THREAD:
  case C_THREAD_JOIN:
    mt_event_set(W.thread_go);
    break;
  }
}

/* The releaser: a compact task too.  It waits until every victim parked,
 * scribbles over the shared stack (its frames sit where the victims'
 * were), yields so the hub runs others, then releases them and scribbles
 * again while they resume. */
static int releaser(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  while (atomic_load(&W.parked) < VICTIMS) mt_coro_sleep(0);
  for (int i = 0; i < 3; i++) {
    scribble(40, 0xdeadbeef + (uint64_t)i);
    mt_coro_sleep(0);
  }
  release(W.call);
  scribble(40, 0xfeedface);
  W.released = 1;
  return 0;
}

static intptr_t expected(int call, int id) {
  switch (call) {
  case C_QUEUE_GET: return 10 + id; /* FIFO: victims parked in id order */
  case C_COND: return 1;
  case C_FUTURE: return 31 + id % 2;
  case C_GATHER: return 154;
  case C_PIPE: return 40 + id;
  case C_TO_THREAD: return 55;
  default: return 1;
  }
}

static void world_init(int call) {
  memset(&W, 0, sizeof W);
  W.call = call;
  assert_non_null(W.q = mt_queue_new(0));
  assert_non_null(W.full = mt_queue_new(1));
  assert_code(mt_queue_put(W.full, (void *)1, 0), 0);
  assert_non_null(W.lock = mt_lock_new(0));
  assert_code(mt_lock_acquire(W.lock, 0), 0); /* released by the releaser */
  assert_non_null(W.cond_lock = mt_lock_new(0));
  assert_non_null(W.cond = mt_cond_new(W.cond_lock, 0));
  assert_non_null(W.sem = mt_sem_new(0, 0));
  assert_non_null(W.ev = mt_event_new(0));
  assert_non_null(W.thread_go = mt_event_new(0));
  assert_non_null(W.barrier = mt_barrier_new(VICTIMS + 1, NULL, NULL, MT_FOREVER, 0));
  for (int i = 0; i < 2; i++) assert_non_null(W.fut[i] = mt_future_new());
  if (call == C_JOINALL || call == C_GATHER)
    for (int i = 0; i < 2; i++) W.gate[i] = spawn_compact(gate_fn, NULL);
  if (call == C_PIPE)
    for (int i = 0; i < VICTIMS; i++) assert_code(mt_pipe_new(false, &W.rd[i], &W.wr[i]), 0);
  if (call == C_THREAD_JOIN) {
    assert_non_null(W.thread = mt_thread_new(thread_fn, NULL, NULL));
    assert_code(mt_thread_start(W.thread), 0);
  }
}

static void world_free(void) {
  mt_queue_free(W.q);
  mt_queue_free(W.full);
  mt_cond_free(W.cond);
  mt_lock_free(W.cond_lock);
  mt_lock_free(W.lock);
  mt_sem_free(W.sem);
  mt_event_free(W.ev);
  mt_event_free(W.thread_go);
  mt_barrier_free(W.barrier);
  for (int i = 0; i < 2; i++) {
    mt_future_free(W.fut[i]);
    if (W.gate[i]) mt_future_free(W.gate[i]);
  }
  for (int i = 0; i < VICTIMS; i++) {
    mt_conn_free(W.rd[i]);
    mt_conn_free(W.wr[i]);
  }
  if (W.thread) mt_thread_free(W.thread);
}

static void every_call(void **state) {
  (void)state;
  int rounds = (int)mt_test_scaled(20, 2);
  for (int call = 0; call < C_NCALLS; call++) {
    for (int round = 0; round < rounds; round++) {
      world_init(call);
      mt_future_t *v[VICTIMS], *rel;
      for (int i = 0; i < VICTIMS; i++) v[i] = spawn_compact(victim, (void *)(intptr_t)i);
      rel = spawn_compact(releaser, NULL);
      assert_code(mt_coro_join(rel, 30.0), 0);
      for (int i = 0; i < VICTIMS; i++) {
        mt_value_t r = {0};
        int e = mt_future_result(v[i], 30.0, &r);
        if (e != 0 || (intptr_t)r.ptr != expected(call, i))
          fail_msg("%s: victim %d returned %s (%d) with %ld, expected %ld", call_name[call], i,
                   mt_err_name(e), e, (long)(intptr_t)r.ptr, (long)expected(call, i));
        mt_future_free(v[i]);
      }
      assert_true(W.released);
      mt_future_free(rel);
      if (W.thread) assert_code(mt_thread_join(W.thread, 10.0, NULL), 0);
      world_free();
    }
  }
}

/* ---- rules ------------------------------------------------------------------ */

static mt_greenlet_t *other_g;

static int grab_greenlet(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  other_g = mt_greenlet_current();
  return mt_event_wait(W.ev, MT_FOREVER) < 0 ? MT_EINVAL : 0;
}

static int switch_to_other(void *arg, mt_value_t *out) {
  (void)arg;
  out->ptr = (void *)(intptr_t)mt_greenlet_switch(other_g, NULL, NULL);
  return 0;
}

static void rules(void **state) {
  (void)state;
  memset(&W, 0, sizeof W);
  assert_non_null(W.ev = mt_event_new(0));
  mt_future_t *a = spawn_compact(grab_greenlet, NULL);
  assert_code(mt_coro_sleep(0), 0);
  assert_non_null(other_g);
  mt_future_t *b = spawn_compact(switch_to_other, NULL);
  mt_value_t v = {0};
  assert_code(mt_future_result(b, 10.0, &v), 0);
  assert_int_equal((intptr_t)v.ptr, MT_EPERM); /* both on the shared stack */
  mt_event_set(W.ev);
  assert_code(mt_future_result(a, 10.0, NULL), 0);
  mt_future_free(a);
  mt_future_free(b);
  mt_event_free(W.ev);

  /* stack_size beyond the shared stack */
  mt_coro_opts_t o = compact_opts();
  o.stack_size = 1024 * 1024;
  errno = 0;
  assert_null(mt_coro_spawn(switch_to_other, NULL, &o));
  assert_int_equal(errno, EINVAL);
}

/* An options struct from before `compact` existed: a default task. */
static int stack_probe(void *arg, mt_value_t *out) {
  (void)arg;
  out->ptr = __builtin_frame_address(0); /* compared only, never used */
  return 0;
}

static void old_opts_are_default(void **state) {
  (void)state;
  mt_coro_opts_t o = compact_opts();
  mt_coro_opts_t old = o;
  old.size = offsetof(mt_coro_opts_t, compact); /* built against the older header */
  mt_future_t *a = mt_coro_spawn(stack_probe, NULL, &o);
  mt_future_t *b = mt_coro_spawn(stack_probe, NULL, &o);
  mt_future_t *c = mt_coro_spawn(stack_probe, NULL, &old);
  mt_value_t va = {0}, vb = {0}, vc = {0};
  assert_code(mt_future_result(a, 10.0, &va), 0);
  assert_code(mt_future_result(b, 10.0, &vb), 0);
  assert_code(mt_future_result(c, 10.0, &vc), 0);
  /* two compact tasks run at the same depth of the same stack; a default
   * task has a stack of its own */
  assert_ptr_equal(va.ptr, vb.ptr);
  assert_true((char *)vc.ptr < (char *)va.ptr - 4096 || (char *)vc.ptr > (char *)va.ptr + 4096);
  mt_future_free(a);
  mt_future_free(b);
  mt_future_free(c);
}

/* ---- cancel, kill, and tasks spawned from another thread ------------------- */

static mt_queue_t *cq;
static mt_lock_t *cl;

static int cq_getter(void *arg, mt_value_t *out) {
  (void)arg;
  uint64_t c[CANARY_WORDS];
  canary_fill(c, 7);
  void *x = NULL;
  int r = mt_queue_get(cq, &x, MT_FOREVER);
  if (r < 0) return r;
  if (!canary_ok(c, 7)) return MT_EINVAL;
  out->ptr = x;
  return 0;
}

static int cl_locker(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  int r = mt_lock_acquire(cl, MT_FOREVER);
  if (r == 0) mt_lock_release(cl);
  return r;
}

static void cancel_and_kill(void **state) {
  (void)state;
  assert_non_null(cq = mt_queue_new(0));
  assert_non_null(cl = mt_lock_new(0));
  mt_future_t *a = spawn_compact(cq_getter, NULL), *b = spawn_compact(cq_getter, NULL);
  assert_code(mt_lock_acquire(cl, 0), 0);
  mt_future_t *c = spawn_compact(cl_locker, NULL);
  assert_code(mt_coro_sleep(0), 0); /* all three parked */
  assert_int_equal(mt_coro_cancel(a), 1);
  assert_code(mt_coro_kill(c, 10.0), 0);
  assert_code(mt_future_result(a, 10.0, NULL), MT_ECANCELLED);
  assert_code(mt_future_result(c, 10.0, NULL), MT_ECANCELLED);
  /* the objects are intact: the next waiter gets the item, the lock works */
  assert_code(mt_queue_put(cq, (void *)(intptr_t)7, 0), 0);
  mt_value_t v = {0};
  assert_code(mt_future_result(b, 10.0, &v), 0);
  assert_int_equal((intptr_t)v.ptr, 7);
  mt_future_t *d = spawn_compact(cl_locker, NULL);
  assert_code(mt_coro_sleep(0), 0);
  assert_int_equal(mt_future_is_done(d), 0);
  assert_code(mt_lock_release(cl), 0);
  assert_code(mt_future_result(d, 10.0, NULL), 0);
  mt_future_free(a);
  mt_future_free(b);
  mt_future_free(c);
  mt_future_free(d);
  mt_queue_free(cq);
  mt_lock_free(cl);
}

typedef struct {
  int n;
  long sum;
  int bad;
  mt_event_t *done;
} xt_t;

/* Another thread spawns compact tasks onto the main thread's hub, feeds
 * their queue and waits for their results: cross-thread spawn and wakes. */
static void *xt_thread(void *arg) {
  xt_t *x = arg;
  mt_coro_opts_t o = compact_opts();
  mt_future_t **f = calloc((size_t)x->n, sizeof *f);
  for (int i = 0; i < x->n; i++)
    if (!(f[i] = mt_hub_spawn(hub, cq_getter, NULL, &o))) x->bad++;
  for (int i = 0; i < x->n; i++) mt_queue_put(cq, (void *)(intptr_t)(i + 1), MT_FOREVER);
  for (int i = 0; i < x->n; i++) {
    mt_value_t v = {0};
    if (!f[i] || mt_future_result(f[i], 30.0, &v) != 0) x->bad++;
    x->sum += (intptr_t)v.ptr;
    mt_future_free(f[i]);
  }
  free(f);
  mt_event_set(x->done);
  return NULL;
}

static void spawned_from_another_thread(void **state) {
  (void)state;
  assert_non_null(cq = mt_queue_new(0));
  xt_t x = {(int)mt_test_scaled(2000, 50), 0, 0, mt_event_new(0)};
  assert_non_null(x.done);
  mt_thread_t *t = mt_thread_new(xt_thread, &x, NULL);
  assert_non_null(t);
  assert_code(mt_thread_start(t), 0);
  assert_code(mt_event_wait(x.done, 60.0), 0); /* parks the root: the hub runs the tasks */
  assert_code(mt_thread_join(t, 10.0, NULL), 0);
  mt_thread_free(t);
  assert_int_equal(x.bad, 0);
  assert_int_equal(x.sum, (long)x.n * (x.n + 1) / 2);
  mt_event_free(x.done);
  mt_queue_free(cq);
}

/* ---- compact and default tasks through queues ------------------------------- */

/* pp_t, pinger, ponger: coro_test.h */

static void mixed_ping_pong(void **state) {
  (void)state;
  enum { PAIRS = 8 };
  long n = mt_test_scaled(2000, 50);
  pp_t a[PAIRS], b[PAIRS];
  mt_future_t *f[2 * PAIRS];
  mt_coro_opts_t co = compact_opts();
  for (int k = 0; k < PAIRS; k++) {
    mt_queue_t *q1 = mt_queue_new(1), *q2 = mt_queue_new(1);
    assert_non_null(q1);
    assert_non_null(q2);
    a[k] = (pp_t){q2, q1, n, 0};
    b[k] = (pp_t){q1, q2, n, 0};
    /* pairs 0-3: both compact; 4-7: compact pinger, default ponger */
    f[2 * k] = mt_coro_spawn(pinger, &a[k], &co);
    f[2 * k + 1] = mt_coro_spawn(ponger, &b[k], k < PAIRS / 2 ? &co : NULL);
    assert_non_null(f[2 * k]);
    assert_non_null(f[2 * k + 1]);
  }
  assert_int_equal(mt_coro_joinall(f, 2 * PAIRS, 60.0), 2 * PAIRS);
  for (int k = 0; k < PAIRS; k++) {
    assert_code(mt_future_result(f[2 * k], 0, NULL), 0);
    assert_code(mt_future_result(f[2 * k + 1], 0, NULL), 0);
    assert_int_equal(a[k].sum, n * (n + 1) / 2);
    assert_int_equal(b[k].sum, n * (n + 1) / 2);
    mt_queue_free(a[k].in);
    mt_queue_free(a[k].out);
    mt_future_free(f[2 * k]);
    mt_future_free(f[2 * k + 1]);
  }
}

/* ---- the figures docs/coroutines.md quotes ---------------------------------- */

static int sleeper(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  return mt_coro_sleep(3600);
}

static int tiny(void *arg, mt_value_t *out) {
  (void)arg;
  out->ptr = (void *)1;
  return 0;
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int measure(long n, int compact, int use_sleep) {
  hub = mt_hub_new();
  mt_coro_opts_t o = MT_CORO_OPTS_INIT;
  o.compact = compact;
  mt_future_t **f = calloc((size_t)n, sizeof *f);
  many_q = mt_queue_new(0);
  long before = mt_test_rss_kib();
  double w0 = wall_s(), c0 = cpu_s();
  for (long i = 0; i < n; i++)
    if (!(f[i] = mt_coro_spawn(use_sleep ? sleeper : getter, (void *)(intptr_t)(i + 1), &o)))
      return 1;
  mt_coro_sleep(0);
  long parked = mt_test_rss_kib();
  double w1 = wall_s(), c1 = cpu_s();
  printf("%s, %ld tasks parked in %s: RSS +%ld KiB = %.0f bytes per parked task "
         "(spawn + first run: %.2f s wall, %.2f s CPU)\n",
         compact ? "compact" : "default", n, use_sleep ? "mt_coro_sleep" : "mt_queue_get",
         parked - before, (double)(parked - before) * 1024.0 / (double)n, w1 - w0, c1 - c0);
  if (use_sleep)
    for (long i = 0; i < n; i++) mt_coro_cancel(f[i]);
  else
    for (long i = 0; i < n; i++) mt_queue_put(many_q, (void *)(intptr_t)(i + 1), 0);
  if (mt_coro_joinall(f, (int)n, MT_FOREVER) != n) return 1;
  for (long i = 0; i < n; i++) mt_future_free(f[i]);
  double w2 = wall_s(), c2 = cpu_s();
  printf("  release + join: %.2f s wall, %.2f s CPU\n", w2 - w1, c2 - c1);
  /* spawn + run + join of tiny tasks, at most 10,000 alive */
  long m = n < 100000 ? n : 100000, batch = 10000;
  w0 = wall_s(), c0 = cpu_s();
  for (long done = 0; done < m; done += batch) {
    long k = m - done < batch ? m - done : batch;
    for (long i = 0; i < k; i++) f[i] = mt_coro_spawn(tiny, NULL, &o);
    if (mt_coro_joinall(f, (int)k, MT_FOREVER) != k) return 1;
    for (long i = 0; i < k; i++) mt_future_free(f[i]);
  }
  w1 = wall_s(), c1 = cpu_s();
  printf("  spawn+run+join of %ld tiny tasks (batches of %ld): %.0f ns wall, %.0f ns CPU per task\n",
         m, batch, (w1 - w0) * 1e9 / (double)m, (c1 - c0) * 1e9 / (double)m);
  /* queue ping-pong between two tasks: every switch into a compact task
   * copies the other one out and this one back */
  long rounds = 1000000;
  mt_queue_t *q1 = mt_queue_new(1), *q2 = mt_queue_new(1);
  pp_t a = {q2, q1, rounds, 0}, b = {q1, q2, rounds, 0};
  w0 = wall_s(), c0 = cpu_s();
  f[0] = mt_coro_spawn(pinger, &a, &o);
  f[1] = mt_coro_spawn(ponger, &b, &o);
  if (mt_coro_joinall(f, 2, MT_FOREVER) != 2 || a.sum != rounds * (rounds + 1) / 2) return 1;
  w1 = wall_s(), c1 = cpu_s();
  printf("  queue ping-pong, %ld round trips: %.0f ns wall, %.0f ns CPU per round trip\n", rounds,
         (w1 - w0) * 1e9 / (double)rounds, (c1 - c0) * 1e9 / (double)rounds);
  mt_future_free(f[0]);
  mt_future_free(f[1]);
  mt_queue_free(q1);
  mt_queue_free(q2);
  free(f);
  mt_queue_free(many_q);
  mt_hub_free(hub);
  return 0;
}

/* A generator running inside a task that blocks (review finding 3): the hub
 * resumes a task at its own greenlet, so a park from another greenlet
 * (a generator's, a nested greenlet's) cannot go to the hub: the thread
 * waits instead.  Before: the hub resumed the task's main greenlet inside
 * mt_generator_next (the park's result came back as the value), and the
 * task's one waiter node stayed on q1 while it parked on q2. */
static mt_queue_t *gq1, *gq2;
static int gen_get_result;

static void *gen_blocks(mt_generator_t *self, void *arg) {
  (void)arg;
  void *x = NULL;
  gen_get_result = mt_queue_get(gq1, &x, 0.01);
  mt_generator_yield(self, (void *)7, NULL);
  return NULL;
}

static int gen_task(void *arg, mt_value_t *out) {
  (void)arg;
  mt_generator_t *g = mt_generator_new(gen_blocks, NULL, NULL);
  if (!g) return MT_ENOMEM;
  void *v = NULL;
  int r = mt_generator_next(g, &v);
  mt_generator_free(g);
  if (r != 0 || (intptr_t)v != 7) return r < 0 ? r : MT_EINVAL;
  void *x = NULL;
  r = mt_queue_get(gq2, &x, 30.0);
  out->ptr = x;
  return r;
}

static void generator_blocks_in_task(void **state) {
  (void)state;
  for (int compact = 0; compact <= 1; compact++) {
    mt_coro_opts_t o = MT_CORO_OPTS_INIT;
    o.compact = (unsigned)compact;
    assert_non_null(gq1 = mt_queue_new(0));
    assert_non_null(gq2 = mt_queue_new(0));
    gen_get_result = 1;
    mt_future_t *f = mt_coro_spawn(gen_task, NULL, &o);
    assert_non_null(f);
    while (gen_get_result == 1) assert_code(mt_coro_sleep(0), 0); /* the generator's get ended */
    assert_code(gen_get_result, MT_EEMPTY); /* the thread waited its 10 ms */
    assert_code(mt_queue_put(gq2, (void *)22, 0), 0);
    mt_value_t v = {0};
    assert_code(mt_future_result(f, 30.0, &v), 0);
    assert_int_equal((intptr_t)v.ptr, 22);
    mt_future_free(f); /* the task's fiber goes */
    assert_code(mt_queue_put(gq1, (void *)11, 0), 0); /* nobody left on q1 */
    void *x = NULL;
    assert_code(mt_queue_get(gq1, &x, 0), 0);
    assert_int_equal((intptr_t)x, 11);
    mt_queue_free(gq1);
    mt_queue_free(gq2);
  }
}

/* A plain greenlet whose parent is a compact greenlet ends while another
 * compact greenlet owns the shared stack (review finding 5): the parent's
 * bytes must come back before the switch to it.  No hub: the greenlets
 * switch by hand.  Before: finish() switched to A's saved stack pointer
 * over B's bytes (a crash). */
static mt_greenlet_t *fin_root, *fin_plain;

static void *fin_plain_fn(void *arg, void *v) {
  (void)arg;
  (void)v;
  return (void *)42;
}

static void *fin_a(void *arg, void *v) {
  (void)arg;
  (void)v;
  volatile uint64_t c[32];
  for (int i = 0; i < 32; i++) c[i] = 0x1111111111111111ull * (uint64_t)(i + 1);
  fin_plain = mt_greenlet_new(fin_plain_fn, NULL, NULL, NULL); /* parent: this one */
  void *got = NULL;
  if (!fin_plain || mt_greenlet_switch(fin_root, NULL, &got) != 0) return NULL;
  /* back here when fin_plain ended (its parent): got is its result */
  int ok = got == (void *)42;
  for (int i = 0; i < 32; i++) ok &= c[i] == 0x1111111111111111ull * (uint64_t)(i + 1);
  return (void *)(intptr_t)(ok ? 1 : 2);
}

static void *fin_b(void *arg, void *v) {
  (void)arg;
  (void)v;
  volatile uint64_t junk[256];
  for (int i = 0; i < 256; i++) junk[i] = 0x4242424242424242ull ^ (uint64_t)i;
  void *got = NULL;
  (void)mt_greenlet_switch(fin_root, NULL, &got);
  return (void *)(uintptr_t)(junk[7] & 0xff);
}

static void plain_child_of_compact_ends(void **state) {
  (void)state;
  fin_root = mt_greenlet_current();
  assert_non_null(fin_root);
  mt_greenlet_t *a = mt__greenlet_new_compact(fin_a, NULL, fin_root, NULL, "Greenlet");
  mt_greenlet_t *b = mt__greenlet_new_compact(fin_b, NULL, fin_root, NULL, "Greenlet");
  assert_non_null(a);
  assert_non_null(b);
  void *v = NULL;
  assert_code(mt_greenlet_switch(a, NULL, &v), 0); /* A makes fin_plain, back here */
  assert_code(mt_greenlet_switch(b, NULL, &v), 0); /* B copies A out, owns the stack */
  assert_code(mt_greenlet_switch(fin_plain, NULL, &v), 0); /* ends: to A, then A ends: here */
  assert_int_equal((intptr_t)v, 1); /* A saw 42 and its canary intact */
  assert_int_equal(mt_greenlet_is_dead(a), 1);
  assert_code(mt_greenlet_switch(b, NULL, &v), 0); /* B's bytes back, it ends */
  assert_int_equal((uintptr_t)v, (0x42 ^ 7));
  mt_greenlet_free(fin_plain);
  mt_greenlet_free(a);
  mt_greenlet_free(b);
}

/* A compact task hands the address of its local to a task or a thread
 * (review finding 4): refused at the call (MT_EINVAL), since the bytes
 * there belong to another compact task whenever this one is switched out. */
static int add_one(void *arg, mt_value_t *out) {
  out->ptr = (void *)(intptr_t)(*(int *)arg + 1);
  return 0;
}

static int lends_its_local(void *arg, mt_value_t *out) {
  (void)arg;
  int local = 41, bad = 0;
  mt_coro_opts_t o = MT_CORO_OPTS_INIT;
  errno = 0;
  if (mt_coro_spawn(add_one, &local, &o) != NULL || errno != EINVAL) bad |= 1;
  if (mt_hub_spawn(mt_hub_current(), add_one, &local, &o) != NULL) bad |= 2;
  mt_value_t v;
  if (mt_coro_to_thread(add_one, &local, 10.0, &v) != MT_EINVAL) bad |= 4;
  int *heap = malloc(sizeof *heap); /* the heap is fine */
  if (!heap) return MT_ENOMEM;
  *heap = 41;
  mt_future_t *f = mt_coro_spawn(add_one, heap, &o);
  if (!f || mt_future_result(f, 10.0, &v) != 0 || (intptr_t)v.ptr != 42) bad |= 8;
  mt_future_free(f);
  if (mt_coro_to_thread(add_one, heap, 10.0, &v) != 0 || (intptr_t)v.ptr != 42) bad |= 16;
  free(heap);
  out->ptr = (void *)(intptr_t)bad;
  return 0;
}

static void local_lent_by_a_compact_task(void **state) {
  (void)state;
  mt_coro_opts_t o = MT_CORO_OPTS_INIT;
  o.compact = 1;
  mt_future_t *f = mt_coro_spawn(lends_its_local, NULL, &o);
  assert_non_null(f);
  mt_value_t v = {0};
  assert_code(mt_future_result(f, 30.0, &v), 0);
  assert_int_equal((intptr_t)v.ptr, 0);
  mt_future_free(f);
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "--measure") == 0)
    return measure(atol(argv[2]), strcmp(argv[3], "compact") == 0,
                   argc >= 5 && strcmp(argv[4], "sleep") == 0);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(many_parked, setup, teardown),
      cmocka_unit_test_setup_teardown(every_call, setup, teardown),
      cmocka_unit_test_setup_teardown(rules, setup, teardown),
      cmocka_unit_test_setup_teardown(old_opts_are_default, setup, teardown),
      cmocka_unit_test_setup_teardown(mixed_ping_pong, setup, teardown),
      cmocka_unit_test_setup_teardown(cancel_and_kill, setup, teardown),
      cmocka_unit_test_setup_teardown(spawned_from_another_thread, setup, teardown),
      cmocka_unit_test_setup_teardown(generator_blocks_in_task, setup, teardown),
      cmocka_unit_test(plain_child_of_compact_ends),
      cmocka_unit_test_setup_teardown(local_lent_by_a_compact_task, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
