/* Workers that die: SIGKILL mid-task (apply and inside a chunk), exit() and
 * segfault in a task, cancel of a running task, per-task timeout, terminate
 * with a stuck task.  Each time exactly the running item fails and the pool
 * goes on. */
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "tasks.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check_square_future(mt_future_t *f, int64_t x) {
  mt_value_t v;
  assert_code(mt_future_result(f, MT_FOREVER, &v), 0);
  assert_int_equal(as_i64(v.ptr), x * x + 1);
  mt_future_free(f);
}

static void test_sigkill_apply_many(void **state) {
  (void)state;
  started_pipe();
  mt_pool_opts_t popts = MT_POOL_OPTS_INIT;
  popts.processes = 2;
  mt_pool_t *p = mt_pool_new(&popts);
  long rounds = mt_test_scaled(100, 30);
  for (long k = 0; k < rounds; k++) {
    mt_future_t *blocker, *others[4];
    char b = 0;
    assert_code(mt_pool_apply_async(p, t_block, &b, 1, NULL, &blocker), 0);
    pid_t pid = wait_started();
    int64_t xs[4] = {k, k + 1, k + 2, k + 3};
    for (int i = 0; i < 4; i++)
      assert_code(mt_pool_apply_async(p, t_square, &xs[i], 8, NULL, &others[i]), 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_code(mt_future_result(blocker, MT_FOREVER, NULL), MT_EWORKERDIED);
    int ec = 0;
    assert_code(mt_pool_died_exitcode(blocker, &ec), 0);
    assert_int_equal(ec, -SIGKILL);
    mt_task_error_t e;
    assert_code(mt_future_exception(blocker, 0, &e), 0);
    assert_int_equal(e.code, MT_EWORKERDIED);
    mt_future_free(blocker);
    for (int i = 0; i < 4; i++) check_square_future(others[i], xs[i]);
  }
  assert_true(mt_pool_workers_started(p) >= 1 + rounds); /* each kill hit another process */
  mt_pool_close(p);
  assert_code(mt_pool_join(p, MT_FOREVER), 0);
  mt_pool_free(p);
}

/* chunksize 10: item 25 blocks and its worker is killed: only item 25
 * fails, items 26..29 of its chunk run elsewhere. */
static void test_sigkill_in_chunk(void **state) {
  (void)state;
  started_pipe();
  g_runs = mmap(NULL, RUNS_MAX * sizeof *g_runs, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(g_runs != MAP_FAILED);
  mt_pool_opts_t popts2 = MT_POOL_OPTS_INIT;
  popts2.processes = 2;
  mt_pool_t *p = mt_pool_new(&popts2);
  long rounds = mt_test_scaled(10, 3);
  enum { N = 60 };
  for (long k = 0; k < rounds; k++) {
    memset(g_runs, 0, N * sizeof *g_runs);
    int64_t vals[N];
    mt_bytes_t *items = make_items(vals, N);
    vals[25] = BLOCK_ITEM;
    mt_pool_result_t res[N];
    mt_future_t *f;
    assert_code(mt_pool_map_async(p, t_square_or_block, items, N, 10, res, &f), 0);
    pid_t pid = wait_started();
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_code(mt_future_result(f, MT_FOREVER, NULL), MT_ETASKFAILED);
    mt_task_error_t e;
    assert_code(mt_future_exception(f, 0, &e), 0);
    assert_int_equal(e.code, MT_EWORKERDIED);
    for (int i = 0; i < N; i++) {
      if (i == 25) {
        assert_int_equal(res[i].code, MT_EWORKERDIED);
        assert_int_equal(res[i].exitcode, -SIGKILL);
      } else {
        assert_int_equal(res[i].code, 0);
        assert_int_equal(as_i64(res[i].value.ptr), (int64_t)i * i + 1);
      }
    }
    for (int i = 0; i < N; i++) assert_int_equal(g_runs[i], 1); /* none ran twice */
    mt_pool_results_release(res, N);
    mt_future_free(f);
    free(items);
  }
  mt_pool_free(p);
  munmap(g_runs, RUNS_MAX * sizeof *g_runs);
  g_runs = NULL;
}

static void test_exit_and_segv(void **state) {
  (void)state;
  mt_pool_opts_t popts3 = MT_POOL_OPTS_INIT;
  popts3.processes = 2;
  mt_pool_t *p = mt_pool_new(&popts3);
  mt_value_t v;
  int ec = 0;
  mt_future_t *f;
  assert_code(mt_pool_apply_async(p, t_exit7, NULL, 0, NULL, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, &v), MT_EWORKERDIED);
  assert_code(mt_pool_died_exitcode(f, &ec), 0);
  assert_int_equal(ec, 7);
  mt_future_free(f);
  assert_code(mt_pool_apply_async(p, t_segv, NULL, 0, NULL, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, &v), MT_EWORKERDIED);
  assert_code(mt_pool_died_exitcode(f, &ec), 0);
  assert_int_equal(ec, -SIGSEGV);
  mt_future_free(f);
  /* inside a map: only that item */
  enum { N = 20 };
  int64_t vals[N];
  mt_bytes_t *items = make_items(vals, N);
  mt_pool_result_t res[N];
  assert_code(mt_pool_map(p, t_square, items, N, 3, MT_FOREVER, res), 0);
  mt_pool_results_release(res, N);
  int64_t x = 5;
  assert_code(mt_pool_apply(p, t_square, &x, 8, MT_FOREVER, &v), 0);
  assert_int_equal(as_i64(v.ptr), 26);
  v.free_fn(v.ptr);
  free(items);
  mt_pool_free(p);
}

static void test_cancel_running(void **state) {
  (void)state;
  started_pipe();
  mt_pool_opts_t popts4 = MT_POOL_OPTS_INIT;
  popts4.processes = 1;
  mt_pool_t *p = mt_pool_new(&popts4);
  mt_future_t *f, *queued;
  char b = 0;
  assert_code(mt_pool_apply_async(p, t_block, &b, 1, NULL, &f), 0);
  wait_started();
  int64_t x = 3;
  assert_code(mt_pool_apply_async(p, t_square, &x, 8, NULL, &queued), 0);
  assert_int_equal(mt_future_cancel(f), 0); /* running: Python's cancel fails */
  assert_int_equal(mt_future_cancel_running(f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), MT_ECANCELLED);
  mt_future_free(f);
  check_square_future(queued, 3);
  /* a queued one is cancelled the Python way */
  assert_code(mt_pool_apply_async(p, t_block, &b, 1, NULL, &f), 0);
  wait_started();
  assert_code(mt_pool_apply_async(p, t_square, &x, 8, NULL, &queued), 0);
  assert_int_equal(mt_future_cancel(queued), 1);
  assert_int_equal(mt_future_cancel_running(f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), MT_ECANCELLED);
  assert_code(mt_future_result(queued, MT_FOREVER, NULL), MT_ECANCELLED);
  mt_future_free(f);
  mt_future_free(queued);
  mt_pool_free(p);
}

static void test_task_timeout(void **state) {
  (void)state;
  started_pipe();
  mt_pool_opts_t popts5 = MT_POOL_OPTS_INIT;
  popts5.processes = 2;
  mt_pool_t *p = mt_pool_new(&popts5);
  mt_pool_task_opts_t o = MT_POOL_TASK_OPTS_INIT;
  o.timeout = 0.2;
  mt_future_t *f;
  char b = 0;
  double t0 = now_s();
  assert_code(mt_pool_apply_async(p, t_block, &b, 1, &o, &f), 0);
  assert_code(mt_future_result(f, MT_FOREVER, NULL), MT_ECANCELLED);
  assert_true(now_s() - t0 >= 0.2);
  /* The timeout runs from the dispatch: a worker held off the CPU for the
   * whole 0.2 s is killed before the task says "started" (waiting for that
   * first hung the test).  The future ends once the death is handled, so
   * by now the pid is in the pipe or never will be: take it if it is. */
  struct pollfd pf = {g_started[0], POLLIN, 0};
  if (poll(&pf, 1, 0) == 1) wait_started();
  mt_task_error_t e;
  assert_code(mt_future_exception(f, 0, &e), 0);
  assert_non_null(strstr(e.message, "timeout"));
  mt_future_free(f);
  int64_t x = 4;
  assert_code(mt_pool_apply_async(p, t_square, &x, 8, &o, &f), 0);
  check_square_future(f, 4);
  mt_pool_free(p);
}

static void test_terminate_stuck(void **state) {
  (void)state;
  started_pipe();
  mt_pool_opts_t popts6 = MT_POOL_OPTS_INIT;
  popts6.processes = 2;
  popts6.grace = 0.2;
  mt_pool_t *p = mt_pool_new(&popts6);
  mt_future_t *f[2], *queued;
  char ignore_term = 1;
  for (int i = 0; i < 2; i++) {
    assert_code(mt_pool_apply_async(p, t_block, &ignore_term, 1, NULL, &f[i]), 0);
    wait_started();
  }
  int64_t x = 1;
  assert_code(mt_pool_apply_async(p, t_square, &x, 8, NULL, &queued), 0);
  double t0 = now_s();
  assert_code(mt_pool_terminate(p, MT_FOREVER), 0);
  double took = now_s() - t0;
  assert_true(took >= 0.2);  /* SIGTERM was ignored: the grace passed */
  assert_true(took < 10.0);  /* and it returned */
  for (int i = 0; i < 2; i++) {
    assert_code(mt_future_result(f[i], 0, NULL), MT_ECANCELLED);
    mt_future_free(f[i]);
  }
  assert_code(mt_future_result(queued, 0, NULL), MT_ECANCELLED);
  mt_future_free(queued);
  assert_code(mt_pool_apply_async(p, t_square, &x, 8, NULL, &queued), MT_ECLOSED);
  int pids[2];
  assert_int_equal(mt_pool_pids(p, pids, 2), 0); /* every worker is gone */
  mt_pool_free(p);
}

static pid_t apply_pid(mt_pool_t *p) {
  mt_value_t v;
  assert_code(mt_pool_apply(p, t_pid, NULL, 0, MT_FOREVER, &v), 0);
  return (pid_t)(intptr_t)v.ptr;
}

/* Workers ignore SIGINT (Ctrl-C goes to the whole process group) unless
 * asked; asked, a SIGINT kills the worker and it is replaced. */
static void test_sigint(void **state) {
  (void)state;
  mt_pool_opts_t popts7 = MT_POOL_OPTS_INIT;
  popts7.processes = 1;
  mt_pool_t *p = mt_pool_new(&popts7);
  pid_t pid = apply_pid(p);
  assert_int_equal(kill(pid, SIGINT), 0);
  assert_int_equal(apply_pid(p), pid); /* the same worker ran it */
  mt_pool_free(p);
  mt_pool_opts_t popts8 = MT_POOL_OPTS_INIT;
  popts8.processes = 1;
  popts8.workers_get_sigint = true;
  p = mt_pool_new(&popts8);
  pid = apply_pid(p);
  assert_int_equal(kill(pid, SIGINT), 0);
  assert_int_not_equal(apply_pid(p), pid); /* replaced; the task was not lost */
  mt_pool_free(p);
}

/* A parent killed by SIGKILL takes its workers with it. */
static void test_workers_die_with_parent(void **state) {
  (void)state;
  int fd[2];
  assert_int_equal(pipe(fd), 0);
  pid_t child = fork();
  if (child == 0) {
    mt_pool_opts_t popts9 = MT_POOL_OPTS_INIT;
    popts9.processes = 2;
    mt_pool_t *p = mt_pool_new(&popts9);
    int pids[2];
    if (!p || mt_pool_pids(p, pids, 2) != 2) _exit(1);
    if (write(fd[1], pids, sizeof pids) != sizeof pids) _exit(1);
    for (;;) pause();
  }
  int pids[2];
  assert_int_equal(read(fd[0], pids, sizeof pids), (ssize_t)sizeof pids);
  int pfd[2];
  for (int i = 0; i < 2; i++) {
    pfd[i] = (int)syscall(SYS_pidfd_open, pids[i], 0);
    assert_true(pfd[i] >= 0);
  }
  kill(child, SIGKILL);
  int st;
  assert_int_equal(waitpid(child, &st, 0), child);
  for (int i = 0; i < 2; i++) { /* readable = the worker ended */
    struct pollfd q = {.fd = pfd[i], .events = POLLIN};
    assert_int_equal(poll(&q, 1, 30000), 1);
    close(pfd[i]);
  }
  close(fd[0]);
  close(fd[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sigkill_apply_many), cmocka_unit_test(test_sigkill_in_chunk),
      cmocka_unit_test(test_exit_and_segv),      cmocka_unit_test(test_cancel_running),
      cmocka_unit_test(test_task_timeout),       cmocka_unit_test(test_terminate_stuck),
      cmocka_unit_test(test_sigint),             cmocka_unit_test(test_workers_die_with_parent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
