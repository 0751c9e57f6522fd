/* A child forked while other threads allocate through the library must be
 * able to allocate (src/core/mem.c, the fork gate).  The C library's malloc
 * guarantees it; GCC 12's AddressSanitizer allocator does not, and pool
 * workers forked by the manager thread while the manager read a reply hung
 * in the CI's ASan run.  Two threads allocate and free sizes from 16 bytes
 * to 64 KiB while the main
 * thread forks; each child allocates every size class and exits.  A child
 * still running after 20 s is stuck on a lock it inherited.  The second
 * case forks while library threads keep ending (and detaching): an ending
 * thread hands its allocator cache back to ASan from a key destructor,
 * outside any allocation call, so the gate alone does not cover it.  The
 * third forks right after starting a thread, as a program that sets a
 * signal handler (the dispatcher thread) and then starts a Process does: a
 * new thread allocates inside the sanitizer before it runs our code (the
 * CI's signal_driver hung so), so mt__thread_create waits for it. */
#include "mt_test.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "core/core.h"
#include "platform/clock.h"

static atomic_bool stop;

static void *churn(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  void *held[8] = {0};
  for (unsigned long i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
    seed = seed * 1103515245u + 12345u;
    size_t n = (size_t)16 << (seed >> 16) % 13; /* 16 B .. 64 KiB */
    int k = (int)(i % 8);
    mt__free(held[k]);
    held[k] = mt__malloc(n);
  }
  for (int k = 0; k < 8; k++) mt__free(held[k]);
  return NULL;
}

/* A short library thread: allocates a little, frees its slot, ends. */
static mt_sem_t *slots; /* bounds the short threads alive at once */

static void *short_life(void *arg) {
  (void)arg;
  for (size_t n = 16; n <= 4096; n *= 2) mt__free(mt__malloc(n));
  mt_sem_release(slots, 1);
  return NULL;
}

/* Starts short threads, at most 8 alive, until told to stop: churner 1
 * forgets them (they detach), churner 2 joins them. */
static void *thread_churn(void *arg) {
  bool join = (uintptr_t)arg == 2;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    if (mt_sem_acquire(slots, 1.0) != 0) continue; /* re-checks stop */
    mt_thread_t *t = mt_thread_new(short_life, NULL, NULL);
    if (!t || mt_thread_start(t) != 0) abort();
    if (join && mt_thread_join(t, MT_FOREVER, NULL) != 0) abort();
    mt_thread_free(t);
  }
  return NULL;
}

static void child_allocates(void) {
  for (int round = 0; round < 4; round++)
    for (size_t n = 16; n <= ((size_t)256 << 10); n *= 2) {
      void *p = mt__malloc(n);
      if (!p) _exit(2);
      memset(p, 1, n < 64 ? n : 64);
      mt__free(p);
    }
  _exit(0);
}

/* Forks `forks` times while `churner` runs on two threads; 0 or the number
 * of the fork whose child got stuck. */
static long fork_while(void *(*churner)(void *), long forks) {
  pthread_t t[2];
  atomic_store(&stop, false);
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&t[i], NULL, churner, (void *)(uintptr_t)(i + 1)), 0);
  (void)mt__fork_generation(); /* installs the library's fork handlers */
  long stuck = 0;
  int64_t t0 = mt__now_ns();
  for (long i = 0; i < forks && !stuck; i++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) child_allocates();
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    assert_true(fd >= 0);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, 20000) == 0) { /* the child's exit or 20 s */
      stuck = i + 1;
      kill(pid, SIGKILL);
    }
    close(fd);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!stuck) {
      assert_true(WIFEXITED(st));
      assert_int_equal(WEXITSTATUS(st), 0);
    }
  }
  atomic_store(&stop, true);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  print_message("%ld forks in %.1f s\n", forks, (double)(mt__now_ns() - t0) / 1e9);
  if (stuck) print_error("fork %ld of %ld: child stuck in the allocator (killed)\n", stuck, forks);
  return stuck;
}

static void test_fork_while_threads_allocate(void **state) {
  (void)state;
  assert_int_equal(fork_while(churn, mt_test_scaled(100, 30)), 0);
}

static void test_fork_while_threads_end(void **state) {
  (void)state;
  slots = mt_sem_new(8, 0);
  assert_non_null(slots);
  assert_int_equal(fork_while(thread_churn, mt_test_scaled(200, 80)), 0);
  for (int i = 0; i < 8; i++) assert_code(mt_sem_acquire(slots, MT_FOREVER), 0); /* all ended */
  mt_sem_free(slots);
}

static void *nothing(void *arg) { return arg; }

/* The child starts a thread too (as the driver's conductor starts its own
 * dispatcher): the sanitizer's start-up of it allocates. */
static void child_starts_a_thread(void) {
  pthread_t th;
  if (pthread_create(&th, NULL, nothing, NULL) != 0 || pthread_join(th, NULL) != 0) _exit(3);
  child_allocates();
}

/* One fresh process (the first thread it starts maps the sanitizer's
 * memory for that thread, the slow case): start a thread, fork `delay_us`
 * later; the child starts a thread and allocates.  Exit status 0, or 1
 * when the child was stuck. */
static int fresh_process(long delay_us) {
  (void)mt__fork_generation(); /* installs the library's fork handlers */
  mt_thread_t *t = mt_thread_new(nothing, NULL, NULL);
  if (!t || mt_thread_start(t) != 0) return 2;
  for (int64_t until = mt__now_ns() + delay_us * 1000; mt__now_ns() < until;) {
  }
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) child_starts_a_thread();
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  int stuck = fd < 0 || poll(&pfd, 1, 20000) == 0; /* the child's exit or 20 s */
  if (stuck) kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  mt_thread_join(t, MT_FOREVER, NULL);
  mt_thread_free(t);
  if (stuck) return 1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 2;
}

static void test_fork_right_after_thread_start(void **state) {
  (void)state;
  long runs = mt_test_scaled(60, 30);
  for (long i = 0; i < runs; i++) {
    char delay[16];
    snprintf(delay, sizeof delay, "%ld", i % 30); /* 0-29 us */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      execl("/proc/self/exe", "test_core_fork_alloc", "--fresh", delay, (char *)NULL);
      _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
      fail_msg("run %ld of %ld (fork %s us after the start): child stuck in the allocator", i + 1,
               runs, delay);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
  }
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--fresh") == 0) return fresh_process(atol(argv[2]));
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_fork_while_threads_allocate),
                                     cmocka_unit_test(test_fork_while_threads_end),
                                     cmocka_unit_test(test_fork_right_after_thread_start)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
