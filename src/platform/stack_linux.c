/* Linux backend of platform/stack.h: stack mappings with a guard page, and
 * the SIGSEGV handler that names the coroutine whose stack overflowed. */
#include "platform/stack.h"
#include "multitask/error.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif

/* -1 unknown, 1 guard regions work, 0 they do not (older kernel). */
static atomic_int guard_regions = -1;

int mt__sys_stack_map(size_t guard, size_t size, void **base) {
  int saved = errno;
  int r = 0;
  char *p = mmap(NULL, guard + size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) {
    r = MT_ENOMEM; /* ENOMEM: no address space or no mapping left */
    goto out;
  }
  if (atomic_load_explicit(&guard_regions, memory_order_relaxed) != 0) {
    if (madvise(p, guard, MADV_GUARD_INSTALL) == 0) {
      atomic_store_explicit(&guard_regions, 1, memory_order_relaxed);
      *base = p;
      goto out;
    }
    if (errno == EINVAL) atomic_store_explicit(&guard_regions, 0, memory_order_relaxed);
  }
  if (mprotect(p, guard, PROT_NONE) != 0) { /* ENOMEM: the split needs a mapping */
    munmap(p, guard + size);
    r = MT_ENOMEM;
    goto out;
  }
  *base = p;
out:
  errno = saved;
  return r;
}

void mt__sys_stack_unmap(void *base, size_t bytes) {
  int saved = errno;
  munmap(base, bytes);
  errno = saved;
}

int mt__sys_stack_guard_regions(void) {
  return atomic_load_explicit(&guard_regions, memory_order_relaxed) == 1;
}

/* ---- the overflow report ---- */

static size_t (*segv_describe)(void *addr, char *buf, size_t n);
static atomic_flag segv_once = ATOMIC_FLAG_INIT;

static void segv_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  int saved = errno;
  char buf[256];
  size_t n = segv_describe ? segv_describe(si->si_addr, buf, sizeof buf) : 0;
  if (n > 0) {
    ssize_t w = write(2, buf, n);
    (void)w;
  }
  /* Back to the default: returning re-executes the faulting instruction,
   * which now kills the process the usual way. */
  struct sigaction dfl = {0};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  errno = saved;
}

void mt__sys_segv_install(size_t (*describe)(void *addr, char *buf, size_t n)) {
  if (atomic_flag_test_and_set(&segv_once)) return;
  segv_describe = describe;
  struct sigaction old;
  if (sigaction(SIGSEGV, NULL, &old) != 0) return;
  if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) {
    struct sigaction sa = {0};
    sa.sa_sigaction = segv_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
  }
}

#define ALTSTACK_BYTES (64 * 1024)

void *mt__sys_altstack_new(void) {
  int saved = errno;
  void *token = NULL;
  stack_t old;
  if (sigaltstack(NULL, &old) != 0 || !(old.ss_flags & SS_DISABLE)) goto out;
  size_t bytes = ALTSTACK_BYTES;
  long min = sysconf(_SC_MINSIGSTKSZ);
  if (min > 0 && (size_t)min * 4 > bytes) bytes = (size_t)min * 4;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) goto out;
  stack_t ss = {.ss_sp = p, .ss_size = bytes, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) {
    munmap(p, bytes);
    goto out;
  }
  token = p;
out:
  errno = saved;
  return token;
}

void mt__sys_altstack_free(void *token) {
  if (!token) return;
  int saved = errno;
  stack_t cur;
  if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == token && !(cur.ss_flags & SS_ONSTACK)) {
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    munmap(token, cur.ss_size);
  }
  errno = saved;
}
