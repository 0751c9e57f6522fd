/* wait.h - the ONE internal wait/wake layer.  Every blocking point of the
 * library parks here: on a futex word (private or shared) or on file
 * descriptors.  A coroutine scheduler installs a per-thread parker so that a
 * coroutine that blocks parks itself instead of stalling its thread.  See
 * docs/design.md. */
#ifndef MT_WAIT_H
#define MT_WAIT_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#define MT__NO_DEADLINE INT64_MAX

/* Converts a relative timeout (seconds, MT_FOREVER or >= 0) to an absolute
 * monotonic deadline in ns, computed ONCE per call so spurious wakeups never
 * stretch it.  MT_EINVAL for NaN or a negative value other than MT_FOREVER. */
int mt__deadline(double timeout, int64_t *deadline_ns);
/* Seconds left until the deadline (0 when passed, MT_FOREVER when none). */
double mt__deadline_left(int64_t deadline_ns);
bool mt__deadline_passed(int64_t deadline_ns);

/* Park until *word != expected, a wake, a spurious wakeup or the deadline.
 * Returns 0 (re-check your condition!) or MT_ETIMEDOUT.  EINTR is folded
 * into 0: callers loop on their condition anyway. */
int mt__wait_word(const uint32_t *word, uint32_t expected, bool shared,
                  int64_t deadline_ns);
/* Wake up to n waiters (INT32_MAX = all) parked on word. */
void mt__wake_word(uint32_t *word, int n, bool shared);

/* Park until one of fds is ready or the deadline.  Returns the number of
 * ready fds (revents filled in), MT_ETIMEDOUT or a negative code. */
int mt__wait_fds(struct pollfd *fds, int nfds, int64_t deadline_ns);
int mt__wait_fd(int fd, short events, int64_t deadline_ns);

/* Bounded spin: returns true as soon as *word != expected, false after
 * `rounds` polls.  Spinning only pays when another core can change the word
 * (a cross-core wake costs ~55 us here, a spin round a few ns). */
bool mt__spin_until_changed(const uint32_t *word, uint32_t expected, int rounds);
/* Default spin budget for lock-like slow paths: 0 when spinning cannot pay,
 * i.e. on a single CPU or under a cgroup CPU quota below
 * MT__SPIN_MIN_QUOTA CPUs (a spinner there burns the quota its partner
 * needs to make progress); read once. */
int mt__spin_rounds(void);
#define MT__SPIN_MIN_QUOTA 1.9
/* The rule above: may a process with `cpus` CPUs in its affinity and a
 * cgroup quota of `quota` CPUs (0 = none) spin? */
bool mt__spin_pays(int cpus, double quota);

/* ---- hook for a coroutine scheduler ------------------------------------
 * A scheduler running coroutines on a thread installs a parker on that
 * thread.  While installed, mt__wait_word/mt__wait_fds call it instead of
 * blocking the thread: the parker suspends the current coroutine and runs
 * others, and returns with the same contract as the functions above.  Wakers
 * need no change for fds; for futex words, mt__wake_word calls the
 * scheduler's wake hook (if any is registered) after the kernel wake, so a
 * coroutine parked on `word` is made runnable. */
typedef struct mt__parker {
  int (*wait_word)(void *ctx, const uint32_t *word, uint32_t expected,
                   bool shared, int64_t deadline_ns);
  int (*wait_fds)(void *ctx, struct pollfd *fds, int nfds, int64_t deadline_ns);
  void *ctx;
} mt__parker_t;

/* Installs (or with NULL removes) the parker of the calling thread. */
void mt__set_parker(const mt__parker_t *parker);
const mt__parker_t *mt__get_parker(void);
/* Process-wide wake hook, called by mt__wake_word for every wake. */
void mt__set_wake_hook(void (*hook)(uint32_t *word, int n));

#endif
