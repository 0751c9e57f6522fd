/* Semaphore and BoundedSemaphore.
 *
 * One word: the value in bits 0-30 and WAITERS (bit 31) while a waiter may
 * sleep on it; the word is its own event count (wait.h, mt__word_park).
 * acquire takes one with a CAS while the value is > 0 (no syscall);
 * otherwise it counts itself in `nwaiters`, sets WAITERS and parks on the
 * word until it moves.  release adds n with one CAS and wakes n sleepers
 * only when that CAS saw WAITERS: it learns whether anybody waits from its
 * own atomic, so it reads `flags` and `bound` BEFORE it and touches nothing
 * of the semaphore after it but the word's address (the wake: a stale
 * address is at worst a spurious wakeup).  A waiter that takes a count may
 * therefore free the semaphore the moment it returns, while the release
 * that let it go has not returned yet (POSIX's sem_post/sem_destroy
 * promise; glibc keeps its waiter count in the value word for the same
 * reason).  Test sync_free_on_return.
 *
 * WAITERS is cleared by the last waiter to leave (nwaiters 1 -> 0), as
 * glibc's 32-bit semaphore does: if somebody registered meanwhile, it sets
 * the bit again and wakes as many as there are counts, since a release in
 * between saw no WAITERS and woke nobody.  A set bit with nobody waiting
 * costs a release one wake call (no system call for a private semaphore
 * while nobody sleeps in the kernel: wait.c, "kernel sleepers").  A waiter
 * that leaves cancelled or interrupted while counts remain passes on the
 * wake it may have consumed.
 *
 * MT_SHARED: a process may die between two steps of this protocol (the
 * last waiter after clearing WAITERS but before its re-check, a woken
 * waiter before it takes its count, a releaser between its CAS and its
 * wake), leaving a waiter of another process asleep while the value is
 * > 0.  So a shared waiter parks in slices of SEM_SHARED_SLICE_NS and
 * re-checks the word after each: such a death delays the others by at most
 * one slice, never for ever (docs/api.md, MT_SHARED).  Private semaphores
 * need no slice: their waiters die with the process. */
#include "multitask/sync.h"
#include "core/core.h"
#include "platform/clock.h"
#include "wait/wait.h"

/* An MT_SHARED waiter parks at most this long, then re-checks the word
 * (top of the file: a waiter, releaser or leaver that died between two
 * steps of the protocol). */
#define SEM_SHARED_SLICE_NS (100 * 1000 * 1000)
#define SEM_WAITERS 0x80000000u
#define SEM_VALUE 0x7fffffffu

struct mt_sem {
  uint32_t value;    /* count | SEM_WAITERS: the futex word */
  uint32_t nwaiters; /* waiters in the slow path (only waiters touch it) */
  uint32_t bound;    /* 0: unbounded */
  int flags;
};

static mt_sem_t *sem_new(unsigned value, unsigned bound, int flags) {
  if (flags & ~MT_SHARED) return mt__fail_null(MT_EINVAL);
  if (value > INT32_MAX) return mt__fail_null(MT_EINVAL);
  mt_sem_t *s = mt__obj_alloc(sizeof *s, flags);
  if (!s) return mt__fail_null(MT_ENOMEM);
  s->value = value;
  s->bound = bound;
  s->flags = flags;
  return s;
}

mt_sem_t *mt_sem_new(unsigned value, int flags) { return sem_new(value, 0, flags); }
mt_sem_t *mt_sem_new_bounded(unsigned value, int flags) {
  if (value == 0) return mt__fail_null(MT_EINVAL); /* could never be released */
  return sem_new(value, value, flags);
}

void mt_sem_free(mt_sem_t *s) {
  if (s) mt__obj_free(s, sizeof *s, s->flags);
}

static bool try_take(mt_sem_t *s) {
  uint32_t v = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
  while (v & SEM_VALUE)
    if (__atomic_compare_exchange_n(&s->value, &v, v - 1, true, __ATOMIC_SEQ_CST,
                                    __ATOMIC_RELAXED))
      return true;
  return false;
}

/* A slow-path waiter leaves (it still may touch the semaphore: it has not
 * returned).  The last one clears WAITERS (top of the file). */
static void leave(mt_sem_t *s, bool shared) {
  if (__atomic_sub_fetch(&s->nwaiters, 1, __ATOMIC_SEQ_CST) != 0) return;
  __atomic_fetch_and(&s->value, ~SEM_WAITERS, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&s->nwaiters, __ATOMIC_SEQ_CST) == 0) return;
  /* A waiter registered meanwhile and may sleep on the word with WAITERS
   * set, which a release since then did not see: set it again and wake
   * for the counts such releases added. */
  uint32_t v = __atomic_fetch_or(&s->value, SEM_WAITERS, __ATOMIC_SEQ_CST);
  if (v & SEM_VALUE) mt__wake_word(&s->value, (int)(v & SEM_VALUE), shared);
}

int mt_sem_acquire(mt_sem_t *s, double timeout) {
  if (!s) return MT_EINVAL;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  if (try_take(s)) return 0;
  if (timeout == 0) return MT_ETIMEDOUT;
  /* spin for the word to move, unless a release already moved it (the
   * value is > 0): then one more try, and the slow path if it loses */
  uint32_t seen = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
  if ((seen & SEM_VALUE || mt__spin_until_changed(&s->value, seen, mt__spin_rounds())) &&
      try_take(s))
    return 0;

  bool shared = s->flags & MT_SHARED;
  __atomic_fetch_add(&s->nwaiters, 1, __ATOMIC_SEQ_CST);
  for (;;) {
    uint32_t v = __atomic_load_n(&s->value, __ATOMIC_SEQ_CST);
    if (v & SEM_VALUE) {
      if (__atomic_compare_exchange_n(&s->value, &v, v - 1, false, __ATOMIC_SEQ_CST,
                                      __ATOMIC_RELAXED))
        break; /* r == 0 */
      continue;
    }
    if (!(v & SEM_WAITERS)) {
      if (!__atomic_compare_exchange_n(&s->value, &v, v | SEM_WAITERS, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_RELAXED))
        continue;
      v |= SEM_WAITERS;
    }
    int64_t until = deadline;
    if (shared) { /* a process that died mid-protocol strands nobody: re-check (top) */
      int64_t slice = mt__now_ns() + SEM_SHARED_SLICE_NS;
      if (slice < until) until = slice;
    }
    r = mt__word_park(&s->value, v, shared, until);
    if (r == MT_ETIMEDOUT) {
      if (!mt__deadline_passed(deadline)) { /* a slice ended: look again */
        r = 0; /* a count taken at the top then returns 0, not the slice's timeout */
        continue;
      }
      r = try_take(s) ? 0 : MT_ETIMEDOUT;
      break;
    }
    if (r < 0) break; /* MT_ECANCELLED / MT_EINTR */
  }
  leave(s, shared);
  if (r < 0 && r != MT_ETIMEDOUT) {
    uint32_t v = __atomic_load_n(&s->value, __ATOMIC_SEQ_CST);
    if ((v & SEM_VALUE) && (v & SEM_WAITERS))
      mt__wake_word(&s->value, 1, shared); /* the wake we may have taken */
  }
  return r;
}

/* One CAS.  What it needs of *s is read before it: once it added, a
 * waiter may take the count, return and free s (top of the file). */
int mt_sem_release(mt_sem_t *s, unsigned n) {
  if (!s || n == 0 || n > INT32_MAX) return MT_EINVAL;
  bool shared = s->flags & MT_SHARED;
  uint32_t limit = s->bound ? s->bound : INT32_MAX;
  uint32_t *word = &s->value;
  uint32_t v = __atomic_load_n(word, __ATOMIC_RELAXED);
  do {
    if ((v & SEM_VALUE) + (uint64_t)n > limit) return MT_EOVERFLOW;
  } while (!__atomic_compare_exchange_n(word, &v, v + n, true, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED));
  /* s may be freed from here on: only the word's address is used */
  if (v & SEM_WAITERS) mt__wake_word(word, (int)n, shared);
  return 0;
}

uint32_t *mt__sem_word(mt_sem_t *s) { return &s->value; }

int mt_sem_value(const mt_sem_t *s) {
  if (!s) return MT_EINVAL;
  return (int)(__atomic_load_n(&s->value, __ATOMIC_RELAXED) & SEM_VALUE);
}

/* `with sem:` acquire, then release(1) however the block is left. */
mt_sem_t *mt_sem_scope_begin(mt_sem_t *s) {
  return mt_sem_acquire(s, MT_FOREVER) == 0 ? s : NULL;
}

void mt_sem_scope_end(mt_sem_t **sp) {
  if (!sp) return; /* NULL is bad input, never a crash (docs/api.md) */
  if (*sp) mt_sem_release(*sp, 1);
  *sp = NULL;
}
