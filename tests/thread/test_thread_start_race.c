/* A thread is listed by mt_thread_start before pthread_create returns its
 * id (issue 10, item 7).  Another thread that finds it through
 * mt_thread_enumerate in that window and joins it (or asks its ident) must
 * wait for the id, never pthread_join an unset one.
 *
 * The window is held open deterministically: the test hook of thread.c
 * (mt__thread_start_hook) runs inside mt_thread_start after the listing
 * and before pthread_create, and returns only once the other thread is
 * asleep in the call under test (its state in /proc is 'S') or has
 * returned from it.
 *
 * The library's calls to pthread_join and pthread_detach are wrapped
 * (-Wl,--wrap, see CMakeLists.txt) and counted: glibc answers
 * pthread_join(0) with ESRCH instead of crashing, which would leave the
 * real thread never joined nor detached (a leaked thread).
 *
 * Review finding 2: pthread_create fails (a stack of 2^46 bytes cannot be
 * mapped) while the prober, which found the thread through enumerate, is
 * parked in mt_thread_join.  Start used to put the state back to NEW
 * without a wake, and the join loop only ended on DONE: an untimed join
 * hung, a timed one returned MT_ETIMEDOUT; mt_thread_spawn also freed the
 * record under the parked joiner.  Now the joiner is woken and gets
 * MT_ENOTSTARTED, and a join holds a reference on the record. */
#include "mt_test.h"
#include "tflag.h"
#include "platform/platform.h"
#include "thread/thread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { M_JOIN, M_JOIN_TIMED, M_IDENT, M_NATIVE_ID };

static struct {
  int mode;
  tflag_t listed;       /* set by the hook: the target is enumerated */
  uint32_t phase;       /* 1: about to call; 2: returned */
  int32_t tid;          /* the prober's kernel id */
  int found;            /* the prober found the target by name */
  int rc;               /* join's return */
  void *result;
  uint64_t ident;
  int32_t native_id;
} g;

/* ---- counted pthread_join / pthread_detach ---------------------------- */
int __real_pthread_join(pthread_t t, void **res);
int __real_pthread_detach(pthread_t t);
static struct {
  int zero_calls;       /* calls with an unset (0) id */
  pthread_t target;     /* the target's real id (set after start) */
  int target_calls;     /* joins + detaches of it */
} w;
static pthread_mutex_t w_lock = PTHREAD_MUTEX_INITIALIZER;

static void count(pthread_t t) {
  pthread_mutex_lock(&w_lock);
  if (t == (pthread_t)0) w.zero_calls++;
  else w.target_calls++; /* only the target is reaped by the library here */
  pthread_mutex_unlock(&w_lock);
}
int __wrap_pthread_join(pthread_t t, void **res) {
  count(t);
  return __real_pthread_join(t, res);
}
int __wrap_pthread_detach(pthread_t t) {
  count(t);
  return __real_pthread_detach(t);
}

static void *target(void *arg) { return arg; }

static void hold_window(mt_thread_t *t) {
  (void)t;
  flag_set(&g.listed);
  int64_t give_up = mt__now_ns() + 20 * (int64_t)1000000000;
  for (;;) {
    uint32_t ph = __atomic_load_n(&g.phase, __ATOMIC_ACQUIRE);
    if (ph == 2) return;
    if (ph == 1 && mt_test_task_state(g.tid) == 'S') return;
    if (mt__now_ns() > give_up) return; /* the prober is stuck elsewhere */
    sched_yield();
  }
}

static void *prober(void *unused) {
  (void)unused;
  g.tid = mt__gettid();
  flag_wait(&g.listed, MT_FOREVER);
  mt_thread_t *all[64], *t = NULL;
  int n = mt_thread_enumerate(all, 64);
  for (int i = 0; i < n && i < 64; i++) {
    if (!t && strcmp(mt_thread_name(all[i]), "race-target") == 0) t = all[i];
    else mt_thread_free(all[i]);
  }
  g.found = t != NULL;
  if (!t) {
    __atomic_store_n(&g.phase, 2, __ATOMIC_RELEASE);
    return NULL;
  }
  __atomic_store_n(&g.phase, 1, __ATOMIC_RELEASE);
  switch (g.mode) {
  case M_JOIN: g.rc = mt_thread_join(t, MT_FOREVER, &g.result); break;
  case M_JOIN_TIMED: g.rc = mt_thread_join(t, 30, &g.result); break;
  case M_IDENT: g.ident = mt_thread_ident(t); break;
  case M_NATIVE_ID: g.native_id = mt_thread_native_id(t); break;
  }
  mt_thread_free(t); /* enumerate's reference */
  __atomic_store_n(&g.phase, 2, __ATOMIC_RELEASE);
  return NULL;
}

static void run_mode(int mode) {
  memset(&g, 0, sizeof g);
  memset(&w, 0, sizeof w);
  g.mode = mode;
  pthread_t pr;
  assert_int_equal(pthread_create(&pr, NULL, prober, NULL), 0);
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.name = "race-target";
  mt_thread_t *t = mt_thread_new(target, (void *)77, &o);
  assert_non_null(t);
  mt__thread_start_hook = hold_window;
  int r = mt_thread_start(t);
  mt__thread_start_hook = NULL;
  assert_code(r, 0);
  assert_int_equal(__real_pthread_join(pr, NULL), 0); /* not counted */
  assert_true(g.found);
  void *res = NULL;
  assert_code(mt_thread_join(t, MT_FOREVER, &res), 0);
  assert_ptr_equal(res, (void *)77);
  switch (mode) {
  case M_JOIN:
  case M_JOIN_TIMED:
    assert_code(g.rc, 0);
    assert_ptr_equal(g.result, (void *)77);
    break;
  case M_IDENT: assert_true(g.ident != 0 && g.ident == mt_thread_ident(t)); break;
  case M_NATIVE_ID: assert_true(g.native_id > 0 && g.native_id == mt_thread_native_id(t)); break;
  }
  mt_thread_free(t);
  /* the library reaped the target's pthread exactly once, by its id */
  assert_int_equal(w.zero_calls, 0);
  assert_int_equal(w.target_calls, 1);
}

/* start fails while the prober is parked in join (untimed or timed). */
static void run_fail(int mode, bool spawn) {
  memset(&g, 0, sizeof g);
  memset(&w, 0, sizeof w);
  g.mode = mode;
  pthread_t pr;
  assert_int_equal(pthread_create(&pr, NULL, prober, NULL), 0);
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.name = "race-target";
  o.stack_size = (size_t)1 << 46;
  mt__thread_start_hook = hold_window;
  int r;
  mt_thread_t *t = NULL;
  if (spawn) {
    assert_null(mt_thread_spawn(target, (void *)77, &o));
    r = -errno;
  } else {
    t = mt_thread_new(target, (void *)77, &o);
    assert_non_null(t);
    r = mt_thread_start(t);
  }
  mt__thread_start_hook = NULL;
  assert_true(r < 0);
  /* the prober must come back (bounded: a hang is the failure) */
  int64_t give_up = mt__now_ns() + 10 * (int64_t)1000000000;
  while (__atomic_load_n(&g.phase, __ATOMIC_ACQUIRE) != 2 && mt__now_ns() < give_up)
    sched_yield();
  uint32_t ph = __atomic_load_n(&g.phase, __ATOMIC_ACQUIRE);
  if (ph != 2) fprintf(stderr, "prober still inside mt_thread_join after 10 s\n");
  assert_int_equal(ph, 2);
  assert_int_equal(__real_pthread_join(pr, NULL), 0);
  assert_true(g.found);
  assert_code(g.rc, MT_ENOTSTARTED);
  if (t) {
    assert_int_equal(mt_thread_is_alive(t), 0);
    assert_code(mt_thread_join(t, 0, NULL), MT_ENOTSTARTED);
    mt_thread_free(t);
  }
  assert_int_equal(w.zero_calls, 0);
  assert_int_equal(w.target_calls, 0);
}

static void join_when_start_fails(void **state) {
  (void)state;
  run_fail(M_JOIN, false);
}
static void timed_join_when_start_fails(void **state) {
  (void)state;
  run_fail(M_JOIN_TIMED, false);
}
static void join_when_spawn_fails(void **state) {
  (void)state;
  run_fail(M_JOIN, true);
}

static void join_in_window(void **state) {
  (void)state;
  run_mode(M_JOIN);
}
static void timed_join_in_window(void **state) {
  (void)state;
  run_mode(M_JOIN_TIMED);
}
static void ident_in_window(void **state) {
  (void)state;
  run_mode(M_IDENT);
}
static void native_id_in_window(void **state) {
  (void)state;
  run_mode(M_NATIVE_ID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(join_in_window),
      cmocka_unit_test(timed_join_in_window),
      cmocka_unit_test(ident_in_window),
      cmocka_unit_test(native_id_in_window),
      cmocka_unit_test(join_when_start_fails),
      cmocka_unit_test(timed_join_when_start_fails),
      cmocka_unit_test(join_when_spawn_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
