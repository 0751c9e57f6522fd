/* test_subprocess.c - Popen, communicate, wait/poll, signals, run and
 * check_output; exec errors from the constructor; the child's descriptors;
 * no zombie after any path. */
#include "mt_test.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

static const char *self_exe;


/* Descriptors open in this process. */
static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n - 3; /* ., .. and the directory's own */
}

static void test_exec_errors(void **s) {
  (void)s;
  int fds0 = count_fds();
  const char *missing[] = {"/nonexistent/prog", NULL};
  errno = 0;
  assert_null(mt_popen_new(missing, NULL));
  assert_int_equal(errno, ENOENT);
  const char *nopath[] = {"no-such-program-mt", NULL};
  assert_null(mt_popen_new(nopath, NULL));
  assert_int_equal(errno, ENOENT);
  const char *notexec[] = {"/etc/passwd", NULL};
  assert_null(mt_popen_new(notexec, NULL));
  assert_int_equal(errno, EACCES);
  const char *tr[] = {"true", NULL};
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.cwd = "/nonexistent-dir";
  assert_null(mt_popen_new(tr, &o));
  assert_int_equal(errno, ENOENT);
  o.cwd = NULL;
  o.stdout_fd = MT_SUBPROCESS_PIPE;
  o.stdin_fd = MT_SUBPROCESS_STDOUT;
  assert_null(mt_popen_new(tr, &o));
  assert_int_equal(errno, EINVAL);
  mt_popen_opts_t bad = {0};
  assert_null(mt_popen_new(tr, &bad));
  assert_int_equal(errno, EINVAL);
  assert_null(mt_popen_new(NULL, NULL));
  assert_int_equal(mt_test_zombies(), 0);
  assert_int_equal(count_fds(), fds0);
}

static int preexec_refuses(void *arg) {
  (void)arg;
  return 1;
}

static void test_preexec(void **s) {
  (void)s;
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.preexec_fn = preexec_refuses;
  const char *tr[] = {"true", NULL};
  assert_null(mt_popen_new(tr, &o));
  assert_int_equal(errno, ECANCELED);
  const char *missing[] = {"/nonexistent/prog", NULL};
  assert_null(mt_popen_new(missing, &o));
  assert_int_equal(errno, ECANCELED); /* the hook runs before exec */
  o.preexec_fn = NULL;
  assert_int_equal(mt_test_zombies(), 0);
}

static void test_returncode_and_signals(void **s) {
  (void)s;
  const char *f[] = {"sh", "-c", "exit 7", NULL};
  mt_popen_t *p = mt_popen_new(f, NULL);
  assert_non_null(p);
  int rc = 99;
  assert_code(mt_popen_wait(p, 10.0, &rc), 0);
  assert_int_equal(rc, 7);
  assert_code(mt_popen_returncode(p, &rc), 0);
  assert_code(mt_popen_poll(p, &rc), 0);
  assert_code(mt_popen_terminate(p), 0); /* ended: nothing to do */
  mt_popen_free(p);

  const char *cat[] = {"cat", NULL};
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.stdin_fd = MT_SUBPROCESS_PIPE;
  p = mt_popen_new(cat, &o);
  assert_non_null(p);
  assert_code(mt_popen_poll(p, &rc), MT_ERUNNING);
  assert_code(mt_popen_returncode(p, &rc), MT_ERUNNING);
  assert_code(mt_popen_wait(p, 0, &rc), MT_ETIMEDOUT);
  assert_code(mt_popen_wait(p, 0.02, &rc), MT_ETIMEDOUT);
  assert_code(mt_popen_send_signal(p, SIGUSR1), 0);
  assert_code(mt_popen_wait(p, 10.0, &rc), 0);
  assert_int_equal(rc, -SIGUSR1);
  mt_popen_free(p);

  p = mt_popen_new(cat, &o);
  assert_code(mt_popen_kill(p), 0);
  assert_code(mt_popen_wait(p, 10.0, &rc), 0);
  assert_int_equal(rc, -SIGKILL);
  mt_popen_free(p);
  assert_int_equal(mt_test_zombies(), 0);
}

/* The notes' Popen + communicate, with sort instead of nslookup. */
static void test_communicate_sort(void **s) {
  (void)s;
  const char *sort[] = {"sort", NULL};
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.stdin_fd = o.stdout_fd = o.stderr_fd = MT_SUBPROCESS_PIPE;
  mt_popen_t *p = mt_popen_new(sort, &o);
  assert_non_null(p);
  const char in[] = "pear\napple\nfig\n";
  char *out, *err;
  size_t ol, el;
  assert_code(mt_popen_communicate(p, in, strlen(in), 10.0, &out, &ol, &err, &el), 0);
  assert_string_equal(out, "apple\nfig\npear\n");
  assert_int_equal(ol, 15);
  assert_int_equal(el, 0);
  assert_string_equal(err, "");
  int rc;
  assert_code(mt_popen_returncode(p, &rc), 0);
  assert_int_equal(rc, 0);
  free(out);
  free(err);
  mt_popen_free(p);

  /* stderr = STDOUT, shell string */
  mt_popen_opts_t o2 = MT_POPEN_OPTS_INIT;
  o2.stdout_fd = MT_SUBPROCESS_PIPE;
  o2.stderr_fd = MT_SUBPROCESS_STDOUT;
  p = mt_popen_new_shell("echo out; echo err >&2", &o2);
  assert_non_null(p);
  assert_code(mt_popen_communicate(p, NULL, 0, 10.0, &out, &ol, &err, &el), 0);
  assert_string_equal(out, "out\nerr\n");
  assert_null(err);
  free(out);
  mt_popen_free(p);
}

/* A timeout keeps the child running and the data read so far; the next
 * call continues, with the rest of the input. */
static void test_communicate_timeout_again(void **s) {
  (void)s;
  int gate[2];
  assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
  char cmd[200];
  /* Reads 1000 bytes, echoes them, blocks on the gate, then copies the rest. */
  snprintf(cmd, sizeof cmd, "head -c 1000; read x <&%d; echo \"$x\"; cat", gate[0]);
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.stdin_fd = o.stdout_fd = MT_SUBPROCESS_PIPE;
  o.pass_fds = &gate[0];
  o.n_pass_fds = 1;
  mt_popen_t *p = mt_popen_new_shell(cmd, &o);
  assert_non_null(p);
  size_t n = (size_t)mt_test_scaled(4 << 20, 200000);
  char *in = malloc(n);
  for (size_t i = 0; i < n; i++) in[i] = (char)('a' + i % 26);
  char *out = NULL;
  size_t ol = 0;
  assert_code(mt_popen_communicate(p, in, n, 0.2, &out, &ol, NULL, NULL), MT_ETIMEDOUT);
  assert_null(out);
  assert_code(mt_popen_poll(p, NULL), MT_ERUNNING); /* still running */
  /* new input after the start is refused */
  assert_code(mt_popen_communicate(p, "x", 1, 0, &out, &ol, NULL, NULL), MT_EINVAL);
  assert_int_equal(write(gate[1], "go\n", 3), 3);
  assert_code(mt_popen_communicate(p, NULL, 0, 30.0, &out, &ol, NULL, NULL), 0);
  assert_int_equal(ol, n + 3);
  assert_memory_equal(out, in, 1000);
  assert_memory_equal(out + 1000, "go\n", 3);
  assert_memory_equal(out + 1003, in + 1000, n - 1000);
  free(out);
  free(in);
  mt_popen_free(p);
  close(gate[0]);
  close(gate[1]);
}

/* 100 MB each way at once (scaled): no deadlock. */
static void test_communicate_big(void **s) {
  (void)s;
  size_t n = (size_t)mt_test_scaled(100L << 20, 1 << 20);
  char *in = malloc(n);
  for (size_t i = 0; i < n; i++) in[i] = (char)(i * 7 + i / 4096);
  const char *cat[] = {"cat", NULL};
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.stdin_fd = o.stdout_fd = MT_SUBPROCESS_PIPE;
  mt_popen_t *p = mt_popen_new(cat, &o);
  char *out;
  size_t ol;
  assert_code(mt_popen_communicate(p, in, n, 60.0, &out, &ol, NULL, NULL), 0);
  assert_int_equal(ol, n);
  assert_true(memcmp(out, in, n) == 0);
  free(out);
  free(in);
  mt_popen_free(p);
}

/* The child has 0-2 and the pass_fds, nothing else (close_fds). */
static void test_child_fds(void **s) {
  (void)s;
  int leak1 = open("/dev/null", O_RDONLY); /* inheritable on purpose */
  int leak2 = dup(1);
  int keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(leak1 > 2 && leak2 > 2 && keep > 2);
  const char *argv[] = {self_exe, "--list-fds", NULL};
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.stdout_fd = MT_SUBPROCESS_PIPE;
  o.pass_fds = &keep;
  o.n_pass_fds = 1;
  char *out;
  assert_code(mt_subprocess_check_output(argv, &o, 10.0, &out, NULL, NULL), 0);
  char want[64];
  snprintf(want, sizeof want, "0 1 2 %d\n", keep);
  assert_string_equal(out, want);
  free(out);
  /* close_fds=false: the inheritable ones stay too */
  o.close_fds = false;
  o.n_pass_fds = 0;
  assert_code(mt_subprocess_check_output(argv, &o, 10.0, &out, NULL, NULL), 0);
  char w1[16], w2[16]; /* (and whatever this test process inherited) */
  snprintf(w1, sizeof w1, " %d ", leak1);
  snprintf(w2, sizeof w2, " %d", leak2);
  assert_non_null(strstr(out, w1));
  assert_non_null(strstr(out, w2));
  free(out);
  close(leak1);
  close(leak2);
  close(keep);
}

static void test_options(void **s) {
  (void)s;
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.cwd = "/tmp";
  o.umask = 027;
  o.start_new_session = true;
  char *env[] = {"MT_X=hello", "PATH=/usr/bin:/bin", NULL};
  o.env = env;
  const char *argv[] = {"sh", "-c", "pwd; umask; echo $MT_X; ps -o sid= -p $$ | tr -d ' '; echo $$", NULL};
  mt_subprocess_run_opts_t ro = MT_SUBPROCESS_RUN_OPTS_INIT;
  ro.capture_output = true;
  mt_subprocess_result_t res;
  int r = mt_subprocess_run(argv, &o, &ro, &res);
  assert_code(r, 0);
  char want[128];
  int sid, pid;
  char cwd[64], um[16], x[16];
  assert_int_equal(sscanf(res.stdout_data, "%63s %15s %15s %d %d", cwd, um, x, &sid, &pid), 5);
  assert_string_equal(cwd, "/tmp");
  assert_string_equal(um, "0027");
  assert_string_equal(x, "hello");
  assert_int_equal(sid, pid); /* leader of a new session */
  (void)want;
  mt_subprocess_result_clear(&res);
  /* process_group 0: a group of its own, not a session */
  mt_popen_opts_t g = MT_POPEN_OPTS_INIT;
  g.process_group = 0;
  const char *pg[] = {"sh", "-c", "ps -o pgid= -p $$ | tr -d ' '; echo $$", NULL};
  ro.capture_output = true;
  assert_code(mt_subprocess_run(pg, &g, &ro, &res), 0);
  int pgid;
  assert_int_equal(sscanf(res.stdout_data, "%d %d", &pgid, &pid), 2);
  assert_int_equal(pgid, pid);
  mt_subprocess_result_clear(&res);
  /* DEVNULL and a descriptor */
  int pp[2];
  assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
  mt_popen_opts_t d = MT_POPEN_OPTS_INIT;
  d.stdin_fd = MT_SUBPROCESS_DEVNULL;
  d.stdout_fd = pp[1];
  const char *cat[] = {"cat", NULL};
  mt_popen_t *p = mt_popen_new(cat, &d);
  assert_non_null(p);
  assert_code(mt_popen_wait(p, 10.0, NULL), 0);
  mt_popen_free(p);
  close(pp[1]);
  char b[8];
  assert_int_equal(read(pp[0], b, sizeof b), 0); /* /dev/null gave nothing */
  close(pp[0]);
}

/* pty: the child's 0-2 are a terminal, and its controlling one. */
static void test_pty(void **s) {
  (void)s;
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.pty = true;
  const char *argv[] = {"sh", "-c",
                        "test -t 0 && test -t 1 && test -t 2 && echo all-ttys; "
                        "echo via-ctty > /dev/tty; tty",
                        NULL};
  mt_popen_t *p = mt_popen_new(argv, &o);
  assert_non_null(p);
  assert_true(mt_popen_stdout(p) >= 0);
  char *out;
  size_t n;
  assert_code(mt_popen_communicate(p, NULL, 0, 10.0, &out, &n, NULL, NULL), 0);
  assert_non_null(strstr(out, "all-ttys\r\n"));
  assert_non_null(strstr(out, "via-ctty\r\n"));
  assert_non_null(strstr(out, "/dev/pts/"));
  int rc;
  assert_code(mt_popen_returncode(p, &rc), 0);
  assert_int_equal(rc, 0);
  free(out);
  mt_popen_free(p);
  /* input goes through the terminal (echoed, as a terminal does) */
  const char *cat[] = {"sh", "-c", "read x; echo got:$x", NULL};
  p = mt_popen_new(cat, &o);
  assert_non_null(p);
  assert_code(mt_popen_communicate(p, "hi\n", 3, 10.0, &out, &n, NULL, NULL), 0);
  assert_non_null(strstr(out, "got:hi\r\n"));
  free(out);
  mt_popen_free(p);
}

/* PIPE is a pipe(2) as in Python (the child sees a FIFO on stdin and
 * stdout), not a socketpair (what it was after issue 13 moved connection
 * ends to sockets, until 2026-11-30). */
static void test_pipes_are_fifos(void **s) {
  (void)s;
  const char *argv[] = {"sh", "-c", "cat >/dev/null; test -p /dev/stdin && test -p /dev/stdout && echo fifo", NULL};
  mt_subprocess_run_opts_t ro = MT_SUBPROCESS_RUN_OPTS_INIT;
  ro.capture_output = true;
  ro.input = "x";
  ro.input_len = 1;
  mt_subprocess_result_t res;
  assert_code(mt_subprocess_run(argv, NULL, &ro, &res), 0);
  assert_int_equal(res.returncode, 0);
  assert_string_equal(res.stdout_data, "fifo\n");
  mt_subprocess_result_clear(&res);
}

static void test_run(void **s) {
  (void)s;
  mt_subprocess_run_opts_t ro = MT_SUBPROCESS_RUN_OPTS_INIT;
  mt_subprocess_result_t res;
  const char *bc[] = {"sh", "-c", "read a; read b; echo $((a * b)); echo note >&2", NULL};
  ro.input = "6\n7\n";
  ro.input_len = 4;
  ro.capture_output = true;
  assert_code(mt_subprocess_run(bc, NULL, &ro, &res), 0);
  assert_string_equal(res.stdout_data, "42\n");
  assert_string_equal(res.stderr_data, "note\n");
  assert_int_equal(res.returncode, 0);
  mt_subprocess_result_clear(&res);
  /* check */
  const char *f[] = {"sh", "-c", "echo partial; exit 3", NULL};
  mt_subprocess_run_opts_t rc = MT_SUBPROCESS_RUN_OPTS_INIT;
  rc.check = true;
  rc.capture_output = true;
  assert_code(mt_subprocess_run(f, NULL, &rc, &res), MT_ETASKFAILED);
  assert_int_equal(res.returncode, 3);
  assert_string_equal(res.stdout_data, "partial\n");
  mt_subprocess_result_clear(&res);
  char *out;
  int code;
  assert_code(mt_subprocess_check_output(f, NULL, 10.0, &out, NULL, &code), MT_ETASKFAILED);
  assert_int_equal(code, 3);
  free(out);
  const char *missing[] = {"no-such-program-mt", NULL};
  assert_code(mt_subprocess_run(missing, NULL, NULL, &res), MT_ENOENT);
  /* timeout: killed and reaped, what was read kept */
  const char *slow[] = {"sh", "-c", "echo started; exec cat", NULL};
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  int hold[2];
  assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
  o.stdin_fd = hold[0]; /* never written, never closed: cat blocks */
  mt_subprocess_run_opts_t rt = MT_SUBPROCESS_RUN_OPTS_INIT;
  rt.timeout = 0.3;
  rt.capture_output = true;
  assert_code(mt_subprocess_run(slow, &o, &rt, &res), MT_ETIMEDOUT);
  assert_int_equal(res.returncode, -SIGKILL);
  assert_string_equal(res.stdout_data, "started\n");
  mt_subprocess_result_clear(&res);
  close(hold[0]);
  close(hold[1]);
  assert_int_equal(mt_test_zombies(), 0);
}

/* Freed while running: the library reaps it when it ends (no zombie). */
static void test_free_running(void **s) {
  (void)s;
  const char *cat[] = {"cat", NULL};
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.stdin_fd = MT_SUBPROCESS_PIPE;
  mt_popen_t *p = mt_popen_new(cat, &o);
  assert_non_null(p);
  pid_t pid = mt_popen_pid(p);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* before free: pid not reaped yet */
  assert_true(pidfd >= 0);
  mt_popen_free(p); /* closes stdin: cat ends by itself */
  /* Wait for the thing itself: the pidfd is readable once cat has exited;
   * waitid(P_PIDFD, WNOWAIT) then sees it until the library's reaper takes
   * it (ECHILD), which the reaper does as soon as the same pidfd wakes it. */
  struct pollfd pf = {.fd = pidfd, .events = POLLIN};
  assert_int_equal(poll(&pf, 1, -1), 1);
  siginfo_t si;
  while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOWAIT) == 0) sched_yield();
  assert_int_equal(errno, ECHILD);
  close(pidfd);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d", (int)pid);
  struct stat st;
  assert_int_not_equal(stat(path, &st), 0);
  assert_int_equal(mt_test_zombies(), 0);
}

static int list_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int fds[64], n = 0;
  while ((e = readdir(d)) && n < 64) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd != dirfd(d)) fds[n++] = fd;
  }
  closedir(d);
  for (int i = 0; i < n; i++) /* sort */
    for (int j = i + 1; j < n; j++)
      if (fds[j] < fds[i]) {
        int t = fds[i];
        fds[i] = fds[j];
        fds[j] = t;
      }
  for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", fds[i]);
  printf("\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--list-fds") == 0) return list_fds();
  self_exe = "/proc/self/exe";
  static char exe[4096];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (k > 0) {
    exe[k] = 0;
    self_exe = exe;
  }
  int fds0 = count_fds();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exec_errors),
      cmocka_unit_test(test_preexec),
      cmocka_unit_test(test_returncode_and_signals),
      cmocka_unit_test(test_communicate_sort),
      cmocka_unit_test(test_communicate_timeout_again),
      cmocka_unit_test(test_communicate_big),
      cmocka_unit_test(test_child_fds),
      cmocka_unit_test(test_options),
      cmocka_unit_test(test_pty),
      cmocka_unit_test(test_run),
      cmocka_unit_test(test_pipes_are_fifos),
      cmocka_unit_test(test_free_running),
  };
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  int fds1 = count_fds();
  if (fds1 != fds0 + 1) { /* + the reaper thread's eventfd (test_free_running) */
    fprintf(stderr, "descriptors leaked: %d before, %d after\n", fds0, fds1);
    return 1;
  }
  return r;
}
