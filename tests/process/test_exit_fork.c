/* Process exit while other threads start children.
 *
 * The exit-time cleanup (terminate daemons, join every child) runs while
 * other threads go on.  Before the fix:
 *  - it waited until the registry was empty, so a thread that keeps one
 *    child running (start the next, then let the previous one end) made it
 *    wait for ever, both at exit() and when a child's target returned
 *    (exit_starter, return_starter: hung);
 *  - library forks went on during exit (a pool's manager replacing a dying
 *    worker), which glibc 2.36 can abort on ("array index 1 not less than
 *    array length 0") when a fork runs while exit unregisters the at-fork
 *    handlers (test_exit_pool.c under TSan shows it); now every library
 *    fork is refused with MT_ECLOSED once exit has begun (exit_gate: every
 *    kind of fork used to succeed).
 * exit_thread_forks guards the other side: a non-daemon thread still
 * running when exit begins is joined first, and its forks still work.
 * Closing the gate waits for the forks inside, so exit hung for ever when
 * one of them depended on the exiting thread or on user code: a task on the
 * exiting thread's hub parked inside on a lock (coro_exit), a Popen inside
 * until its blocking preexec_fn returned (preexec_blocks), a signal handler
 * calling exit() on a thread inside (signal_exit_*).
 * give_up: a child the exit handler cannot wait for (no descriptor left)
 * stays running and is reported so (before: marked ended, exit code 0).
 *
 * Each scenario runs in a fresh process (this program exec'd with the
 * scenario's name), so that the order in which the library registered its
 * exit handlers is the scenario's own.  The test waits for that process
 * with a bound: a hang is a failure, not a CTest timeout. */
#include "mt_test.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* Far beyond what a scenario needs: it hung if it takes this long.  A
 * scenario's own bounded wait is HANG_S, the test's on it twice that. */
#define HANG_S 20

static int result_fd = -1; /* scenario -> test: int codes */

/* Scenarios that exit() while a task or a full descriptor table holds
 * memory turn LeakSanitizer off for their exit (it cannot scan a parked
 * task's stack, nor run without a descriptor).  Replaces the library's weak
 * definition (src/core/mem.c): that one's rule, a forked child is not
 * checked, is kept. */
static pid_t lsan_pid;
static volatile int lsan_off;
__attribute__((visibility("default"))) int __lsan_is_turned_off(void);
__attribute__((visibility("default"))) int __lsan_is_turned_off(void) {
  return lsan_off || getpid() != lsan_pid;
}

static void report(int code) {
  if (write(result_fd, &code, sizeof code) != (ssize_t)sizeof code) _exit(90);
}

/* ---- a thread that always keeps one child running ---------------------- */

/* A child that ends when its pipe gets a byte (or EOF). */
static int blocked_child(void *arg) {
  int *fds = arg;
  char c;
  close(fds[1]);
  while (read(fds[0], &c, 1) < 0 && errno == EINTR) {}
  return 0;
}

struct starter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  long started;  /* children started so far */
  bool stopped;  /* a start failed: the starter returned */
};

static void release(int *fds) {
  char c = 1;
  if (write(fds[1], &c, 1) != 1) _exit(91);
  close(fds[0]);
  close(fds[1]);
}

/* Starts child n+1, then lets child n end: one child is always running.
 * Stops at the first refused start (after letting the running one end)
 * and reports that code. */
static void *starter_main(void *arg) {
  struct starter *s = arg;
  int fds[2][2];
  mt_process_t *cur = NULL;
  for (long n = 0;; n++) {
    int *f = fds[n & 1];
    if (pipe(f) != 0) _exit(92);
    mt_process_t *p = mt_process_new(blocked_child, f, NULL);
    if (!p) _exit(93);
    int r = mt_process_start(p);
    if (r < 0) {
      mt_process_free(p);
      close(f[0]);
      close(f[1]);
      report(r); /* first: once the running child ends, exit may end */
      if (cur) {
        mt_process_free(cur); /* the registry reaps and frees it */
        release(fds[(n - 1) & 1]);
      }
      pthread_mutex_lock(&s->mu);
      s->stopped = true;
      pthread_cond_broadcast(&s->cv);
      pthread_mutex_unlock(&s->mu);
      return NULL;
    }
    if (cur) {
      release(fds[(n - 1) & 1]);
      mt_process_free(cur); /* running or not: the registry reaps it */
    }
    cur = p;
    pthread_mutex_lock(&s->mu);
    s->started = n + 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
  }
}

/* Starts the starter thread and waits until it has a child running (a
 * start that fails before that, e.g. fork out of memory, ends the scenario
 * with status 20: the code it reported says why). */
static void start_starter(struct starter *s) {
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  s->started = 0;
  s->stopped = false;
  pthread_t t;
  if (pthread_create(&t, NULL, starter_main, s) != 0) _exit(94);
  pthread_detach(t); /* it may end during exit: not a leak */
  pthread_mutex_lock(&s->mu);
  while (s->started < 2 && !s->stopped) pthread_cond_wait(&s->cv, &s->mu);
  bool stopped = s->stopped;
  pthread_mutex_unlock(&s->mu);
  if (stopped) _exit(20);
}

static struct starter g_starter; /* reachable at exit */

/* exit() while the starter runs: exit must end; the starter's first
 * refused start reports MT_ECLOSED. */
static int scenario_exit_starter(void) {
  start_starter(&g_starter);
  exit(0);
}

/* A child's target returns while a thread of the child keeps starting
 * children: the child's cleanup joins the children listed when it began
 * and must end (no gate here: the child leaves with _exit). */
static int starter_target(void *arg) {
  (void)arg;
  setpgid(0, 0); /* if its exit hangs, it is killed with its children */
  start_starter(&g_starter);
  return 7;
}

static int scenario_return_starter(void) {
  mt_process_t *p = mt_process_new(starter_target, NULL, NULL);
  if (!p || mt_process_start(p) < 0) return 10;
  int r = mt_process_join(p, HANG_S);
  report(r);
  if (r == MT_ETIMEDOUT) { /* its exit hung */
    kill(-mt_process_pid(p), SIGKILL); /* the child and its children */
    mt_process_join(p, MT_FOREVER);
    return 11;
  }
  int code = -1;
  report(mt_process_exitcode(p, &code) == 0 ? code : -1);
  mt_process_free(p);
  return 0;
}

/* ---- every library fork is refused once exit has begun ----------------- */

static int sleeper(void *arg) { /* a daemon: ends by the exit's SIGTERM */
  (void)arg;
  for (;;) pause();
  return 0;
}

static int quick(void *arg) {
  (void)arg;
  return 0;
}

static int nop_preexec(void *arg) {
  (void)arg;
  return 0;
}

struct gate_ctx {
  mt_process_t *daemon; /* its end says the exit's cleanup began */
  int hold[2];          /* the non-daemon child that keeps exit waiting */
};

static void *gate_main(void *arg) {
  struct gate_ctx *g = arg;
  /* The exit's cleanup closes the gate, then SIGTERMs the daemon. */
  struct pollfd pf = {.fd = mt_process_sentinel(g->daemon), .events = POLLIN};
  while (poll(&pf, 1, -1) < 0 && errno == EINTR) {}

  mt_process_t *p = mt_process_new(quick, NULL, NULL);
  if (!p) _exit(95);
  report(mt_process_start(p)); /* the Process (and pool worker) path */
  mt_process_free(p);
  mt_process_t *c = NULL;
  pid_t r = mt_os_fork(&c, NULL);
  if (r == 0) _exit(0);
  report(r > 0 ? 0 : r);
  mt_process_free(c);
  r = mt_os_double_fork();
  if (r == 0) _exit(0);
  report(r > 0 ? 0 : r);
  mt_daemon_opts_t d = MT_DAEMON_OPTS_INIT;
  d.parent_exits = false;
  r = mt_os_daemonize(&d);
  if (r == 0) _exit(0);
  report(r > 0 ? 0 : r);
  mt_popen_opts_t po = MT_POPEN_OPTS_INIT;
  po.preexec_fn = nop_preexec;
  const char *argv[] = {"true", NULL};
  mt_popen_t *sp = mt_popen_new(argv, &po);
  report(sp ? 0 : -errno);
  if (sp) mt_popen_wait(sp, MT_FOREVER, NULL);
  mt_popen_free(sp);
  release(g->hold); /* now exit may end */
  return NULL;
}

static struct gate_ctx g_gate;

static int scenario_exit_gate(void) {
  mt_process_opts_t o = MT_PROCESS_OPTS_INIT;
  o.daemon = true;
  g_gate.daemon = mt_process_new(sleeper, NULL, &o);
  if (!g_gate.daemon || mt_process_start(g_gate.daemon) < 0) return 10;
  if (pipe(g_gate.hold) != 0) return 11;
  mt_process_t *n = mt_process_new(blocked_child, g_gate.hold, NULL);
  if (!n || mt_process_start(n) < 0) return 12;
  pthread_t t;
  if (pthread_create(&t, NULL, gate_main, &g_gate) != 0) return 13;
  pthread_detach(t);
  exit(0);
}

/* ---- a non-daemon thread running at exit still forks -------------------- */

static int thread_wake[2];

static void *forking_thread(void *arg) {
  (void)arg;
  char c;
  while (read(thread_wake[0], &c, 1) < 0 && errno == EINTR) {} /* exit has begun */
  mt_process_t *p = mt_process_new(quick, NULL, NULL);
  int r = p ? mt_process_start(p) : MT_ENOMEM;
  if (r == 0) r = mt_process_join(p, MT_FOREVER);
  report(r);
  mt_process_free(p);
  return NULL;
}

static void wake_thread_at_exit(void) {
  char c = 1;
  if (write(thread_wake[1], &c, 1) != 1) _exit(96);
}

static int scenario_exit_thread_forks(void) {
  if (pipe(thread_wake) != 0) return 10;
  /* The thread part's exit handler is registered first (it runs last), the
   * process part's next (it runs before it), ours last (it runs first and
   * lets the thread go on while exit runs). */
  mt_thread_t *t = mt_thread_new(forking_thread, NULL, NULL);
  if (!t || mt_thread_start(t) < 0) return 11;
  mt_process_t *p = mt_process_new(quick, NULL, NULL);
  if (!p || mt_process_start(p) < 0 || mt_process_join(p, MT_FOREVER) < 0) return 12;
  mt_process_free(p);
  atexit(wake_thread_at_exit);
  exit(0);
}

/* ---- nothing parks inside the gate (coroutines) ------------------------- */

/* Thread X's Popen holds subprocess's live lock until its child execs, and
 * its child's preexec_fn blocks until this process is gone (EOF on hold).
 * Then task A on a hub calls Popen too and parks on that lock; task C on the
 * same hub calls exit().  Before the fix A entered the gate before the lock
 * (and X's Popen stayed inside until exec): exit waited for them for ever,
 * and only A's own thread, the exiting one, could resume A. */
static int coro_ready[2], coro_hold[2];

static int wait_for_parent(void *arg) {
  (void)arg;
  char c = 1;
  close(coro_hold[1]);
  if (write(coro_ready[1], &c, 1) != 1) return 1;
  while (read(coro_hold[0], &c, 1) < 0 && errno == EINTR) {} /* EOF: the parent is gone */
  return 0;
}

static void popen_true(int (*pre)(void *)) {
  mt_popen_opts_t po = MT_POPEN_OPTS_INIT;
  po.preexec_fn = pre;
  const char *argv[] = {"true", NULL};
  mt_popen_t *p = mt_popen_new(argv, &po);
  if (p) mt_popen_wait(p, MT_FOREVER, NULL);
  mt_popen_free(p);
}

static void *popen_blocked(void *arg) {
  (void)arg;
  popen_true(wait_for_parent);
  return NULL;
}

static int task_popen(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  popen_true(nop_preexec); /* parks on the live lock */
  return 0;
}

static int task_exit(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  report(0); /* runs once task_popen has parked (the hub runs them in order) */
  exit(0);
}

static int hub_main(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  mt_future_t *a = mt_coro_spawn(task_popen, NULL, NULL);
  mt_future_t *c = mt_coro_spawn(task_exit, NULL, NULL);
  if (!a || !c) return 1;
  mt_value_t v;
  mt_future_result(c, MT_FOREVER, &v);
  return 1; /* not reached: task_exit exits */
}

static int scenario_coro_exit(void) {
  lsan_off = 1; /* task_popen's Popen stays parked, its memory held */
  if (pipe(coro_ready) != 0 || pipe(coro_hold) != 0) return 10;
  pthread_t t;
  if (pthread_create(&t, NULL, popen_blocked, NULL) != 0) return 11;
  pthread_detach(t);
  char c;
  while (read(coro_ready[0], &c, 1) < 0 && errno == EINTR) {} /* X holds the lock */
  mt_hub_run(hub_main, NULL, NULL);
  return 12;
}

/* A Popen whose preexec_fn blocks (until this process is gone) while main
 * exits: the gate is left once fork() returns, so exit does not wait for
 * user code in the child (before the fix it waited for ever). */
static int scenario_preexec_blocks(void) {
  if (pipe(coro_ready) != 0 || pipe(coro_hold) != 0) return 10;
  pthread_t t;
  if (pthread_create(&t, NULL, popen_blocked, NULL) != 0) return 11;
  pthread_detach(t);
  char c;
  while (read(coro_ready[0], &c, 1) < 0 && errno == EINTR) {} /* in preexec_fn */
  report(0);
  exit(0);
}

/* ---- exit() from a signal handler on a thread inside the gate ----------- */

/* An at-fork parent handler raises SIGUSR1, whose handler calls exit(): the
 * signal is raised inside the gate of the fork that runs the handler.
 * Before the fix it was delivered there (or, for Popen, when the spawn
 * unblocked signals, still inside): exit waited for the gate this thread
 * held, for ever.  Now signals are blocked inside, and it lands after. */
static pid_t sig_pid;
static volatile sig_atomic_t sig_armed;

static void on_usr1(int s) {
  (void)s;
  report(1);
  exit(0);
}

static void raise_in_parent(void) {
  if (sig_armed && getpid() == sig_pid) raise(SIGUSR1);
}

static int signal_exit(int kind) {
  sig_pid = getpid();
  signal(SIGUSR1, on_usr1);
  if (pthread_atfork(NULL, raise_in_parent, NULL) != 0) return 10;
  sig_armed = 1;
  if (kind == 0) {
    mt_process_t *p = mt_process_new(quick, NULL, NULL);
    if (p) mt_process_start(p);
  } else if (kind == 1) {
    if (mt_os_double_fork() == 0) _exit(0);
  } else {
    popen_true(nop_preexec);
  }
  report(2); /* the handler did not exit */
  return 11;
}

static int scenario_signal_exit_start(void) { return signal_exit(0); }
static int scenario_signal_exit_double_fork(void) { return signal_exit(1); }
static int scenario_signal_exit_popen(void) { return signal_exit(2); }

/* ---- a child the exit handler cannot wait for ---------------------------- */

/* No descriptor is left for the duplicate pidfd the exit handler waits on:
 * it gives up on the child, which stays running and is still reported so
 * (MT_ERUNNING), not marked ended with a made-up exit code 0 (before). */
static mt_process_t *g_kept;
static int kept_hold[2];

static void report_kept(void) {
  int code = -1;
  report(mt_process_exitcode(g_kept, &code));
}

static int scenario_give_up(void) {
  lsan_off = 1; /* no descriptor left for LeakSanitizer at exit */
  if (atexit(report_kept) != 0) return 10; /* before the library's: runs after it */
  if (pipe(kept_hold) != 0) return 11;
  g_kept = mt_process_new(blocked_child, kept_hold, NULL); /* ends at our EOF */
  if (!g_kept || mt_process_start(g_kept) < 0) return 12;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 13;
  rl.rlim_cur = 64;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return 14;
  while (dup(0) >= 0) {}
  if (errno != EMFILE) return 15;
  exit(0);
}

/* ---- the test side ------------------------------------------------------ */

static const struct {
  const char *name;
  int (*fn)(void);
} scenarios[] = {
    {"exit_starter", scenario_exit_starter},
    {"return_starter", scenario_return_starter},
    {"exit_gate", scenario_exit_gate},
    {"exit_thread_forks", scenario_exit_thread_forks},
    {"coro_exit", scenario_coro_exit},
    {"preexec_blocks", scenario_preexec_blocks},
    {"give_up", scenario_give_up},
    {"signal_exit_start", scenario_signal_exit_start},
    {"signal_exit_double_fork", scenario_signal_exit_double_fork},
    {"signal_exit_popen", scenario_signal_exit_popen},
};

/* For a hung scenario: the state and system call of each of its threads. */
static void dump_tasks(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char f[320], stat[256] = "", sc[128] = "";
    snprintf(f, sizeof f, "/proc/%d/task/%s/stat", (int)pid, e->d_name);
    FILE *fp = fopen(f, "r");
    if (fp) {
      if (!fgets(stat, sizeof stat, fp)) stat[0] = 0;
      fclose(fp);
    }
    snprintf(f, sizeof f, "/proc/%d/task/%s/syscall", (int)pid, e->d_name);
    fp = fopen(f, "r");
    if (fp) {
      if (!fgets(sc, sizeof sc, fp)) sc[0] = 0;
      fclose(fp);
    }
    char *st = strrchr(stat, ')');
    fprintf(stderr, "  task %s: state %.1s, syscall %s", e->d_name, st && st[1] ? st + 2 : "?",
            sc[0] ? sc : "?\n");
  }
  closedir(d);
}

/* Runs a scenario in a fresh process; fails if it is not done within
 * HANG_S.  Returns its exit status; *codes gets what it reported. */
static int run_scenario(const char *name, int *codes, int max, int *n) {
  int rp[2];
  assert_int_equal(pipe2(rp, O_CLOEXEC), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setpgid(0, 0); /* a hung scenario is killed with all its children */
    int w = dup(rp[1]); /* not close-on-exec: the scenario reports on it */
    char fdarg[16];
    snprintf(fdarg, sizeof fdarg, "%d", w);
    execl("/proc/self/exe", "test_process_exit_fork", name, fdarg, (char *)NULL);
    _exit(127);
  }
  close(rp[1]);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  assert_true(pidfd >= 0);
  struct pollfd pf = {.fd = pidfd, .events = POLLIN};
  int r;
  while ((r = poll(&pf, 1, 2 * HANG_S * 1000)) < 0 && errno == EINTR) {}
  close(pidfd);
  if (r == 0) {
    fprintf(stderr, "scenario %s hung; its threads:\n", name);
    dump_tasks(pid);
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(rp[0]);
    fail_msg("scenario %s: the process did not end within %d s (exit hung)", name, 2 * HANG_S);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  /* What it reported is in the pipe (its children may still hold the
   * write end: read what is there, do not wait for EOF). */
  *n = 0;
  while (*n < max) {
    struct pollfd rf = {.fd = rp[0], .events = POLLIN};
    if (poll(&rf, 1, 0) <= 0 || !(rf.revents & POLLIN)) break;
    if (read(rp[0], &codes[*n], sizeof codes[0]) != (ssize_t)sizeof codes[0]) break;
    (*n)++;
  }
  close(rp[0]);
  if (!WIFEXITED(st)) fail_msg("scenario %s: killed by signal %d", name, WTERMSIG(st));
  return WEXITSTATUS(st);
}

static void expect_codes(const char *name, const int *want, int nwant) {
  int got[8], n;
  int st = run_scenario(name, got, 8, &n);
  for (int i = 0; i < n && i < nwant; i++)
    if (got[i] != want[i])
      fail_msg("scenario %s: code %d is %s (%d), expected %s", name, i, mt_err_name(got[i]),
               got[i], mt_err_name(want[i]));
  if (n != nwant) fail_msg("scenario %s: %d codes reported, expected %d", name, n, nwant);
  if (st != 0) fail_msg("scenario %s: exit status %d", name, st);
}

static void test_exit_starter(void **state) {
  (void)state;
  expect_codes("exit_starter", (int[]){MT_ECLOSED}, 1);
}

static void test_return_starter(void **state) {
  (void)state;
  /* the join's result, then the child's exit code (its target returned 7) */
  expect_codes("return_starter", (int[]){0, 7}, 2);
}

static void test_exit_gate(void **state) {
  (void)state;
  /* start, os_fork, double_fork, daemonize, Popen with preexec */
  expect_codes("exit_gate", (int[]){MT_ECLOSED, MT_ECLOSED, MT_ECLOSED, MT_ECLOSED, MT_ECLOSED},
               5);
}

static void test_exit_thread_forks(void **state) {
  (void)state;
  expect_codes("exit_thread_forks", (int[]){0}, 1);
}

static void test_coro_exit(void **state) {
  (void)state;
  expect_codes("coro_exit", (int[]){0}, 1);
}

static void test_preexec_blocks(void **state) {
  (void)state;
  expect_codes("preexec_blocks", (int[]){0}, 1);
}

static void test_give_up(void **state) {
  (void)state;
  expect_codes("give_up", (int[]){MT_ERUNNING}, 1);
}

static void test_signal_exit(void **state) {
  (void)state;
  expect_codes("signal_exit_start", (int[]){1}, 1);
  expect_codes("signal_exit_double_fork", (int[]){1}, 1);
  expect_codes("signal_exit_popen", (int[]){1}, 1);
}

int main(int argc, char **argv) {
  lsan_pid = getpid();
  if (argc == 3) {
    result_fd = atoi(argv[2]);
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
      if (strcmp(argv[1], scenarios[i].name) == 0) return scenarios[i].fn();
    return 99;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exit_thread_forks),
      cmocka_unit_test(test_exit_gate),
      cmocka_unit_test(test_exit_starter),
      cmocka_unit_test(test_return_starter),
      cmocka_unit_test(test_coro_exit),
      cmocka_unit_test(test_preexec_blocks),
      cmocka_unit_test(test_give_up),
      cmocka_unit_test(test_signal_exit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
