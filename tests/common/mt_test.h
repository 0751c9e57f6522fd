/* mt_test.h - what every cmocka test of multitask includes. */
#ifndef MT_TEST_H
#define MT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <multitask.h>

/* Stress sizes are multiplied by MT_TEST_SCALE (1 plain, ~0.02 under the
 * sanitizers, larger in `make stress`).  Never returns less than `min`. */
static inline long mt_test_scaled(long n, long min) {
  const char *s = getenv("MT_TEST_SCALE");
  double f = s ? atof(s) : 1.0;
  if (f <= 0) f = 1.0;
  long v = (long)((double)n * f);
  return v < min ? min : v;
}

/* Asserts that an int call returned the expected code, naming both. */
#define assert_code(expr, code)                                                \
  do {                                                                         \
    int mt__got = (expr);                                                      \
    if (mt__got != (code))                                                     \
      fail_msg("%s returned %s (%d), expected %s", #expr,                      \
               mt_err_name(mt__got), mt__got, mt_err_name(code));              \
  } while (0)

/* The state letter of thread `tid` of this process from /proc ('R', 'S',
 * ...; '?' when it is gone): lets a test wait until another thread is
 * asleep inside a call, instead of sleeping. */
static inline char mt_test_task_state(int32_t tid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return '?';
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return '?';
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  return p && p[1] && p[2] ? p[2] : '?';
}

/* The system call thread `tid` of this process sits in, from /proc (-1
 * when it runs or /proc cannot say, e.g. under qemu). */
static inline long mt_test_task_syscall(int32_t tid) {
  char path[64], buf[128];
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0 || buf[0] < '0' || buf[0] > '9') return -1;
  buf[n] = 0;
  return strtol(buf, NULL, 10);
}

/* This process's resident set in KiB (VmRSS), -1 if unreadable. */
static inline long mt_test_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

/* Children of this process in state Z (zombies), read from /proc. */
static inline int mt_test_zombies(void) {
  DIR *d = opendir("/proc");
  if (!d) return -1;
  struct dirent *e;
  int n = 0;
  char path[300], buf[512];
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t k = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (k <= 0) continue;
    buf[k] = 0;
    char *p = strrchr(buf, ')');
    char st;
    int ppid;
    if (p && sscanf(p + 2, "%c %d", &st, &ppid) == 2 && ppid == getpid() && st == 'Z') n++;
  }
  closedir(d);
  return n;
}

/* Runs fn in a forked child, which exits with fn's result; returns that
 * exit status (asserts the child exited normally). */
static inline int mt_test_run_child(int (*fn)(void)) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(fn());
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

#endif
