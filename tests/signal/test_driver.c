/* test_driver.c - drives examples/signal/driver_conductor.c with signals,
 * as a terminal would (to the whole process group) and with kill to one
 * process, and checks the transcript line by line.  Each step waits for
 * the line it causes: no sleeps. */
#include "mt_test.h"

#include <signal.h>

#ifndef DRIVER_BIN
#error DRIVER_BIN must name the driver_conductor program
#endif

static FILE *out;

static char *next_line(char *buf, size_t n) {
  if (!fgets(buf, (int)n, out)) return NULL;
  buf[strcspn(buf, "\n")] = 0;
  return buf;
}

static void expect(const char *want) {
  char buf[256];
  char *got = next_line(buf, sizeof buf);
  if (!got) fail_msg("expected \"%s\", got end of output", want);
  if (strcmp(got, want) != 0) fail_msg("expected \"%s\", got \"%s\"", want, got);
}

static int expect_pid(const char *prefix) {
  char buf[256];
  char *got = next_line(buf, sizeof buf);
  if (!got) fail_msg("expected \"%s...\", got end of output", prefix);
  size_t n = strlen(prefix);
  if (strncmp(got, prefix, n) != 0) fail_msg("expected \"%s...\", got \"%s\"", prefix, got);
  return atoi(got + n);
}

static void test_trip(void **s) {
  (void)s;
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setpgid(0, 0); /* a group of its own, as a terminal job */
    dup2(fds[1], 1);
    execl(DRIVER_BIN, DRIVER_BIN, (char *)NULL);
    _exit(127);
  }
  setpgid(pid, pid); /* whichever runs first */
  close(fds[1]);
  out = fdopen(fds[0], "r");
  assert_non_null(out);

  assert_int_equal(expect_pid("司机上车 (pid "), pid);
  int cpid = expect_pid("售票员上车 (pid ");
  assert_true(cpid > 0 && cpid != pid);
  /* Ctrl-C to the whole group: only the conductor reacts */
  assert_int_equal(killpg(pid, SIGINT), 0);
  expect("老司机开车了");
  /* Ctrl-\ to the whole group */
  assert_int_equal(killpg(pid, SIGQUIT), 0);
  expect("系好安全带，小心甩出去");
  /* kill -INT to the conductor alone */
  assert_int_equal(kill(cpid, SIGINT), 0);
  expect("老司机开车了");
  /* Ctrl-Z to the whole group: only the driver reacts; the conductor gets
   * off first, then the driver */
  assert_int_equal(killpg(pid, SIGTSTP), 0);
  expect("到站了，下车吧");
  expect("售票员下车");
  expect("司机下车");
  char buf[64];
  assert_null(next_line(buf, sizeof buf)); /* nothing else */
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_int_equal(kill(cpid, 0), -1); /* the conductor is gone (reaped) */
  fclose(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_trip)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
