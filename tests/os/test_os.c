/* test_os.c - mt_os_fork (returns twice, registered, joinable with a
 * timeout), exit vs mt_os_exit, waitpid (given child, WNOHANG, timeout),
 * wait for any child without reaping owned ones, double fork, daemonize
 * (pid file lock refuses a second instance), and no zombies. */
#include "mt_test.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>


/* Waits until process pid (not necessarily a child) has ended. */
static void wait_gone(pid_t pid) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  assert_int_equal(poll(&p, 1, 10000), 1);
  close(fd);
}

static void test_fork_returns_twice(void **s) {
  (void)s;
  int gate[2];
  assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
  mt_process_t *child = NULL;
  pid_t pid = mt_os_fork(&child, NULL);
  assert_true(pid >= 0);
  if (pid == 0) {
    char c;
    if (read(gate[0], &c, 1) != 1) _exit(90);
    if (mt_process_parent() == NULL) _exit(91);
    if (mt_process_pid(mt_process_current()) != getpid()) _exit(92);
    exit(5); /* a normal exit */
  }
  assert_non_null(child);
  assert_int_equal(mt_process_pid(child), pid);
  assert_code(mt_process_join(child, 0.05), MT_ETIMEDOUT);
  assert_int_equal(mt_process_is_alive(child), 1);
  assert_code(mt_os_waitpid(pid, WNOHANG, MT_FOREVER, NULL), 0);
  assert_int_equal(write(gate[1], "x", 1), 1);
  assert_code(mt_process_join(child, 10.0), 0);
  int code;
  assert_code(mt_process_exitcode(child, &code), 0);
  assert_int_equal(code, 5);
  mt_process_free(child);
  close(gate[0]);
  close(gate[1]);
  assert_int_equal(mt_test_zombies(), 0);
}

/* The notes' exit.py: exit() flushes stdio and runs atexit handlers,
 * os._exit does neither. */
static int atexit_fd = -1;
static void on_exit_hook(void) { (void)!write(atexit_fd, "[atexit]", 8); }

static void run_exit_child(bool underscore, char *got, size_t cap) {
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  mt_process_t *child;
  pid_t pid = mt_os_fork(&child, NULL);
  if (pid == 0) {
    close(p[0]);
    atexit_fd = p[1];
    atexit(on_exit_hook);
    FILE *f = fdopen(dup(p[1]), "w");
    setvbuf(f, NULL, _IOFBF, 4096);
    fputs("[buffered]", f); /* still in the FILE buffer */
    if (underscore) mt_os_exit(0);
    exit(0);
  }
  close(p[1]);
  size_t n = 0;
  ssize_t k;
  while ((k = read(p[0], got + n, cap - 1 - n)) > 0) n += (size_t)k;
  got[n] = 0;
  close(p[0]);
  assert_code(mt_process_join(child, 10.0), 0);
  mt_process_free(child);
}

static void test_exit_vs_underscore_exit(void **s) {
  (void)s;
  char got[64];
  run_exit_child(false, got, sizeof got);
  assert_string_equal(got, "[atexit][buffered]");
  run_exit_child(true, got, sizeof got);
  assert_string_equal(got, "");
}

static void test_waitpid_given(void **s) {
  (void)s;
  int gate[2];
  assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
  pid_t pid = fork(); /* a raw fork: nobody owns it */
  if (pid == 0) {
    char c;
    _exit(read(gate[0], &c, 1) == 1 ? 9 : 1);
  }
  int st = -1;
  assert_int_equal(mt_os_waitpid(pid, WNOHANG, MT_FOREVER, &st), 0);
  assert_int_equal(mt_os_waitpid(pid, 0, 0.05, &st), MT_ETIMEDOUT);
  assert_int_equal(write(gate[1], "x", 1), 1);
  assert_int_equal(mt_os_waitpid(pid, 0, 10.0, &st), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 9);
  assert_int_equal(mt_os_waitstatus_to_exitcode(st), 9);
  assert_int_equal(mt_os_waitpid(pid, 0, 1.0, &st), MT_ECHILD); /* reaped */
  assert_int_equal(mt_os_waitpid(1, 0, 0, &st), MT_ECHILD);     /* not ours */
  assert_int_equal(mt_os_waitpid(0, 0, 0, &st), MT_EINVAL);
  /* killed by a signal */
  pid = fork();
  if (pid == 0) {
    char c;
    (void)!read(gate[0], &c, 1);
    _exit(0);
  }
  kill(pid, SIGKILL);
  assert_int_equal(mt_os_waitpid(pid, 0, 10.0, &st), pid);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(mt_os_waitstatus_to_exitcode(st), -SIGKILL);
  close(gate[0]);
  close(gate[1]);
}

/* waitpid on a registered child reaps it into its object. */
static void test_waitpid_registered(void **s) {
  (void)s;
  mt_process_t *child;
  pid_t pid = mt_os_fork(&child, NULL);
  if (pid == 0) exit(4);
  int st;
  assert_int_equal(mt_os_waitpid(pid, 0, 10.0, &st), pid);
  assert_int_equal(WEXITSTATUS(st), 4);
  int code;
  assert_code(mt_process_exitcode(child, &code), 0); /* not ECHILD */
  assert_int_equal(code, 4);
  assert_code(mt_process_join(child, 0), 0);
  mt_process_free(child);
}

static int ret7(void *a) {
  (void)a;
  return 7;
}

/* wait() for any child: returns the unowned one, never steals a Process's
 * or a Popen's child (their exit codes stay right). */
static void test_wait_any_skips_owned(void **s) {
  (void)s;
  mt_process_t *proc = mt_process_new(ret7, NULL, NULL);
  assert_code(mt_process_start(proc), 0);
  const char *argv[] = {"sh", "-c", "exit 6", NULL};
  mt_popen_t *pop = mt_popen_new(argv, NULL);
  assert_non_null(pop);
  /* both end (zombies now, unreaped): wait on their descriptors */
  struct pollfd pf = {.fd = mt_process_sentinel(proc), .events = POLLIN};
  assert_int_equal(poll(&pf, 1, 10000), 1);
  wait_gone(mt_popen_pid(pop));
  int st;
  assert_int_equal(mt_os_wait(0, &st), MT_ECHILD); /* only owned children */
  pid_t raw = fork();
  if (raw == 0) _exit(3);
  assert_int_equal(mt_os_wait(10.0, &st), raw);
  assert_int_equal(WEXITSTATUS(st), 3);
  assert_int_equal(mt_os_wait(0, &st), MT_ECHILD);
  assert_int_equal(mt_os_waitpid(-1, WNOHANG, 0, &st), MT_ECHILD);
  int code;
  assert_code(mt_process_exitcode(proc, &code), 0);
  assert_int_equal(code, 7);
  assert_code(mt_popen_wait(pop, 10.0, &code), 0);
  assert_int_equal(code, 6);
  mt_process_free(proc);
  mt_popen_free(pop);
  /* a running unowned child: wait blocks until it ends; WNOHANG gives 0 */
  int gate[2];
  assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
  raw = fork();
  if (raw == 0) {
    char c;
    _exit(read(gate[0], &c, 1) == 1 ? 8 : 1);
  }
  assert_int_equal(mt_os_waitpid(-1, WNOHANG, 0, &st), 0);
  assert_int_equal(mt_os_wait(0.05, &st), MT_ETIMEDOUT);
  assert_int_equal(write(gate[1], "x", 1), 1);
  assert_int_equal(mt_os_wait(10.0, &st), raw);
  assert_int_equal(WEXITSTATUS(st), 8);
  close(gate[0]);
  close(gate[1]);
  assert_int_equal(mt_test_zombies(), 0);
}

static void test_double_fork(void **s) {
  (void)s;
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  pid_t g = mt_os_double_fork();
  if (g == 0) {
    int ppid = getppid(); /* the adopter: init or a subreaper */
    (void)!write(p[1], &ppid, sizeof ppid);
    _exit(0);
  }
  assert_true(g > 0);
  int ppid = 0;
  assert_int_equal(read(p[0], &ppid, sizeof ppid), (ssize_t)sizeof ppid);
  assert_true(ppid != getpid());
  assert_true(ppid > 0);
  wait_gone(g);
  assert_int_equal(mt_os_wait(0, NULL), MT_ECHILD); /* the middle child reaped */
  assert_int_equal(mt_test_zombies(), 0);
  close(p[0]);
  close(p[1]);
}

static void test_daemonize(void **s) {
  (void)s;
  char dir[] = "/tmp/mt_daemon_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char pidfile[128], out[128];
  snprintf(pidfile, sizeof pidfile, "%s/d.pid", dir);
  snprintf(out, sizeof out, "%s/d.out", dir);
  int gate[2];
  assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
  int leak = open("/dev/null", O_RDONLY); /* inheritable: must be closed */
  mt_daemon_opts_t o = MT_DAEMON_OPTS_INIT;
  o.pidfile = pidfile;
  o.stdout_path = out;
  o.umask = 022;
  o.keep_fds = &gate[0];
  o.n_keep_fds = 1;
  o.parent_exits = false;
  pid_t d = mt_os_daemonize(&o);
  if (d == 0) {
    char cwd[64];
    (void)!getcwd(cwd, sizeof cwd);
    struct stat st;
    printf("sid=%d pid=%d pgid=%d cwd=%s leak_open=%d\n", (int)getsid(0), (int)getpid(),
           (int)getpgrp(), cwd, fstat(leak, &st) == 0);
    fflush(stdout);
    char c;
    (void)!read(gate[0], &c, 1); /* runs until the test closes the gate */
    _exit(0);
  }
  assert_true(d > 0);
  close(leak);
  /* the pid file holds the daemon's pid */
  char buf[256];
  FILE *f = fopen(pidfile, "r");
  assert_non_null(f);
  int fpid = 0;
  assert_int_equal(fscanf(f, "%d", &fpid), 1);
  fclose(f);
  assert_int_equal(fpid, d);
  /* a second instance refuses while the first holds the lock */
  o.n_keep_fds = 0;
  assert_int_equal(mt_os_daemonize(&o), MT_EBUSY);
  close(gate[1]); /* let the daemon end */
  wait_gone(d);
  f = fopen(out, "r");
  assert_non_null(f);
  assert_non_null(fgets(buf, sizeof buf, f));
  fclose(f);
  int sid, pid, pgid, leak_open;
  char cwd[64];
  assert_int_equal(sscanf(buf, "sid=%d pid=%d pgid=%d cwd=%63s leak_open=%d", &sid, &pid, &pgid,
                          cwd, &leak_open), 5);
  assert_int_equal(pid, d);
  assert_true(sid != pid); /* not a session leader: cannot get a terminal */
  assert_string_equal(cwd, "/");
  assert_int_equal(leak_open, 0);
  close(gate[0]);
  unlink(pidfile);
  unlink(out);
  rmdir(dir);
  assert_int_equal(mt_test_zombies(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fork_returns_twice),
      cmocka_unit_test(test_exit_vs_underscore_exit),
      cmocka_unit_test(test_waitpid_given),
      cmocka_unit_test(test_waitpid_registered),
      cmocka_unit_test(test_wait_any_skips_owned),
      cmocka_unit_test(test_double_fork),
      cmocka_unit_test(test_daemonize),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
