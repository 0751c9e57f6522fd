/* Coroutine stacks, each case in a forked child: a stack overflow hits the
 * guard page and is reported naming the greenlet (or, when the program has
 * its own SIGSEGV handler, that handler gets the fault); running out of
 * mappings (vm.max_map_count) or address space (RLIMIT_AS) is MT_ENOMEM
 * from mt_greenlet_new, never a crash, and the program goes on afterwards.
 * Skipped under ASan: it owns SIGSEGV and reserves the address space.  The
 * two ENOMEM cases are skipped under TSan too: its runtime maps memory for
 * itself and dies when the kernel refuses ("FATAL: ThreadSanitizer:
 * internal allocator is out of memory"), before mt_greenlet_new can answer. */
#include "mt_test.h"
#include "coro/coro.h"
#include "platform/stack.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif
#if defined(__SANITIZE_THREAD__) || __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#else
#define UNDER_TSAN 0
#endif

static volatile long depth, limit = 1L << 40; /* never reached: it overflows first */
static long recurse(long n) {
  volatile char pad[512];
  pad[0] = (char)n;
  if (++depth > limit) return 0;
  return recurse(n + 1) + pad[0];
}

static void *overflows(void *arg, void *value) {
  (void)arg, (void)value;
  return (void *)recurse(0);
}

/* Runs fn in a child whose stderr goes into a pipe; returns the wait
 * status, and the child's stderr in buf. */
static int run_capture(void (*fn)(void), char *buf, size_t n) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(p[1], 2);
    close(p[0]);
    fn();
    _exit(0);
  }
  close(p[1]);
  size_t got = 0;
  ssize_t r;
  while (got + 1 < n && (r = read(p[0], buf + got, n - 1 - got)) > 0) got += (size_t)r;
  buf[got] = 0;
  close(p[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

static void child_overflow(void) {
  signal(SIGSEGV, SIG_DFL); /* cmocka installs its own handler */
  mt_greenlet_opts_t o = MT_GREENLET_OPTS_INIT;
  o.name = "deep-recursion";
  o.stack_size = 64 * 1024;
  mt_greenlet_t *g = mt_greenlet_new(overflows, NULL, NULL, &o);
  if (!g) _exit(3);
  mt_greenlet_switch(g, NULL, NULL);
  _exit(4); /* not reached */
}

static void overflow_reported(void **state) {
  (void)state;
  if (UNDER_ASAN) skip();
  char buf[1024];
  int status = run_capture(child_overflow, buf, sizeof buf);
  print_message("child: %s", buf);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGSEGV);
  assert_non_null(strstr(buf, "stack overflow in greenlet \"deep-recursion\" (stack of 65536 bytes"));
}

static void user_handler(int sig) {
  (void)sig;
  static const char m[] = "user handler\n";
  ssize_t w = write(2, m, sizeof m - 1);
  (void)w;
  _exit(42);
}

static void child_user_handler(void) {
  /* the program's own handler (on its own alternate stack) stays in charge */
  static char alt[64 * 1024];
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
  sigaltstack(&ss, NULL);
  struct sigaction sa = {0};
  sa.sa_handler = user_handler;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
  mt_greenlet_opts_t o = MT_GREENLET_OPTS_INIT;
  o.stack_size = 64 * 1024;
  mt_greenlet_t *g = mt_greenlet_new(overflows, NULL, NULL, &o);
  if (!g) _exit(3);
  mt_greenlet_switch(g, NULL, NULL);
  _exit(4);
}

static void overflow_user_handler(void **state) {
  (void)state;
  if (UNDER_ASAN) skip();
  char buf[1024];
  int status = run_capture(child_user_handler, buf, sizeof buf);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 42);
  assert_string_equal(buf, "user handler\n");
}

static void *returns_arg(void *arg, void *value) {
  (void)value;
  return arg;
}

/* Makes greenlets until mt_greenlet_new fails; checks it is ENOMEM, frees
 * them, and checks new ones work again.  The count made, or -errno. */
static long fill_then_recover(mt_greenlet_t **v, long cap) {
  long n = 0;
  errno = 0;
  while (n < cap && (v[n] = mt_greenlet_new(returns_arg, (void *)(intptr_t)n, NULL, NULL))) n++;
  if (n == cap) return -1000;
  if (errno != ENOMEM) return -errno;
  for (long i = 0; i < n; i++) mt_greenlet_free(v[i]);
  return n;
}

static int child_rlimit_as(void) {
  static mt_greenlet_t *v[100000];
  struct rlimit rl = {256L << 20, 256L << 20}; /* 256 MiB of address space */
  if (setrlimit(RLIMIT_AS, &rl) != 0) return 10;
  long n = fill_then_recover(v, 100000);
  if (n <= 0) return 11;
  /* exact: the same number fit again (stacks came back) */
  for (int round = 0; round < 2; round++) {
    mt_greenlet_t *g = mt_greenlet_new(returns_arg, (void *)7, NULL, NULL);
    if (!g) return 12;
    void *out = NULL;
    if (mt_greenlet_switch(g, NULL, &out) != 0 || out != (void *)7) return 13;
    mt_greenlet_free(g);
  }
  long n2 = fill_then_recover(v, 100000);
  if (n2 != n) return 14;
  return 0;
}

static void enomem_address_space(void **state) {
  (void)state;
  if (UNDER_ASAN || UNDER_TSAN) skip();
  assert_int_equal(mt_test_run_child(child_rlimit_as), 0);
}

static int child_map_count(void) {
  /* Fill the process's mappings with one-page mappings of alternating
   * protection (so none merge) until the kernel refuses one. */
  static void *fill[300000];
  long k = 0;
  while (k < 300000) {
    void *p = mmap(NULL, 4096, (k & 1) ? PROT_READ : PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) break;
    fill[k++] = p;
  }
  if (k == 300000 || errno != ENOMEM) return 20;
  /* a stack size the pool does not hold needs a new mapping: refused */
  mt_greenlet_opts_t o = MT_GREENLET_OPTS_INIT;
  o.stack_size = 128 * 1024;
  errno = 0;
  mt_greenlet_t *g = mt_greenlet_new(returns_arg, (void *)1, NULL, &o);
  if (g || errno != ENOMEM) return 21;
  /* the default size comes from the pool (the parent's stack, inherited) */
  void *out = NULL;
  g = mt_greenlet_new(returns_arg, (void *)2, NULL, NULL);
  if (!g) return 24;
  if (mt_greenlet_switch(g, NULL, &out) != 0 || out != (void *)2) return 25;
  mt_greenlet_free(g);
  /* give four mappings back: a greenlet can be made again */
  for (int i = 1; i <= 4; i++) munmap(fill[k - i], 4096);
  g = mt_greenlet_new(returns_arg, (void *)1, NULL, &o);
  if (!g) return 22;
  if (mt_greenlet_switch(g, NULL, &out) != 0 || out != (void *)1) return 23;
  mt_greenlet_free(g);
  for (long i = 0; i < k - 4; i++) munmap(fill[i], 4096);
  return 0;
}

static void enomem_map_count(void **state) {
  (void)state;
  if (UNDER_ASAN || UNDER_TSAN) skip();
  /* one stack mapped here first, so the report below says what is used */
  mt_greenlet_free(mt_greenlet_new(returns_arg, NULL, NULL, NULL));
  assert_int_equal(mt_test_run_child(child_map_count), 0);
  print_message("guard pages: %s\n", mt__sys_stack_guard_regions()
                                          ? "MADV_GUARD_INSTALL guard regions"
                                          : "mprotect (guard regions unavailable)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(overflow_reported),
      cmocka_unit_test(overflow_user_handler),
      cmocka_unit_test(enomem_address_space),
      cmocka_unit_test(enomem_map_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
