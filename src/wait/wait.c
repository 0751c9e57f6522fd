/* The one wait/wake layer.
 *
 * Design (see docs/design.md): a blocking primitive keeps its state in a
 * 32-bit word and parks on it with the kernel futex (private flag for
 * in-process objects, none for MT_SHARED ones so that any process mapping
 * the page can wake it).  Descriptors (pipes, pidfds, sockets) are waited on
 * with poll.  Both take an absolute monotonic deadline, so the relative
 * timeout a user passes is converted exactly once.  A coroutine scheduler
 * redirects both kinds of wait through a per-thread parker.
 */
#include "wait.h"
#include "platform/platform.h"
#include "multitask/error.h"

#include <math.h>
#include <stdatomic.h>

static _Thread_local const mt__parker_t *thread_parker;
static void (*_Atomic wake_hook)(uint32_t *word, int n);

int mt__deadline(double timeout, int64_t *deadline_ns) {
  if (timeout == MT_FOREVER) {
    *deadline_ns = MT__NO_DEADLINE;
    return 0;
  }
  if (isnan(timeout) || timeout < 0) return MT_EINVAL;
  if (timeout > 1e9) { /* ~31 years: treat as forever, avoid overflow */
    *deadline_ns = MT__NO_DEADLINE;
    return 0;
  }
  *deadline_ns = mt__now_ns() + (int64_t)(timeout * 1e9);
  return 0;
}

double mt__deadline_left(int64_t deadline_ns) {
  if (deadline_ns == MT__NO_DEADLINE) return MT_FOREVER;
  int64_t left = deadline_ns - mt__now_ns();
  return left <= 0 ? 0.0 : (double)left / 1e9;
}

bool mt__deadline_passed(int64_t deadline_ns) {
  return deadline_ns != MT__NO_DEADLINE && mt__now_ns() >= deadline_ns;
}

int mt__wait_word(const uint32_t *word, uint32_t expected, bool shared,
                  int64_t deadline_ns) {
  const mt__parker_t *p = thread_parker;
  if (p && p->wait_word)
    return p->wait_word(p->ctx, word, expected, shared, deadline_ns);
  if (deadline_ns != MT__NO_DEADLINE && mt__now_ns() >= deadline_ns)
    return MT_ETIMEDOUT;
  int r = mt__sys_futex_wait(word, expected, shared, deadline_ns);
  return r == MT_ETIMEDOUT ? MT_ETIMEDOUT : 0;
}

void mt__wake_word(uint32_t *word, int n, bool shared) {
  mt__sys_futex_wake(word, n, shared);
  void (*hook)(uint32_t *, int) = atomic_load_explicit(&wake_hook, memory_order_acquire);
  if (hook) hook(word, n);
}

int mt__wait_fds(struct pollfd *fds, int nfds, int64_t deadline_ns) {
  const mt__parker_t *p = thread_parker;
  if (p && p->wait_fds) return p->wait_fds(p->ctx, fds, nfds, deadline_ns);
  return mt__sys_poll(fds, (nfds_t)nfds, deadline_ns);
}

int mt__wait_fd(int fd, short events, int64_t deadline_ns) {
  struct pollfd p = {.fd = fd, .events = events};
  return mt__wait_fds(&p, 1, deadline_ns);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

bool mt__spin_until_changed(const uint32_t *word, uint32_t expected, int rounds) {
  for (int i = 0; i < rounds; i++) {
    if (__atomic_load_n(word, __ATOMIC_RELAXED) != expected) return true;
    cpu_relax();
  }
  return __atomic_load_n(word, __ATOMIC_RELAXED) != expected;
}

bool mt__spin_pays(int cpus, double quota) {
  return cpus > 1 && (quota <= 0 || quota >= MT__SPIN_MIN_QUOTA);
}

int mt__spin_rounds(void) {
  static _Atomic int rounds = -1;
  int r = atomic_load_explicit(&rounds, memory_order_relaxed);
  if (r < 0) {
    r = mt__spin_pays(mt__cpu_count(), mt__cpu_quota()) ? 2000 : 0;
    atomic_store_explicit(&rounds, r, memory_order_relaxed);
  }
  return r;
}

void mt__set_parker(const mt__parker_t *parker) { thread_parker = parker; }
const mt__parker_t *mt__get_parker(void) { return thread_parker; }
void mt__set_wake_hook(void (*hook)(uint32_t *word, int n)) {
  atomic_store_explicit(&wake_hook, hook, memory_order_release);
}
