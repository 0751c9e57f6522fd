/* Threads and processes: daemon semantics at exit (a child program whose
 * main returns while threads run) and the registry after fork. */
#include "mt_test.h"
#include "tflag.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void run_child(const char *variant, char *out, size_t n) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execl(DAEMON_CHILD, DAEMON_CHILD, variant, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  size_t got = 0;
  ssize_t r;
  while (got < n - 1 && (r = read(p[0], out + got, n - 1 - got)) > 0) got += (size_t)r;
  out[got] = 0;
  close(p[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

static void non_daemon_holds_exit(void **state) {
  (void)state;
  char out[512];
  run_child("1", out, sizeof out);
  assert_string_equal(out, "main thread\nstart fun\nmain thread end\nend fun\n");
}

static void daemon_does_not_hold_exit(void **state) {
  (void)state;
  char out[512];
  run_child("2", out, sizeof out);
  assert_string_equal(out, "main thread\nstart fun\nmain thread end\n");
}

static void mixed(void **state) {
  (void)state;
  char out[512];
  run_child("3", out, sizeof out);
  /* the two threads' first lines may come in either order */
  assert_true(strcmp(out, "main thread\nstart fun\nstart foo\nmain thread end\nend foo\n") == 0 ||
              strcmp(out, "main thread\nstart foo\nstart fun\nmain thread end\nend foo\n") == 0);
}

static void *wait_flag(void *arg) {
  flag_wait(arg, MT_FOREVER);
  return NULL;
}

/* Forking from a non-main thread while others run: in the child only the
 * forking thread is left, and it is the main thread. */
static void *fork_from_thread(void *arg) {
  mt_thread_t *other = arg;
  mt_thread_t *me = mt_thread_current();
  pid_t pid = fork();
  if (pid == 0) {
    int bad = 0;
    mt_thread_t *all[8];
    if (mt_thread_active_count() != 1) bad |= 1;
    int k = mt_thread_enumerate(all, 8);
    if (k != 1 || all[0] != me) bad |= 2;
    for (int i = 0; i < k && i < 8; i++) mt_thread_free(all[i]);
    if (mt_thread_main() != me || mt_thread_current() != me) bad |= 4;
    if (mt_thread_is_alive(other) != 0) bad |= 8;
    if (mt_thread_join(other, MT_FOREVER, NULL) != 0) bad |= 16;
    if (mt_thread_native_id(me) != getpid()) bad |= 32;
    /* threads work in the child */
    tflag_t f = {0};
    mt_thread_t *t = mt_thread_spawn(wait_flag, &f, NULL);
    if (!t || mt_thread_active_count() != 2) bad |= 64;
    flag_set(&f);
    if (mt_thread_join(t, MT_FOREVER, NULL) != 0) bad |= 64;
    mt_thread_free(t);
    _exit(bad);
  }
  int status = -1;
  waitpid(pid, &status, 0);
  return (void *)(intptr_t)status;
}

static tflag_t other_up;
static void *up_then_wait(void *arg) {
  flag_set(&other_up);
  flag_wait(arg, MT_FOREVER);
  return NULL;
}

static void registry_after_fork(void **state) {
  (void)state;
  tflag_t f = {0};
  /* a daemon: if an assertion below fails, exit does not wait for it (it
   * waits for f; under TSan the child's failure hung the test until its
   * timeout) */
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.daemon = true;
  o.daemon_set = true;
  mt_thread_t *other = mt_thread_spawn(up_then_wait, &f, &o);
  flag_wait(&other_up, MT_FOREVER); /* ASan: no thread mid-setup at fork */
  mt_thread_t *forker = mt_thread_spawn(fork_from_thread, other, NULL);
  void *st;
  assert_code(mt_thread_join(forker, MT_FOREVER, &st), 0);
  int status = (int)(intptr_t)st;
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  /* the parent is untouched */
  assert_int_equal(mt_thread_is_alive(other), 1);
  assert_ptr_equal(mt_thread_main(), mt_thread_current());
  flag_set(&f);
  assert_code(mt_thread_join(other, MT_FOREVER, NULL), 0);
  mt_thread_free(other);
  mt_thread_free(forker);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(non_daemon_holds_exit),
      cmocka_unit_test(daemon_does_not_hold_exit),
      cmocka_unit_test(mixed),
      cmocka_unit_test(registry_after_fork),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
