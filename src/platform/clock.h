/* platform/clock.h - clock, thread ids, futex, CPU (Linux: platform_linux.c). */
#ifndef MT_PLATFORM_CLOCK_H
#define MT_PLATFORM_CLOCK_H

#include <stdint.h>

/* Monotonic clock in nanoseconds. */
int64_t mt__now_ns(void);

/* Kernel thread id of the caller (cached per thread, reset after fork).
 * Inline because every lock operation asks for it; initial-exec TLS since
 * the library is built PIC and the default model would call
 * __tls_get_addr each time. */
extern _Thread_local int32_t mt__tid_cache __attribute__((tls_model("initial-exec")));
int32_t mt__gettid_slow(void);
static inline int32_t mt__gettid(void) {
  int32_t t = mt__tid_cache;
  return __builtin_expect(t != 0, 1) ? t : mt__gettid_slow();
}

/* futex: private (in-process) or shared (MAP_SHARED memory) word.
 * wait returns 0 when woken or the value differed, MT_ETIMEDOUT when the
 * absolute monotonic deadline (ns, INT64_MAX = none) passed, MT_EINTR on a
 * signal. */
int mt__sys_futex_wait(const uint32_t *word, uint32_t expected, int shared,
                       int64_t deadline_ns);
int mt__sys_futex_wake(uint32_t *word, int n, int shared);

/* 1 if thread `tid` (any process) is alive, 0 if it exited (also when it is
 * a zombie), negative code if it cannot be told. */
int mt__thread_alive(int32_t tid);
/* 1 if `tid` is a live thread of the calling process, else 0. */
int mt__thread_in_self(int32_t tid);

/* Number of CPUs this process may run on (affinity mask). */
int mt__cpu_count(void);
/* Gives the CPU to another runnable thread (a step between spinning and
 * parking). */
void mt__sys_yield(void);

#endif
