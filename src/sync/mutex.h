/* mutex.h - the internal lock every part uses (and the core of mt_lock /
 * mt_rlock).  One 32-bit word: 0 when free, else the holder's kernel tid
 * with MT__M_WAITERS set once somebody parks.  Works in MT_SHARED memory.
 *
 * Modes (the `mode` argument; callers may pass a bool):
 *   MT__M_PRIVATE      in-process;
 *   MT__M_SHARED       in shared memory, owned by the acquiring THREAD
 *                      (internal locks, RLock): its exit is owner death;
 *   MT__M_SHARED_PROC  in shared memory, owned by the acquiring PROCESS
 *                      (Lock, like multiprocessing.Lock): the acquiring
 *                      thread may exit and another thread release it; only
 *                      the death of the process is owner death.
 *
 * Owner death: a waiter on a shared mutex wakes every MT__M_SLICE_NS to ask
 * whether the owner is still alive; if not, it takes the lock over and gets
 * MT_EOWNERDEAD.  Ids are recycled, so a shared holder also records WHO it
 * is (owner_*: its tid, pid and a stamp, platform.h) right after taking the
 * word and clears owner_tid before giving it back: the check compares the
 * stamp and is not fooled by a new task carrying the dead holder's id.  A
 * waiter on a PRIVATE mutex checks (tgkill) only in a process forked after
 * the mutex was made (the holder may be a thread that does not exist in the
 * child).  Plain in-process waits never wake early: their cost is one CAS
 * to lock and one XCHG to unlock; a shared one adds three plain stores. */
#ifndef MT_SYNC_MUTEX_H
#define MT_SYNC_MUTEX_H

#include <stdbool.h>
#include <stdint.h>

#include "multitask/error.h"
#include "platform/platform.h"

#define MT__M_WAITERS 0x80000000u
#define MT__M_TID 0x7fffffffu
#define MT__M_SLICE_NS (10 * 1000 * 1000) /* owner-death detection delay */

enum { MT__M_PRIVATE = 0, MT__M_SHARED = 1, MT__M_SHARED_PROC = 2 };

typedef struct mt__mutex {
  uint32_t word;
  uint32_t fork_gen;    /* mt__fork_generation() when initialised */
  union {
    /* Shared modes only.  owner_tid equals the word's tid once owner_pid and
     * owner_stamp describe the current holder (written before it, release). */
    struct {
      uint32_t owner_tid;
      int32_t owner_pid;
      uint64_t owner_stamp; /* of the owning thread, or process in SHARED_PROC */
    };
    /* PRIVATE mode, where the mutex never uses the record above: a
     * Condition's wake deferred to the release of its Lock/RLock (lock.c,
     * "Deferred wake"; NULL: none), so a Lock stays 40 bytes. */
    struct {
      uint32_t *wake_word;
      int32_t wake_n;
    };
  };
} mt__mutex_t;

void mt__mutex_init(mt__mutex_t *m);
int mt__mutex_lock_slow(mt__mutex_t *m, int mode, int64_t deadline_ns);
void mt__mutex_wake(mt__mutex_t *m, int mode);
/* Records the caller as the owner of a shared mutex it just took. */
void mt__mutex_note_owner(mt__mutex_t *m, int mode);
/* After a failed try: if the holder is dead, takes the mutex over and
 * returns MT_EOWNERDEAD, else MT_EBUSY.  Checks at most once per
 * MT__M_SLICE_NS per *last_check_ns (a word beside the mutex, 0 at first). */
int mt__mutex_try_dead_holder(mt__mutex_t *m, int mode, int64_t *last_check_ns);

/* glibc's flag: true while the process has never had a second thread.  A
 * PRIVATE mutex then needs no atomic instruction (glibc's own mutexes take
 * the same shortcut); MT_SHARED ones always use atomics (other processes). */
extern char __libc_single_threaded;

/* 0 or MT_EBUSY; never blocks.  A shared caller must then call
 * mt__mutex_note_owner (mt__mutex_trylock_mode does). */
static inline int mt__mutex_trylock(mt__mutex_t *m) {
  uint32_t expected = 0;
  return __atomic_compare_exchange_n(&m->word, &expected, (uint32_t)mt__gettid(), false,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)
             ? 0
             : MT_EBUSY;
}

static inline int mt__mutex_trylock_mode(mt__mutex_t *m, int mode) {
  if (mt__mutex_trylock(m) != 0) return MT_EBUSY;
  if (mode) mt__mutex_note_owner(m, mode);
  return 0;
}

/* 0 when acquired, MT_EOWNERDEAD when acquired from a dead holder,
 * MT_ETIMEDOUT at the deadline (absolute ns, MT__NO_DEADLINE for none).
 * The uncontended path is one CAS, inline. */
static inline int mt__mutex_lock(mt__mutex_t *m, int mode, int64_t deadline_ns) {
  if (!mode && __libc_single_threaded && m->word == 0) {
    m->word = (uint32_t)mt__gettid();
    return 0;
  }
  if (__builtin_expect(mt__mutex_trylock_mode(m, mode) == 0, 1)) return 0;
  return mt__mutex_lock_slow(m, mode, deadline_ns);
}

/* As mt__mutex_lock, for a user's Lock/RLock: the wait may also end with
 * MT_ECANCELLED (the calling coroutine was killed) or MT_EINTR, the lock
 * not taken. */
int mt__mutex_lock_slow_cancellable(mt__mutex_t *m, int mode, int64_t deadline_ns);
static inline int mt__mutex_lock_cancellable(mt__mutex_t *m, int mode, int64_t deadline_ns) {
  if (!mode && __libc_single_threaded && m->word == 0) {
    m->word = (uint32_t)mt__gettid();
    return 0;
  }
  if (__builtin_expect(mt__mutex_trylock_mode(m, mode) == 0, 1)) return 0;
  return mt__mutex_lock_slow_cancellable(m, mode, deadline_ns);
}

/* Releases; wakes one waiter if any parked.  Returns MT_EPERM if free. */
static inline int mt__mutex_unlock(mt__mutex_t *m, int mode) {
  uint32_t old;
  if (mode) __atomic_store_n(&m->owner_tid, 0, __ATOMIC_RELAXED);
  if (!mode && __libc_single_threaded) {
    old = m->word;
    m->word = 0;
  } else {
    old = __atomic_exchange_n(&m->word, 0, __ATOMIC_RELEASE);
  }
  if (__builtin_expect(old == 0, 0)) return MT_EPERM;
  if (old & MT__M_WAITERS) mt__mutex_wake(m, mode);
  return 0;
}

/* Holder's tid, 0 when free. */
static inline int32_t mt__mutex_holder(const mt__mutex_t *m) {
  return (int32_t)(__atomic_load_n(&m->word, __ATOMIC_RELAXED) & MT__M_TID);
}

/* Pid of the holder of a shared mutex (0 when free or not yet recorded). */
static inline int32_t mt__mutex_holder_pid(const mt__mutex_t *m) {
  uint32_t tid = __atomic_load_n(&m->owner_tid, __ATOMIC_ACQUIRE);
  if (tid == 0 || tid != (uint32_t)mt__mutex_holder(m)) return 0;
  return __atomic_load_n(&m->owner_pid, __ATOMIC_RELAXED);
}

/* Does the calling thread hold it?  For a shared mutex the tid alone can
 * lie: a holder that died leaves its tid in the word, and that tid may now
 * belong to a new thread (of any process, or of another pid namespace).
 * So the recorded owner (tid and stamp, of the thread in MT__M_SHARED, of
 * the process in MT__M_SHARED_PROC) must be the caller too. */
static inline bool mt__mutex_is_mine(const mt__mutex_t *m, int mode) {
  int32_t tid = mt__gettid();
  if (mt__mutex_holder(m) != tid) return false;
  if (!mode) return true;
  return __atomic_load_n(&m->owner_tid, __ATOMIC_ACQUIRE) == (uint32_t)tid &&
         __atomic_load_n(&m->owner_stamp, __ATOMIC_RELAXED) ==
             mt__self_stamp(mode == MT__M_SHARED);
}

/* Does the calling PROCESS hold this MT__M_SHARED_PROC mutex (pid and
 * stamp: pids are recycled too)? */
static inline bool mt__mutex_proc_is_mine(const mt__mutex_t *m) {
  return mt__mutex_holder_pid(m) == mt__getpid() &&
         __atomic_load_n(&m->owner_stamp, __ATOMIC_RELAXED) == mt__self_stamp(false);
}

#endif
