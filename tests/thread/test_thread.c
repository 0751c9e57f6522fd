/* Threads: every function and error path, join timeouts, many joiners,
 * enumerate/active_count exactness, dummy threads, kernel names. */
#include "mt_test.h"
#include "tflag.h"
#include "platform/platform.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static double now_s(void) { return (double)mt__now_ns() / 1e9; }

static void *ret_arg(void *arg) { return arg; }

static void *wait_flag(void *arg) {
  flag_wait(arg, MT_FOREVER);
  return (void *)42;
}

typedef struct {
  mt_thread_t *self_seen;
  int32_t native_id;
  int32_t kernel_tid; /* from the kernel: the library takes it from elsewhere */
  uint64_t ident;
  int join_self;
} probe_t;

static void *probe(void *arg) {
  probe_t *p = arg;
  p->self_seen = mt_thread_current();
  p->native_id = mt_thread_get_native_id();
  p->kernel_tid = (int32_t)syscall(SYS_gettid);
  p->ident = mt_thread_get_ident();
  p->join_self = mt_thread_join(p->self_seen, MT_FOREVER, NULL);
  return NULL;
}

static void basics(void **state) {
  (void)state;
  probe_t p = {0};
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.name = "worker";
  mt_thread_t *t = mt_thread_new(probe, &p, &o);
  assert_non_null(t);
  assert_string_equal(mt_thread_name(t), "worker");
  assert_int_equal(mt_thread_is_alive(t), 0);
  assert_int_equal(mt_thread_ident(t), 0);
  assert_int_equal(mt_thread_native_id(t), 0);
  assert_code(mt_thread_start(t), 0);
  assert_true(mt_thread_ident(t) != 0);
  assert_code(mt_thread_join(t, MT_FOREVER, NULL), 0);
  assert_ptr_equal(p.self_seen, t);
  assert_int_equal(mt_thread_native_id(t), p.native_id);
  assert_int_equal(p.native_id, p.kernel_tid);
  assert_true(mt_thread_ident(t) == p.ident);
  assert_code(p.join_self, MT_EDEADLK);
  assert_int_equal(mt_thread_is_alive(t), 0);
  assert_code(mt_thread_join(t, 0, NULL), 0); /* joining again is fine */
  mt_thread_free(t);

  void *res = NULL;
  t = mt_thread_spawn(ret_arg, (void *)7, NULL);
  assert_non_null(t);
  assert_code(mt_thread_join(t, 5.0, &res), 0);
  assert_ptr_equal(res, (void *)7);
  assert_true(strncmp(mt_thread_name(t), "Thread-", 7) == 0);
  mt_thread_free(t);
}

static void errors(void **state) {
  (void)state;
  assert_null(mt_thread_new(NULL, NULL, NULL));
  assert_int_equal(errno, EINVAL);
  char longname[100];
  memset(longname, 'x', sizeof longname - 1);
  longname[99] = 0;
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.name = longname;
  assert_null(mt_thread_new(ret_arg, NULL, &o));
  assert_int_equal(errno, ENAMETOOLONG);
  mt_thread_opts_t small = MT_THREAD_OPTS_INIT;
  small.stack_size = 100;
  assert_null(mt_thread_new(ret_arg, NULL, &small));
  assert_int_equal(errno, EINVAL);
  mt_thread_opts_t unsized = {.name = "x"}; /* written without MT_THREAD_OPTS_INIT */
  errno = 0;
  assert_null(mt_thread_new(ret_arg, NULL, &unsized));
  assert_int_equal(errno, EINVAL);
  mt_thread_pool_opts_t unsized_pool = {.max_workers = 1};
  errno = 0;
  assert_null(mt_executor_new_thread_pool(&unsized_pool));
  assert_int_equal(errno, EINVAL);

  assert_code(mt_thread_start(NULL), MT_EINVAL);
  assert_code(mt_thread_join(NULL, 1, NULL), MT_EINVAL);
  assert_code(mt_thread_is_alive(NULL), MT_EINVAL);
  assert_code(mt_thread_is_daemon(NULL), MT_EINVAL);
  assert_code(mt_thread_set_daemon(NULL, true), MT_EINVAL);
  assert_code(mt_thread_set_name(NULL, "x"), MT_EINVAL);
  assert_null(mt_thread_name(NULL));
  assert_int_equal(mt_thread_ident(NULL), 0);
  assert_int_equal(mt_thread_native_id(NULL), 0);
  assert_code(mt_thread_enumerate(NULL, 3), MT_EINVAL);
  assert_code(mt_thread_enumerate(NULL, -1), MT_EINVAL);
  mt_thread_free(NULL);

  mt_thread_t *t = mt_thread_new(ret_arg, NULL, NULL);
  assert_code(mt_thread_join(t, MT_FOREVER, NULL), MT_ENOTSTARTED);
  assert_code(mt_thread_join(t, -2, NULL), MT_EINVAL);
  assert_code(mt_thread_join(t, NAN, NULL), MT_EINVAL);
  assert_code(mt_thread_set_name(t, NULL), MT_EINVAL);
  assert_code(mt_thread_set_name(t, longname), MT_ENAMETOOLONG);
  assert_code(mt_thread_set_daemon(t, true), 0);
  assert_int_equal(mt_thread_is_daemon(t), 1);
  assert_code(mt_thread_start(t), 0);
  assert_code(mt_thread_start(t), MT_ESTARTED);
  assert_code(mt_thread_set_daemon(t, false), MT_ESTARTED);
  assert_code(mt_thread_join(t, MT_FOREVER, NULL), 0);
  assert_code(mt_thread_start(t), MT_ESTARTED);
  mt_thread_free(t);

  /* the main thread is a dummy: it cannot be joined, started or freed */
  mt_thread_t *m = mt_thread_main();
  assert_code(mt_thread_join(m, 0, NULL), MT_EDEADLK); /* it is us */
  assert_code(mt_thread_start(m), MT_ESTARTED);
  assert_code(mt_thread_set_daemon(m, true), MT_ESTARTED);
  mt_thread_free(m);
  assert_int_equal(mt_thread_is_alive(m), 1);
}

static void *join_main(void *arg) {
  (void)arg;
  return (void *)(intptr_t)mt_thread_join(mt_thread_main(), 0, NULL);
}

static void join_dummy(void **state) {
  (void)state;
  mt_thread_t *t = mt_thread_spawn(join_main, NULL, NULL);
  void *r;
  assert_code(mt_thread_join(t, MT_FOREVER, &r), 0);
  assert_int_equal((int)(intptr_t)r, MT_ENOTSUP);
  mt_thread_free(t);
}

static void join_timeout(void **state) {
  (void)state;
  tflag_t f = {0};
  mt_thread_t *t = mt_thread_spawn(wait_flag, &f, NULL);
  assert_code(mt_thread_join(t, 0, NULL), MT_ETIMEDOUT);
  double t0 = now_s();
  assert_code(mt_thread_join(t, 0.05, NULL), MT_ETIMEDOUT);
  assert_true(now_s() - t0 >= 0.05);
  assert_int_equal(mt_thread_is_alive(t), 1);
  flag_set(&f);
  void *r;
  assert_code(mt_thread_join(t, MT_FOREVER, &r), 0);
  assert_ptr_equal(r, (void *)42);
  mt_thread_free(t);
}

typedef struct {
  mt_thread_t *target;
  int rc;
  void *res;
} joiner_t;

static void *joiner(void *arg) {
  joiner_t *j = arg;
  j->rc = mt_thread_join(j->target, MT_FOREVER, &j->res);
  return NULL;
}

static void many_joiners(void **state) {
  (void)state;
  enum { N = 6 };
  tflag_t f = {0};
  mt_thread_t *target = mt_thread_spawn(wait_flag, &f, NULL);
  joiner_t js[N];
  mt_thread_t *ts[N];
  for (int i = 0; i < N; i++) {
    js[i] = (joiner_t){.target = target, .rc = 1};
    ts[i] = mt_thread_spawn(joiner, &js[i], NULL);
  }
  flag_set(&f);
  for (int i = 0; i < N; i++) {
    assert_code(mt_thread_join(ts[i], MT_FOREVER, NULL), 0);
    assert_code(js[i].rc, 0);
    assert_ptr_equal(js[i].res, (void *)42);
    mt_thread_free(ts[i]);
  }
  mt_thread_free(target);
}

static int index_of(mt_thread_t **v, int n, mt_thread_t *t) {
  for (int i = 0; i < n; i++)
    if (v[i] == t) return i;
  return -1;
}

/* enumerate hands out references: release the first min(n, cap). */
static void release_all(mt_thread_t **v, int n, int cap) {
  for (int i = 0; i < n && i < cap; i++) mt_thread_free(v[i]);
}

static void enumerate_exact(void **state) {
  (void)state;
  enum { K = 5 };
  mt_thread_t *me = mt_thread_current();
  assert_ptr_equal(me, mt_thread_main());
  assert_string_equal(mt_thread_name(me), "MainThread");
  assert_int_equal(mt_thread_is_daemon(me), 0);
  assert_int_equal(mt_thread_native_id(me), getpid());
  assert_true(mt_thread_get_ident() == (uint64_t)pthread_self());
  assert_int_equal(mt_thread_get_native_id(), getpid());
  int base = mt_thread_active_count();
  assert_true(base >= 1);

  tflag_t f = {0};
  mt_thread_t *ts[K];
  for (int i = 0; i < K; i++) ts[i] = mt_thread_spawn(wait_flag, &f, NULL);
  assert_int_equal(mt_thread_active_count(), base + K);
  mt_thread_t *all[64];
  int n = mt_thread_enumerate(all, 64);
  assert_int_equal(n, base + K);
  assert_int_equal(index_of(all, n, me), 0); /* start order: main first */
  for (int i = 0; i < K; i++) assert_int_equal(index_of(all, n, ts[i]), base + i);
  release_all(all, n, 64);
  assert_int_equal(mt_thread_enumerate(all, 2), base + K); /* truncated */
  release_all(all, base + K, 2);
  flag_set(&f);
  for (int i = 0; i < K; i++) {
    assert_code(mt_thread_join(ts[i], MT_FOREVER, NULL), 0);
    n = mt_thread_enumerate(all, 64);
    assert_int_equal(index_of(all, n, ts[i]), -1); /* gone once joined */
    release_all(all, n, 64);
    assert_true(n <= base + K - 1 - i);
    mt_thread_free(ts[i]);
  }
  n = mt_thread_enumerate(all, 64);
  assert_int_equal(n, base);
  release_all(all, n, 64);
}

typedef struct {
  mt_thread_t *seen;
  int count_inside;
  char name[64];
  int daemon;
  uint64_t ident;
  int same;
} foreign_t;

static void *foreign(void *arg) {
  foreign_t *f = arg;
  f->seen = mt_thread_current();
  f->count_inside = mt_thread_active_count();
  snprintf(f->name, sizeof f->name, "%s", mt_thread_name(f->seen));
  f->daemon = mt_thread_is_daemon(f->seen);
  f->ident = mt_thread_ident(f->seen);
  f->same = mt_thread_current() == f->seen; /* the same one again */
  return NULL;
}

static void dummy_threads(void **state) {
  (void)state;
  int base = mt_thread_active_count();
  foreign_t f = {0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, foreign, &f), 0);
  pthread_join(th, NULL);
  assert_int_equal(f.count_inside, base + 1);
  assert_true(strncmp(f.name, "Dummy-", 6) == 0);
  assert_int_equal(f.daemon, 1);
  assert_true(f.ident == (uint64_t)th);
  assert_int_equal(f.same, 1);
  /* it left the registry when it exited */
  assert_int_equal(mt_thread_active_count(), base);
}

static void read_comm(int32_t tid, char *buf, size_t n) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  assert_non_null(fgets(buf, (int)n, fp));
  fclose(fp);
  buf[strcspn(buf, "\n")] = 0;
}

typedef struct {
  tflag_t named, go;
} name_sync_t;

static void *wait_named(void *arg) {
  name_sync_t *s = arg;
  flag_set(&s->named);
  flag_wait(&s->go, MT_FOREVER);
  return NULL;
}

static void kernel_names(void **state) {
  (void)state;
  name_sync_t s = {0};
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.name = "downloader-number-7";
  mt_thread_t *t = mt_thread_spawn(wait_named, &s, &o);
  flag_wait(&s.named, MT_FOREVER); /* it named itself before its fn */
  char comm[64];
  read_comm(mt_thread_native_id(t), comm, sizeof comm);
  assert_string_equal(comm, "downloader-numb");
  assert_code(mt_thread_set_name(t, "renamed"), 0);
  assert_string_equal(mt_thread_name(t), "renamed");
  read_comm(mt_thread_native_id(t), comm, sizeof comm);
  assert_string_equal(comm, "renamed");
  flag_set(&s.go);
  assert_code(mt_thread_join(t, MT_FOREVER, NULL), 0);
  mt_thread_free(t);
}

static void *spawn_child_default(void *arg) {
  (void)arg;
  mt_thread_t *c = mt_thread_new(ret_arg, NULL, NULL);
  intptr_t d = mt_thread_is_daemon(c);
  mt_thread_free(c);
  return (void *)d;
}

static void daemon_inheritance(void **state) {
  (void)state;
  mt_thread_t *t = mt_thread_new(ret_arg, NULL, NULL);
  assert_int_equal(mt_thread_is_daemon(t), 0); /* main is not a daemon */
  mt_thread_free(t);
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.daemon = true;
  o.daemon_set = true;
  t = mt_thread_spawn(spawn_child_default, NULL, &o);
  void *r;
  assert_code(mt_thread_join(t, MT_FOREVER, &r), 0);
  assert_int_equal((intptr_t)r, 1); /* inherited from the daemon creator */
  mt_thread_free(t);
  mt_thread_opts_t o2 = MT_THREAD_OPTS_INIT;
  o2.daemon = false;
  o2.daemon_set = true;
  t = mt_thread_new(ret_arg, NULL, &o2);
  assert_int_equal(mt_thread_is_daemon(t), 0);
  mt_thread_free(t);
}

typedef struct {
  tflag_t go, done;
  int ran;
} detach_t;

static void *detached_body(void *arg) {
  detach_t *d = arg;
  flag_wait(&d->go, MT_FOREVER);
  d->ran = 1;
  flag_set(&d->done);
  return NULL;
}

static void free_running_detaches(void **state) {
  (void)state;
  detach_t d = {0};
  int base = mt_thread_active_count();
  mt_thread_t *t = mt_thread_spawn(detached_body, &d, NULL);
  mt_thread_free(t); /* still running: detached */
  flag_set(&d.go);
  flag_wait(&d.done, MT_FOREVER);
  assert_int_equal(d.ran, 1);
  /* it leaves the registry on its own; wait for that without sleeping */
  while (mt_thread_active_count() != base) sched_yield();
}

static void *add_one(void *arg) {
  __atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
  return arg;
}

static int exit_dtor_calls;
static void exit_dtor(void *v) {
  (void)v;
  __atomic_add_fetch(&exit_dtor_calls, 1, __ATOMIC_RELAXED);
}

static void *leaves_by_pthread_exit(void *arg) {
  static int v;
  mt_local_set(arg, &v);
  pthread_exit((void *)99);
}

/* A thread that calls pthread_exit still finishes properly: joiners wake
 * (result NULL), its locals are destroyed, it leaves the registry. */
static void pthread_exit_is_a_finish(void **state) {
  (void)state;
  int base = mt_thread_active_count();
  mt_local_t *l = mt_local_new(exit_dtor);
  mt_thread_t *t = mt_thread_spawn(leaves_by_pthread_exit, l, NULL);
  void *r = (void *)1;
  assert_code(mt_thread_join(t, 10, &r), 0); /* timed: the wait-layer path */
  assert_null(r);
  assert_int_equal(exit_dtor_calls, 1);
  assert_int_equal(mt_thread_active_count(), base);
  mt_thread_free(t);
  t = mt_thread_spawn(leaves_by_pthread_exit, l, NULL);
  assert_code(mt_thread_join(t, MT_FOREVER, &r), 0); /* untimed path */
  assert_int_equal(exit_dtor_calls, 2);
  mt_thread_free(t);
  mt_local_free(l);
}

static void *report_main(void *arg) {
  (void)arg;
  return mt_thread_main();
}

static void main_seen_from_others(void **state) {
  (void)state;
  mt_thread_t *t = mt_thread_spawn(report_main, NULL, NULL);
  void *r;
  assert_code(mt_thread_join(t, MT_FOREVER, &r), 0);
  assert_ptr_equal(r, mt_thread_current());
  mt_thread_free(t);
}

static void stress_start_join(void **state) {
  (void)state;
  long n = mt_test_scaled(2000, 50);
  int counter = 0;
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.stack_size = 256 * 1024;
  for (long i = 0; i < n; i++) {
    mt_thread_t *t = mt_thread_spawn(add_one, &counter, i % 2 ? &o : NULL);
    assert_non_null(t);
    void *r;
    assert_code(mt_thread_join(t, MT_FOREVER, &r), 0);
    assert_ptr_equal(r, &counter);
    mt_thread_free(t);
  }
  assert_int_equal(counter, n);
  /* and many at once */
  enum { M = 64 };
  mt_thread_t *ts[M];
  for (int i = 0; i < M; i++) ts[i] = mt_thread_spawn(add_one, &counter, NULL);
  for (int i = 0; i < M; i++) {
    assert_code(mt_thread_join(ts[i], MT_FOREVER, NULL), 0);
    mt_thread_free(ts[i]);
  }
  assert_int_equal(counter, n + M);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(basics),          cmocka_unit_test(errors),
      cmocka_unit_test(join_dummy),      cmocka_unit_test(join_timeout),
      cmocka_unit_test(many_joiners),    cmocka_unit_test(enumerate_exact),
      cmocka_unit_test(dummy_threads),   cmocka_unit_test(kernel_names),
      cmocka_unit_test(daemon_inheritance), cmocka_unit_test(free_running_detaches),
      cmocka_unit_test(pthread_exit_is_a_finish), cmocka_unit_test(main_seen_from_others),
      cmocka_unit_test(stress_start_join),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
