/* A child of fork starts with no kernel sleepers counted (src/wait/wait.c):
 * a thread of the parent asleep in the kernel on a private word at fork
 * time does not exist in the child, and its count must not make every wake
 * of that word in the child call the kernel.  Before the reset the child
 * counted 1000 kernel calls for 1000 wakes of a word nobody sleeps on. */
#include "mt_test.h"
#include "wait/wait.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static uint32_t word; /* the thread sleeps until it is 1 */
static pid_t sleeper_tid;

static void *sleeper(void *arg) {
  (void)arg;
  __atomic_store_n(&sleeper_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
  while (!__atomic_load_n(&word, __ATOMIC_ACQUIRE)) mt__wait_word(&word, 0, false, MT__NO_DEADLINE);
  return NULL;
}

/* The system call thread tid sits in, -1 if running or unknown. */
static void child_counts_no_sleeper(void **state) {
  (void)state;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, sleeper, NULL), 0);
  pid_t tid;
  while (!(tid = __atomic_load_n(&sleeper_tid, __ATOMIC_ACQUIRE))) sched_yield();
  /* wait on the thread itself: asleep in futex (or, where /proc cannot
   * say, sleeping for a good while) */
  for (long i = 0;; i++) {
    long nr = mt_test_task_syscall(tid);
    if (mt_test_task_state(tid) == 'S' && (nr == SYS_futex || (nr < 0 && i > 1000))) break;
    if (i > 2000000) fail_msg("the thread never slept in the kernel (syscall %ld)", nr);
    sched_yield();
  }
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    unsigned long k0 = mt__wake_word_syscalls();
    for (int i = 0; i < 1000; i++) mt__wake_word(&word, 1, false); /* nobody sleeps on it here */
    unsigned long k = mt__wake_word_syscalls() - k0;
    if (k != 0) fprintf(stderr, "child: %lu of 1000 wakes called the kernel\n", k);
    _exit(k == 0 ? 0 : 1);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  __atomic_store_n(&word, 1, __ATOMIC_RELEASE);
  mt__wake_word(&word, INT32_MAX, false); /* the parent's sleeper is counted: woken */
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(child_counts_no_sleeper)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
