/* Process: exit codes, join with a deadline, terminate/kill, daemons (also
 * when the parent is SIGKILLed), module functions, error paths, no zombies. */
#include "mt_test.h"

#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gate.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Counts the children (zombies included) of every thread of this process. */
static int count_children(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[320], buf[4096];
    snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    while (fscanf(f, "%4095s", buf) == 1) n++;
    fclose(f);
  }
  if (d) closedir(d);
  return n;
}

static int pidfd_of(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/* 1 when the process behind pidfd ended within `secs`. */
static int ended_within(int pidfd, int secs) {
  struct pollfd p = {.fd = pidfd, .events = POLLIN};
  return poll(&p, 1, secs * 1000) == 1;
}

static int ret_n(void *arg) { return (int)(intptr_t)arg; }
static int call_exit(void *arg) { exit((int)(intptr_t)arg); }
static int self_kill(void *arg) {
  (void)arg;
  raise(SIGKILL);
  return 0;
}
static int segfault(void *arg) {
  (void)arg;
  signal(SIGSEGV, SIG_DFL); /* no sanitizer handler: the default action */
  raise(SIGSEGV);
  return 0;
}
static int wait_gate(void *arg) {
  gate_wait(arg);
  return 0;
}

static int run_and_code(int (*fn)(void *), void *arg) {
  mt_process_t *p = mt_process_new(fn, arg, NULL);
  assert_non_null(p);
  assert_code(mt_process_start(p), 0);
  assert_code(mt_process_join(p, MT_FOREVER), 0);
  int code = 12345;
  assert_code(mt_process_exitcode(p, &code), 0);
  assert_code(mt_process_is_alive(p), 0);
  mt_process_free(p);
  return code;
}

static void test_exitcodes(void **state) {
  (void)state;
  assert_int_equal(run_and_code(ret_n, (void *)0), 0);
  assert_int_equal(run_and_code(ret_n, (void *)7), 7);
  assert_int_equal(run_and_code(call_exit, (void *)3), 3);
  assert_int_equal(run_and_code(self_kill, NULL), -SIGKILL);
  assert_int_equal(run_and_code(segfault, NULL), -SIGSEGV);
}

static void test_join_timeout_and_terminate(void **state) {
  (void)state;
  gate_t g;
  gate_init(&g);
  mt_process_t *p = mt_process_new(wait_gate, &g, NULL);
  assert_code(mt_process_start(p), 0);
  assert_true(mt_process_pid(p) > 0);
  int code;
  assert_code(mt_process_exitcode(p, &code), MT_ERUNNING); /* Python: None */
  double t0 = now();
  assert_code(mt_process_join(p, 0.2), MT_ETIMEDOUT);
  assert_true(now() - t0 >= 0.2);
  assert_code(mt_process_join(p, 0), MT_ETIMEDOUT);
  assert_code(mt_process_is_alive(p), 1);
  assert_code(mt_process_close(p), MT_EBUSY);
  assert_code(mt_process_terminate(p), 0);
  assert_code(mt_process_join(p, MT_FOREVER), 0);
  assert_code(mt_process_is_alive(p), 0);
  assert_code(mt_process_exitcode(p, &code), 0);
  assert_int_equal(code, -SIGTERM);
  assert_code(mt_process_terminate(p), 0); /* ended: nothing to do */
  assert_code(mt_process_kill(p), 0);
  assert_code(mt_process_close(p), 0);
  assert_code(mt_process_is_alive(p), 0);
  mt_process_free(p);
  gate_open(&g);

  gate_init(&g);
  p = mt_process_new(wait_gate, &g, NULL);
  assert_code(mt_process_start(p), 0);
  assert_code(mt_process_kill(p), 0);
  assert_code(mt_process_join(p, 10), 0);
  assert_code(mt_process_exitcode(p, &code), 0);
  assert_int_equal(code, -SIGKILL);
  mt_process_free(p);
  gate_open(&g);
}

static void test_wait_any(void **state) {
  (void)state;
  gate_t g;
  gate_init(&g);
  mt_process_t *ps[3];
  ps[0] = mt_process_new(wait_gate, &g, NULL);
  ps[1] = NULL; /* skipped */
  ps[2] = mt_process_new(wait_gate, &g, NULL);
  assert_code(mt_process_wait_any(ps, 3, 0), MT_ENOTSTARTED);
  assert_code(mt_process_start(ps[0]), 0);
  assert_code(mt_process_start(ps[2]), 0);
  double t0 = now();
  assert_code(mt_process_wait_any(ps, 3, 0.1), MT_ETIMEDOUT);
  assert_true(now() - t0 >= 0.1);
  assert_code(mt_process_kill(ps[2]), 0);
  assert_code(mt_process_wait_any(ps, 3, MT_FOREVER), 2);
  assert_code(mt_process_is_alive(ps[0]), 1);
  gate_open(&g);
  assert_code(mt_process_wait_any(ps, 1, MT_FOREVER), 0);
  assert_code(mt_process_wait_any(ps, -1, 0), MT_EINVAL);
  assert_code(mt_process_wait_any(ps, 3, -5), MT_EINVAL);
  mt_process_opts_t unsized = {.name = "x"}; /* written without MT_PROCESS_OPTS_INIT */
  errno = 0;
  assert_null(mt_process_new(ret_n, NULL, &unsized));
  assert_int_equal(errno, EINVAL);
  mt_process_free(ps[0]);
  mt_process_free(ps[2]);
}

static void test_errors(void **state) {
  (void)state;
  assert_null(mt_process_new(NULL, NULL, NULL));
  assert_int_equal(errno, EINVAL);
  mt_process_run_t bad = {NULL};
  assert_null(mt_process_new_run(&bad, NULL));
  mt_process_t *p = mt_process_new(ret_n, NULL, NULL);
  int code;
  assert_code(mt_process_join(p, 1), MT_ENOTSTARTED);
  assert_code(mt_process_join(p, -2), MT_EINVAL);
  assert_code(mt_process_exitcode(p, &code), MT_ENOTSTARTED);
  assert_code(mt_process_terminate(p), MT_ENOTSTARTED);
  assert_code(mt_process_sentinel(p), MT_ENOTSTARTED);
  assert_code(mt_process_is_alive(p), 0);
  assert_code(mt_process_set_daemon(p, true), 0);
  assert_code(mt_process_set_daemon(p, false), 0);
  assert_code(mt_process_set_name(p, "renamed"), 0);
  assert_string_equal(mt_process_name(p), "renamed");
  assert_code(mt_process_start(p), 0);
  assert_code(mt_process_start(p), MT_ESTARTED);
  assert_code(mt_process_set_daemon(p, true), MT_ESTARTED);
  assert_code(mt_process_set_name(p, "x"), MT_ESTARTED);
  assert_true(mt_process_sentinel(p) >= 0);
  assert_code(mt_process_join(p, MT_FOREVER), 0);
  mt_process_free(p);
  assert_code(mt_process_join(NULL, 1), MT_EINVAL);
  assert_code(mt_process_is_alive(NULL), MT_EINVAL);
  assert_code(mt_process_exitcode(NULL, &code), MT_EINVAL);
  assert_code(mt_process_terminate(NULL), MT_EINVAL);
  assert_code(mt_process_start(NULL), MT_EINVAL);
  assert_code(mt_process_join(mt_process_current(), 0), MT_EDEADLK);
  assert_code(mt_process_active_children(NULL, 3), MT_EINVAL);
  mt_process_free(NULL);
}

/* ---- module functions, subclass style, isolation ------------------------ */

static int global_counter = 1;

struct probe {
  mt_process_run_t base;
  pid_t parent;
  const char *name;
};

static int probe_run(mt_process_run_t *self) {
  struct probe *pr = (struct probe *)self;
  global_counter = 99; /* the parent's copy must not change */
  mt_process_t *me = mt_process_current();
  if (mt_process_pid(me) != getpid()) return 1;
  if (strcmp(mt_process_name(me), pr->name) != 0) return 2;
  mt_process_t *parent = mt_process_parent();
  if (!parent || mt_process_pid(parent) != pr->parent) return 3;
  if (mt_process_is_alive(parent) != 1) return 4;
  if (mt_process_join(parent, 0.01) != MT_ETIMEDOUT) return 5;
  if (mt_process_is_alive(me) != 1) return 6;
  if (mt_process_join(me, 0) != MT_EDEADLK) return 7;
  return 0;
}

static void test_module_functions(void **state) {
  (void)state;
  assert_string_equal(mt_process_name(mt_process_current()), "MainProcess");
  assert_int_equal(mt_process_pid(mt_process_current()), getpid());
  assert_null(mt_process_parent());
  assert_true(mt_cpu_count() >= 1);

  struct probe pr = {{probe_run}, getpid(), "prober"};
  mt_process_opts_t o = MT_PROCESS_OPTS_INIT;
  o.name = "prober";
  mt_process_t *p = mt_process_new_run(&pr.base, &o);
  assert_code(mt_process_start(p), 0);
  assert_code(mt_process_join(p, MT_FOREVER), 0);
  int code;
  assert_code(mt_process_exitcode(p, &code), 0);
  assert_int_equal(code, 0);
  assert_int_equal(global_counter, 1);
  mt_process_free(p);

  p = mt_process_new(ret_n, NULL, NULL);
  assert_memory_equal(mt_process_name(p), "Process-", 8);
  mt_process_free(p);
}

static void test_active_children_and_detach(void **state) {
  (void)state;
  gate_t g;
  gate_init(&g);
  mt_process_t *ps[3];
  for (int i = 0; i < 3; i++) {
    ps[i] = mt_process_new(wait_gate, &g, NULL);
    assert_code(mt_process_start(ps[i]), 0);
  }
  mt_process_t *out[8];
  assert_int_equal(mt_process_active_children(out, 8), 3);
  assert_int_equal(mt_process_active_children(NULL, 0), 3);
  mt_process_free(ps[2]); /* freed while running: the library owns it */
  assert_int_equal(mt_process_active_children(out, 8), 2);
  int pfd = pidfd_of(mt_process_pid(ps[0]));
  gate_open(&g);
  assert_true(ended_within(pfd, 10));
  close(pfd);
  assert_code(mt_process_join(ps[0], MT_FOREVER), 0);
  assert_code(mt_process_join(ps[1], MT_FOREVER), 0);
  /* the detached one is reaped by active_children once it ended */
  while (count_children() > 0) assert_int_equal(mt_process_active_children(out, 8), 0);
  assert_int_equal(mt_process_active_children(out, 8), 0);
  mt_process_free(ps[0]);
  mt_process_free(ps[1]);
}

/* ---- many processes ------------------------------------------------------- */

static void test_many(void **state) {
  (void)state;
  int n = (int)mt_test_scaled(100, 10);
  mt_process_t **ps = calloc((size_t)n, sizeof *ps);
  for (int i = 0; i < n; i++) {
    ps[i] = mt_process_new(ret_n, (void *)(intptr_t)(i % 256), NULL);
    assert_code(mt_process_start(ps[i]), 0);
  }
  for (int i = 0; i < n; i++) {
    int code;
    assert_code(mt_process_join(ps[i], MT_FOREVER), 0);
    assert_code(mt_process_exitcode(ps[i], &code), 0);
    assert_int_equal(code, i % 256);
    mt_process_free(ps[i]);
  }
  free(ps);
}

/* ---- daemons ---------------------------------------------------------------- */

struct family {
  gate_t hold;     /* keeps the daemon (and the middle process) blocked */
  int report[2];   /* the middle process writes the daemon's pid here */
  bool from_thread; /* start the daemon from a non-main thread */
  bool stay;       /* middle process blocks instead of returning */
};

static int daemon_body(void *arg) {
  struct family *f = arg;
  gate_wait(&f->hold);
  return 0;
}

static void *start_daemon_thread(void *arg) {
  struct family *f = arg;
  mt_process_opts_t o = MT_PROCESS_OPTS_INIT;
  o.daemon = true;
  mt_process_t *d = mt_process_new(daemon_body, f, &o);
  if (mt_process_start(d) != 0) return NULL;
  return d;
}

static int middle(void *arg) {
  struct family *f = arg;
  mt_process_t *d;
  if (f->from_thread) {
    pthread_t t;
    pthread_create(&t, NULL, start_daemon_thread, f);
    void *r;
    pthread_join(t, &r); /* the starting thread is gone now */
    d = r;
  } else {
    d = start_daemon_thread(f);
  }
  if (!d) return 1;
  pid_t pid = mt_process_pid(d);
  if (write(f->report[1], &pid, sizeof pid) != sizeof pid) return 2;
  if (f->stay) gate_wait(&f->hold);
  return 0; /* exit: the library terminates the daemon */
}

static pid_t run_family(struct family *f, mt_process_t **mid) {
  gate_init(&f->hold);
  assert_int_equal(pipe(f->report), 0);
  *mid = mt_process_new(middle, f, NULL);
  assert_code(mt_process_start(*mid), 0);
  pid_t dpid = 0;
  assert_int_equal(read(f->report[0], &dpid, sizeof dpid), sizeof dpid);
  close(f->report[0]);
  close(f->report[1]);
  return dpid;
}

static void check_parent_killed(bool from_thread) {
  struct family f = {.from_thread = from_thread, .stay = true};
  mt_process_t *mid;
  pid_t dpid = run_family(&f, &mid);
  int dfd = pidfd_of(dpid);
  assert_true(dfd >= 0);
  assert_false(ended_within(dfd, 0));
  assert_code(mt_process_kill(mid), 0);
  assert_code(mt_process_join(mid, MT_FOREVER), 0);
  assert_true(ended_within(dfd, 20)); /* the daemon died with its parent */
  close(dfd);
  gate_open(&f.hold);
  mt_process_free(mid);
}

static void test_daemon_dies_with_killed_parent(void **state) {
  (void)state;
  check_parent_killed(false);
  check_parent_killed(true);
}

static void test_daemon_terminated_at_exit(void **state) {
  (void)state;
  struct family f = {.from_thread = false, .stay = false};
  mt_process_t *mid;
  pid_t dpid = run_family(&f, &mid);
  /* The middle process returns at once, so the daemon may already be
   * terminated and reaped before we look: ESRCH is that same outcome. */
  int dfd = pidfd_of(dpid);
  assert_true(dfd >= 0 || errno == ESRCH);
  assert_code(mt_process_join(mid, MT_FOREVER), 0);
  if (dfd >= 0) {
    assert_true(ended_within(dfd, 0)); /* the middle process joined it */
    close(dfd);
  }
  int code;
  assert_code(mt_process_exitcode(mid, &code), 0);
  assert_int_equal(code, 0);
  gate_open(&f.hold);
  mt_process_free(mid);
}

/* A non-daemon child holds its parent's exit (Python joins them). */
static int parent_of_blocked(void *arg) {
  gate_t *g = arg;
  mt_process_t *c = mt_process_new(wait_gate, g, NULL);
  int r = mt_process_start(c);
  close(g->w); /* only the test may hold the gate shut */
  return r == 0 ? 0 : 1;
}

static void test_exit_joins_children(void **state) {
  (void)state;
  gate_t g;
  gate_init(&g);
  mt_process_t *p = mt_process_new(parent_of_blocked, &g, NULL);
  assert_code(mt_process_start(p), 0);
  assert_code(mt_process_join(p, 0.2), MT_ETIMEDOUT);
  gate_open(&g);
  assert_code(mt_process_join(p, MT_FOREVER), 0);
  int code;
  assert_code(mt_process_exitcode(p, &code), 0);
  assert_int_equal(code, 0);
  mt_process_free(p);
}

/* Output buffered before start is written once, not again by the child
 * (which flushes stdout/stderr as it returns, and here a FILE of its own):
 * start flushes first.  With only the standard streams open the library
 * looks at stdout/stderr alone; with another FILE open it flushes every
 * stream.  Runs in a forked helper, which points fd 1 at a file. */
static int flush_child(void *arg) {
  if (arg) fflush(arg); /* the child's copy of the user's FILE */
  return 0;
}

static int file_is(const char *path, const char *want) {
  char buf[64] = {0};
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  return n == strlen(want) && memcmp(buf, want, n) == 0;
}

static void test_buffered_output_once(void **state) {
  (void)state;
  char out[] = "/tmp/mt_flush_out_XXXXXX", user[] = "/tmp/mt_flush_user_XXXXXX";
  int ofd = mkstemp(out), ufd = mkstemp(user);
  assert_true(ofd >= 0 && ufd >= 0);
  close(ufd);
  fflush(NULL);
  pid_t h = fork();
  assert_true(h >= 0);
  if (h == 0) {
    int bad = 0;
    dup2(ofd, 1);
    printf("once"); /* no newline: buffered, line-buffered or not */
    mt_process_t *p = mt_process_new(flush_child, NULL, NULL);
    if (mt_process_start(p) != 0 || mt_process_join(p, 30) != 0) bad |= 1;
    mt_process_free(p);
    fflush(stdout);
    if (!file_is(out, "once")) bad |= 2;
    FILE *f = fopen(user, "w");
    fputs("user", f);
    p = mt_process_new(flush_child, f, NULL);
    if (mt_process_start(p) != 0 || mt_process_join(p, 30) != 0) bad |= 4;
    mt_process_free(p);
    fclose(f);
    if (!file_is(user, "user")) bad |= 8;
    _exit(bad);
  }
  int st = 0;
  assert_int_equal(waitpid(h, &st, 0), h);
  close(ofd);
  unlink(out);
  unlink(user);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_no_zombies(void **state) {
  (void)state;
  mt_process_active_children(NULL, 0);
  assert_int_equal(count_children(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exitcodes),
      cmocka_unit_test(test_join_timeout_and_terminate),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_wait_any),
      cmocka_unit_test(test_module_functions),
      cmocka_unit_test(test_active_children_and_detach),
      cmocka_unit_test(test_many),
      cmocka_unit_test(test_daemon_dies_with_killed_parent),
      cmocka_unit_test(test_daemon_terminated_at_exit),
      cmocka_unit_test(test_exit_joins_children),
      cmocka_unit_test(test_no_zombies),
      cmocka_unit_test(test_buffered_output_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
