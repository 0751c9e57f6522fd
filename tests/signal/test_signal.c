/* test_signal.c - mt_signal_*: handlers in normal context on the
 * dispatcher, SIG_DFL/SIG_IGN, getsignal, raise/kill, alarm replacement,
 * pause, setitimer, sigwait with a timeout, the table, fork. */
#include "mt_test.h"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>

struct rec {
  mt_lock_t *lock;
  mt_sem_t *sem;
  long count;
  int last_sig;
  pid_t tid;
  char *heap;
};

static void handler(int sig, void *arg) {
  struct rec *r = arg;
  char *p = malloc(64); /* allocate and lock: normal context */
  snprintf(p, 64, "got %d", sig);
  assert_int_equal(mt_lock_acquire(r->lock, MT_FOREVER), 0);
  r->count++;
  r->last_sig = sig;
  r->tid = (pid_t)syscall(SYS_gettid);
  free(r->heap);
  r->heap = p;
  mt_lock_release(r->lock);
  mt_sem_release(r->sem, 1);
}

static void rec_init(struct rec *r) {
  memset(r, 0, sizeof *r);
  r->lock = mt_lock_new(0);
  r->sem = mt_sem_new(0, 0);
  assert_non_null(r->lock);
  assert_non_null(r->sem);
}
/* Handlers run one at a time on the dispatcher: once a later handler has
 * run (raise_signal returns after it), an earlier one has returned too, so
 * nothing it touches (its semaphore) is still in use. */
static void noop(int sig, void *arg) {
  (void)sig;
  (void)arg;
}
static void quiesce(void) {
  assert_code(mt_signal_signal(SIGURG, noop, NULL), 0);
  assert_code(mt_signal_raise_signal(SIGURG), 0);
  assert_code(mt_signal_signal(SIGURG, MT_SIG_DFL, NULL), 0);
}

/* The handler's count, read under its lock: a periodic timer's next tick
 * can run the handler while we read it. */
static long rec_count(struct rec *r) {
  assert_int_equal(mt_lock_acquire(r->lock, MT_FOREVER), 0);
  long n = r->count;
  mt_lock_release(r->lock);
  return n;
}

static void rec_done(struct rec *r) {
  quiesce();
  mt_lock_free(r->lock);
  mt_sem_free(r->sem);
  free(r->heap);
}

static void test_raise_runs_handler_on_dispatcher(void **s) {
  (void)s;
  struct rec r;
  rec_init(&r);
  assert_code(mt_signal_signal(SIGUSR1, handler, &r), 0);
  assert_code(mt_signal_raise_signal(SIGUSR1), 0);
  /* raise_signal returns after the handler ran */
  assert_int_equal(r.count, 1);
  assert_int_equal(r.last_sig, SIGUSR1);
  assert_string_equal(r.heap, "got 10");
  assert_int_not_equal(r.tid, (pid_t)syscall(SYS_gettid));
  mt_signal_handler_t h;
  void *a;
  assert_code(mt_signal_getsignal(SIGUSR1, &h, &a), 0);
  assert_true(h == handler);
  assert_ptr_equal(a, &r);
  assert_code(mt_signal_signal(SIGUSR1, MT_SIG_DFL, NULL), 0);
  assert_code(mt_signal_getsignal(SIGUSR1, &h, &a), 0);
  assert_true(h == MT_SIG_DFL);
  rec_done(&r);
}

/* A signal sent by another thread of the process. */
static void *killer(void *arg) {
  (void)arg;
  mt_signal_kill(getpid(), SIGUSR2);
  return NULL;
}

/* kill from this process, many round trips, counted exactly. */
static void test_kill_round_trips(void **s) {
  (void)s;
  struct rec r;
  rec_init(&r);
  assert_code(mt_signal_signal(SIGUSR2, handler, &r), 0);
  long n = mt_test_scaled(2000, 20);
  for (long i = 0; i < n; i++) {
    assert_code(mt_signal_kill(getpid(), SIGUSR2), 0);
    assert_code(mt_sem_acquire(r.sem, 10.0), 0);
  }
  assert_int_equal(r.count, n);
  pthread_t t;
  pthread_create(&t, NULL, killer, NULL);
  assert_code(mt_sem_acquire(r.sem, 10.0), 0);
  pthread_join(t, NULL);
  assert_int_equal(r.count, n + 1);
  assert_code(mt_signal_signal(SIGUSR2, MT_SIG_DFL, NULL), 0);
  rec_done(&r);
}

static void test_ignore_and_other(void **s) {
  (void)s;
  mt_signal_handler_t h;
  assert_code(mt_signal_signal(SIGUSR2, MT_SIG_IGN, NULL), 0);
  assert_code(mt_signal_raise_signal(SIGUSR2), 0); /* ignored: still alive */
  assert_code(mt_signal_getsignal(SIGUSR2, &h, NULL), 0);
  assert_true(h == MT_SIG_IGN);
  assert_code(mt_signal_signal(SIGUSR2, MT_SIG_DFL, NULL), 0);
}

static void foreign(int sig) { (void)sig; }

static void test_getsignal_foreign(void **s) {
  (void)s;
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = foreign;
  sigaction(SIGWINCH, &sa, &old);
  mt_signal_handler_t h = NULL;
  assert_code(mt_signal_getsignal(SIGWINCH, &h, NULL), 0);
  assert_true(h == MT_SIG_OTHER);
  sigaction(SIGWINCH, &old, NULL);
}

static void test_bad_input(void **s) {
  (void)s;
  struct rec r;
  mt_signal_handler_t h;
  assert_code(mt_signal_signal(SIGKILL, handler, &r), MT_EINVAL);
  assert_code(mt_signal_signal(SIGSTOP, MT_SIG_IGN, NULL), MT_EINVAL);
  assert_code(mt_signal_signal(0, handler, &r), MT_EINVAL);
  assert_code(mt_signal_signal(65, handler, &r), MT_EINVAL);
  assert_code(mt_signal_signal(32, handler, &r), MT_EINVAL);
  assert_code(mt_signal_signal(SIGSEGV, handler, &r), MT_EINVAL);
  assert_code(mt_signal_signal(SIGUSR1, MT_SIG_OTHER, NULL), MT_EINVAL);
  assert_code(mt_signal_getsignal(99, &h, NULL), MT_EINVAL);
  assert_code(mt_signal_getsignal(SIGINT, NULL, NULL), MT_EINVAL);
  assert_code(mt_signal_kill(getpid(), 77), MT_EINVAL);
  assert_code(mt_signal_raise_signal(0), MT_EINVAL);
  assert_code(mt_signal_pause(-2), MT_EINVAL);
  assert_code(mt_signal_sigwait(NULL, 0), MT_EINVAL);
  assert_code(mt_signal_setitimer(ITIMER_REAL, -1, 0, NULL, NULL), MT_EINVAL);
  assert_code(mt_signal_pthread_sigmask(99, NULL, NULL), MT_EINVAL);
  /* no such process: pid_max is at most 2^22 */
  assert_code(mt_signal_kill(4194304 + 7, 0), MT_ESRCH);
}

static void test_table(void **s) {
  (void)s;
  assert_string_equal(mt_signal_name(SIGINT), "SIGINT");
  assert_string_equal(mt_signal_name(SIGTSTP), "SIGTSTP");
  assert_string_equal(mt_signal_name(SIGRTMIN), "SIGRTMIN");
  assert_string_equal(mt_signal_name(SIGRTMIN + 1), "SIGRTMIN+1");
  assert_string_equal(mt_signal_name(SIGRTMAX - 1), "SIGRTMAX-1");
  assert_string_equal(mt_signal_name(SIGRTMAX), "SIGRTMAX");
  assert_null(mt_signal_name(0));
  assert_null(mt_signal_name(33));
  assert_int_equal(mt_signal_from_name("SIGQUIT"), SIGQUIT);
  assert_int_equal(mt_signal_from_name("ALRM"), SIGALRM);
  assert_int_equal(mt_signal_from_name("9"), SIGKILL);
  assert_int_equal(mt_signal_from_name("SIGRTMIN+2"), SIGRTMIN + 2);
  assert_int_equal(mt_signal_from_name("NOPE"), MT_EINVAL);
  assert_int_equal(mt_signal_from_name(NULL), MT_EINVAL);
  assert_string_equal(mt_signal_strsignal(SIGINT), "Interrupt");
  assert_string_equal(mt_signal_default_action(SIGCHLD), "Ign");
  assert_string_equal(mt_signal_default_action(SIGQUIT), "Core");
  assert_string_equal(mt_signal_default_action(SIGTSTP), "Stop");
  assert_string_equal(mt_signal_default_action(SIGCONT), "Cont");
  assert_string_equal(mt_signal_default_action(SIGHUP), "Term");
  int valid = 0;
  for (int i = 0; i < 70; i++) valid += mt_signal_is_valid(i);
  assert_int_equal(valid, 31 + (SIGRTMAX - SIGRTMIN + 1));
}

/* The notes: one alarm per process; a second replaces the first and the
 * call returns the seconds that were left. */
static void test_alarm_replace(void **s) {
  (void)s;
  assert_int_equal(mt_signal_alarm(100), 0);
  unsigned left = mt_signal_alarm(50);
  assert_true(left >= 99 && left <= 100);
  left = mt_signal_alarm(0);
  assert_true(left >= 49 && left <= 50);
  assert_int_equal(mt_signal_alarm(0), 0);
}

/* alarm + pause: pause returns once the SIGALRM handler has run. */
static void test_alarm_pause(void **s) {
  (void)s;
  struct rec r;
  rec_init(&r);
  assert_code(mt_signal_signal(SIGALRM, handler, &r), 0);
  assert_code(mt_signal_pause(0), MT_ETIMEDOUT);
  assert_int_equal(mt_signal_alarm(1), 0);
  assert_code(mt_signal_pause(10.0), 0);
  assert_int_equal(r.count, 1);
  assert_int_equal(r.last_sig, SIGALRM);
  /* setitimer: 20 ms, then pause sees the handler */
  double ov = -1, oi = -1;
  assert_code(mt_signal_setitimer(ITIMER_REAL, 0.02, 0, &ov, &oi), 0);
  assert_true(ov == 0 && oi == 0);
  assert_code(mt_signal_pause(10.0), 0);
  assert_int_equal(r.count, 2);
  double v, iv;
  assert_code(mt_signal_getitimer(ITIMER_REAL, &v, &iv), 0);
  assert_true(v == 0 && iv == 0);
  /* periodic: three ticks, then disarm (the ticks go on while we look:
   * the count is read under the handler's lock) */
  assert_code(mt_signal_setitimer(ITIMER_REAL, 0.01, 0.01, NULL, NULL), 0);
  while (rec_count(&r) < 5) assert_code(mt_signal_pause(10.0), 0);
  assert_code(mt_signal_setitimer(ITIMER_REAL, 0, 0, NULL, NULL), 0);
  assert_code(mt_signal_signal(SIGALRM, MT_SIG_DFL, NULL), 0);
  rec_done(&r);
}

static void pause_in_handler(int sig, void *arg) {
  (void)sig;
  *(int *)arg = mt_signal_pause(0);
}

static void test_pause_in_handler(void **s) {
  (void)s;
  int got = 1;
  assert_code(mt_signal_signal(SIGUSR1, pause_in_handler, &got), 0);
  assert_code(mt_signal_raise_signal(SIGUSR1), 0);
  assert_int_equal(got, MT_EDEADLK);
  assert_code(mt_signal_signal(SIGUSR1, MT_SIG_DFL, NULL), 0);
}

static void test_sigwait_timeout(void **s) {
  (void)s;
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  assert_code(mt_signal_pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  assert_code(mt_signal_sigwait(&set, 0), MT_ETIMEDOUT);
  assert_code(mt_signal_sigwait(&set, 0.02), MT_ETIMEDOUT);
  assert_code(mt_signal_raise_signal(SIGUSR2), 0); /* pending on this thread */
  assert_int_equal(mt_signal_sigwait(&set, 5.0), SIGUSR2);
  assert_code(mt_signal_sigwait(&set, 0), MT_ETIMEDOUT);
  assert_code(mt_signal_pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

/* A handler registered before fork runs in the child, on the child's
 * dispatcher, and a signal in the child never runs the parent's. */
static struct rec fork_rec;
static int child_fn(void) {
  if (mt_signal_raise_signal(SIGUSR1) != 0) return 10;
  if (fork_rec.count != 1) return 11;
  if (mt_signal_kill(getpid(), SIGUSR1) != 0) return 12;
  if (mt_sem_acquire(fork_rec.sem, 10.0) != 0) return 13; /* 1 from raise */
  if (mt_sem_acquire(fork_rec.sem, 10.0) != 0) return 14;
  if (fork_rec.count != 2) return 15;
  return 0;
}

static void test_fork_child(void **s) {
  (void)s;
  rec_init(&fork_rec);
  assert_code(mt_signal_signal(SIGUSR1, handler, &fork_rec), 0);
  assert_int_equal(mt_test_run_child(child_fn), 0);
  assert_int_equal(fork_rec.count, 0); /* the child's signals stayed there */
  assert_code(mt_signal_raise_signal(SIGUSR1), 0);
  assert_int_equal(fork_rec.count, 1);
  assert_code(mt_signal_signal(SIGUSR1, MT_SIG_DFL, NULL), 0);
  rec_done(&fork_rec);
}

/* SIG_DFL really is the default: a child raising SIGTERM dies of it. */
static int dfl_child(void) {
  mt_signal_signal(SIGTERM, MT_SIG_DFL, NULL);
  mt_signal_raise_signal(SIGTERM);
  return 3;
}

static void test_default_kills(void **s) {
  (void)s;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(dfl_child());
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGTERM);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_raise_runs_handler_on_dispatcher),
      cmocka_unit_test(test_kill_round_trips),
      cmocka_unit_test(test_ignore_and_other),
      cmocka_unit_test(test_getsignal_foreign),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_alarm_replace),
      cmocka_unit_test(test_alarm_pause),
      cmocka_unit_test(test_pause_in_handler),
      cmocka_unit_test(test_sigwait_timeout),
      cmocka_unit_test(test_fork_child),
      cmocka_unit_test(test_default_kills),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
