/* exit() while a process Pool is running and its workers are dying.  The
 * exit-time cleanup of the Process part (terminate daemons, join every
 * child) runs in the exiting thread while the pool's manager thread keeps
 * reaping dead workers and freeing their Process handles (handle_death ->
 * mt_process_join + mt_process_free).  Before the fix the cleanup read a
 * registry entry after dropping the registry lock, so the manager could
 * free it first: ASan reported heap-use-after-free in cleanup_children /
 * reap_locked.  Each round forks a child that starts such a pool and calls
 * exit(); the child must exit 0 (ASan makes it exit 1 on a report, TSan
 * 66).  Under TSan (die_after_fork=0) it also caught glibc 2.36 aborting
 * ("Fatal glibc error: array index 1 not less than array length 0", the
 * child killed by SIGABRT) when the manager forked a replacement worker
 * while exit() unregistered the at-fork handlers: 4 of 17 runs of 20 rounds
 * (MT_TEST_SCALE=0.5) before the library's forks were refused once exit
 * has begun, 0 of 17 after. */
#include "mt_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

enum { WORKERS = 4, TASKS = 64 };

static int t_die(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len, (void)out;
  _exit(3); /* the worker dies: the manager reaps and replaces it */
}

static int t_ok(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len;
  out->ptr = (void *)1;
  return 0;
}

static mt_pool_t *g_pool; /* reachable at exit (no leak report) */

/* Registered before the pool's first worker start registers the library's
 * exit handler, so it runs after that handler (LIFO).  By then no worker
 * is replaced any more (the library's forks are refused once exit has
 * begun), so the manager thread may end before the process does: free the
 * pool, which detaches or reaps it (else TSan reports the ended, never
 * joined manager as a thread leak; it did before the fix too, when the
 * manager happened to end in time). */
static void free_pool_at_exit(void) { mt_pool_free(g_pool); }

static void child_round(long k) {
  atexit(free_pool_at_exit);
  mt_pool_opts_t popts = MT_POOL_OPTS_INIT;
  popts.processes = WORKERS;
  g_pool = mt_pool_new(&popts);
  if (!g_pool) _exit(10);
  mt_future_t *f[TASKS];
  for (int i = 0; i < TASKS; i++)
    if (mt_pool_apply_async(g_pool, (i + k) % 3 ? t_die : t_ok, NULL, 0, NULL, &f[i]) < 0)
      _exit(11);
  /* Wait for a death or two so that the manager is busy reaping when the
   * process exits; vary the moment from round to round. */
  for (int i = 0; i < (int)(k % 4); i++) (void)mt_future_result(f[i], MT_FOREVER, NULL);
  /* Closed: the workers quit once the queue is empty, so exit does not
   * wait out the daemons' grace period for idle replacements. */
  if (mt_pool_close(g_pool) < 0) _exit(12);
  exit(0); /* the pool is still running: exit handlers race its manager */
}

static void test_exit_with_running_pool(void **state) {
  (void)state;
  /* Under ASan it failed within the first 4 rounds before the fix.  A round
   * could take up to the daemons' 2 s grace (a replacement worker started
   * after the exit-time SIGTERM; none is started now), hence the small
   * count. */
  long rounds = mt_test_scaled(40, 8);
  for (long k = 0; k < rounds; k++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) child_round(k);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      fail_msg("round %ld: child %s %d", k, WIFEXITED(st) ? "exited" : "killed by signal",
               WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_exit_with_running_pool)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
