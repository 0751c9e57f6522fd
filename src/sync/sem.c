/* Semaphore and BoundedSemaphore.
 *
 * acquire decrements `value` with a CAS when > 0 (no syscall); otherwise it
 * registers on the event count `evc` (wait layer: pointer-free, so it works
 * MT_SHARED), re-checks, and parks until the count moves.  release adds n,
 * then advances the count and wakes n, only when somebody registered.  Both
 * sides are sequentially consistent (Dekker), so a registered waiter is
 * always seen by a releaser that added.  A waiter that leaves cancelled
 * after a release woke it passes the wake on. */
#include "multitask/sync.h"
#include "core/core.h"
#include "wait/wait.h"

struct mt_sem {
  uint32_t value;
  mt__evc_t evc;
  uint32_t bound; /* 0: unbounded */
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
  while (v > 0)
    if (__atomic_compare_exchange_n(&s->value, &v, v - 1, true, __ATOMIC_SEQ_CST,
                                    __ATOMIC_RELAXED))
      return true;
  return false;
}

int mt_sem_acquire(mt_sem_t *s, double timeout) {
  if (!s) return MT_EINVAL;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  if (try_take(s)) return 0;
  if (timeout == 0) return MT_ETIMEDOUT;
  if (mt__spin_until_changed(&s->value, 0, mt__spin_rounds()) && try_take(s)) return 0;

  bool shared = s->flags & MT_SHARED;
  mt__evc_prepare(&s->evc);
  for (;;) {
    uint32_t key = mt__evc_key(&s->evc);
    if (try_take(s)) break;
    r = mt__evc_wait(&s->evc, key, shared, deadline);
    if (r == MT_ETIMEDOUT) {
      r = try_take(s) ? 0 : MT_ETIMEDOUT;
      break;
    }
    if (r < 0) break; /* MT_ECANCELLED / MT_EINTR */
  }
  mt__evc_done(&s->evc);
  if (r < 0 && r != MT_ETIMEDOUT && __atomic_load_n(&s->value, __ATOMIC_SEQ_CST) > 0)
    mt__evc_notify(&s->evc, 1, shared); /* the wake we may have taken */
  return r;
}

int mt_sem_release(mt_sem_t *s, unsigned n) {
  if (!s || n == 0 || n > INT32_MAX) return MT_EINVAL;
  if (!s->bound) { /* one atomic add; undo on the (absurd) overflow */
    uint32_t v = __atomic_add_fetch(&s->value, n, __ATOMIC_SEQ_CST);
    if (v > INT32_MAX) {
      __atomic_sub_fetch(&s->value, n, __ATOMIC_SEQ_CST);
      return MT_EOVERFLOW;
    }
  } else {
    uint32_t v = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
    do {
      if ((uint64_t)v + n > s->bound) return MT_EOVERFLOW;
    } while (!__atomic_compare_exchange_n(&s->value, &v, v + n, true, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
  }
  mt__evc_notify(&s->evc, (int)n, s->flags & MT_SHARED);
  return 0;
}

int mt_sem_value(const mt_sem_t *s) {
  if (!s) return MT_EINVAL;
  return (int)__atomic_load_n(&s->value, __ATOMIC_RELAXED);
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
