/* Threads: Python's threading.Thread and the module functions in C.
 *
 * Design.  A thread object (mt_thread_t) is a small heap record with a
 * 32-bit `state` word (NEW -> RUNNING -> DONE).  Joining parks on that word
 * through the wait layer (mt__wait_word) with the caller's deadline, so a
 * join has a timeout and any number of threads may join the same thread:
 * the exiting thread stores DONE and wakes everybody, but only when a
 * joiner announced itself in `joiners` (Dekker: the joiner increments
 * `joiners` then re-reads `state`; the exiting thread stores `state` then
 * reads `joiners`; both seq_cst, so at least one of them sees the other).
 * Threads are created joinable and REAPED by whoever first sees them DONE
 * (the first joiner) or detached by mt_thread_free; `reaped` makes sure
 * exactly one of them touches the pthread.  Such a pthread_join waits only
 * for the last instructions of the exit.  Reaping (not detaching) matters
 * for speed: glibc hands the exited thread's stack to the next
 * pthread_create instead of mapping a new one.  One deliberate exception to
 * "every wait goes through the wait layer": an UNTIMED join by the FIRST
 * joiner when no coroutine parker is installed calls pthread_join directly,
 * sleeping once instead of twice (our wake, then pthread's); that second
 * park/wake was ~4 us of a ~27 us start+join.  Timed joins, other joiners
 * and coroutines (a parker installed, or a killed greenlet) park on `state`
 * in the wait layer (mt__word_park), where a killed coroutine's join ends
 * with MT_ECANCELLED.
 *
 * Lifetime.  The record is reference counted: one reference for the user's
 * handle (dropped by mt_thread_free) and one for the running thread
 * (dropped as the very last thing the thread does to the record).  So a
 * handle may be freed while its thread runs (the thread detaches) and the
 * exiting thread never touches freed memory when a joiner frees the handle
 * right after join returns.  A join holds a third, temporary reference
 * while it runs, so a record found through enumerate stays valid under a
 * parked joiner even if its owner frees the handle (a failed spawn does).
 * The user's side is counted apart in `urefs`: the handle from new, plus
 * one per mt_thread_ref and per pointer handed out by enumerate.  Each
 * mt_thread_free drops one (and one of `refs`); the LAST one detaches a
 * running thread.  So a started-and-forgotten thread (start_detached, or
 * spawn then free) can end at any moment while another thread still reads
 * the record enumerate gave it.  A dummy starts with urefs 0: free on a
 * borrowed dummy pointer (current/main) finds nothing to drop and does
 * nothing, as before.
 *
 * Registry.  Every live thread (started, not finished) is on one doubly
 * linked list under `reg.lock`, in start order: enumerate and active_count
 * read it.  A library thread is listed by mt_thread_start BEFORE
 * pthread_create (so it is enumerated as soon as start returns, as Python,
 * and a fork in between marks it DONE in the child) and unlisted before it
 * stores DONE (so it is gone once join returns).  So a thread found through
 * enumerate may have no pthread id yet (ident 0 until pthread_create
 * returns or the thread stores its own): join then parks on `state`
 * instead of calling pthread_join, and ident/native_id wait for the id.
 * If pthread_create then fails, start unlists the thread, stores NEW again
 * and wakes the parked joiners, which return MT_ENOTSTARTED.
 * Threads the library did not start become "dummy" threads the first time
 * they call mt_thread_current(): listed with a pthread key whose destructor
 * unlists them when they exit.  The main thread is registered by a
 * constructor as "MainThread".
 *
 * Daemon semantics.  The first mt_thread_start installs an atexit handler.
 * When main returns or exit() is called, it joins, one by one, every listed
 * non-daemon library thread (looping, so threads started meanwhile are
 * joined too); daemon threads are not waited for and die with the process.
 * The process part's exit handler runs the same join first, whichever was
 * registered first: threads before children, as Python (process.c, "Exit").
 *
 * fork.  Only the forking thread exists in the child.  The prepare handler
 * (mt__on_fork) takes reg.lock, so the list is whole at fork; the child
 * handler unlists every other thread, marks it DONE (join
 * returns at once, is_alive is 0) and makes the forking thread the main
 * thread, with its new native id, as Python does.
 *
 * Lock order: reg.lock is a leaf (nothing else is taken while holding it,
 * no callback runs under it, and it is never held across a wait).
 */
#include "thread/thread.h"
#include "core/core.h"
#include "coro/coro.h"
#include "platform/platform.h"
#include "signal/signal_internal.h"
#include "sync/mutex.h"
#include "wait/wait.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { T_NEW = 0, T_RUNNING = 1, T_DONE = 2 };
#define NAME_MAX_LEN 63

struct mt_thread {
  void *(*fn)(void *arg);
  void *arg;
  void *result;            /* written before state = DONE */
  char name[NAME_MAX_LEN + 1];
  bool daemon;
  bool dummy;              /* not started by the library */
  bool internal;           /* a library thread (mt__thread_start_internal) */
  bool kernel_name;        /* name chosen by the user: also the comm */
  size_t stack_size;
  uint32_t state;          /* futex word: T_NEW, T_RUNNING, T_DONE */
  uint32_t joiners;        /* joiners parked (or about to park) on state */
  uint32_t tid;            /* native id; futex word for native_id readers */
  uint32_t tid_waiters;
  uint64_t ident;          /* pthread_t as an integer */
  uint32_t reaped;         /* 1 once pthread_join/pthread_detach was claimed;
                              ASan builds: 2 once that join returned */
  int refs;                /* see "Lifetime" above */
  uint32_t urefs;          /* user references: the handle + mt_thread_ref/enumerate */
  mt_thread_t *prev, *next; /* registry links, under reg.lock */
  bool listed;
  mt_thread_t *exit_next;  /* ASan builds: the `exiting` list, under reg.lock */
};

static struct {
  mt__mutex_t *lock; /* on the fork page (core.h): fork's prepare and parent write it */
  mt_thread_t *head, *tail;
  int count;
  mt_thread_t *main;       /* holds one reference */
  mt_thread_t *exiting;    /* ASan builds: ended, not yet reaped (see below) */
} reg;

static _Atomic unsigned name_counter;
void (*mt__thread_start_hook)(mt_thread_t *t);
static pthread_key_t exit_key;
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

/* Per-thread: the calling thread's record (library or dummy) and whether
 * the exit key is set for it. */
static _Thread_local mt_thread_t *tl_self;
static _Thread_local bool tl_armed;

/* ---- small helpers ---------------------------------------------------- */

static uint32_t load_state(const mt_thread_t *t) {
  return __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
}

/* Claims the pthread and reaps it (bounded: it has stored DONE) or
 * detaches it (still running). */
static bool claim_reap(mt_thread_t *t) {
  uint32_t expected = 0;
  return __atomic_compare_exchange_n(&t->reaped, &expected, 1, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED);
}

/* pthread_join of a claimed thread.  ASan builds then note that it is gone
 * (reaped 2) for a fork waiting on it (see "ASan builds" below). */
static void join_claimed(mt_thread_t *t, pthread_t pth) {
  mt__sys_thread_join(pth);
#ifdef MT__ASAN
  __atomic_store_n(&t->reaped, 2, __ATOMIC_SEQ_CST);
  mt__wake_word(&t->reaped, INT32_MAX, false);
#else
  (void)t;
#endif
}

/* Called once the thread is DONE (the thread stored its ident before) or
 * by the handle's owner, whose mt_thread_start stored it: so the state is
 * read first and the ident is never the unset 0. */
static void reap_or_detach(mt_thread_t *t) {
#ifdef MT__ASAN
  /* not detached: the `exiting` list reaps it once it ends */
  if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != T_DONE) return;
#endif
  if (!claim_reap(t)) return;
  bool done = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == T_DONE;
  pthread_t pth = (pthread_t)__atomic_load_n(&t->ident, __ATOMIC_ACQUIRE);
  if (done) join_claimed(t, pth);
  else pthread_detach(pth);
}

static void thread_ref(mt_thread_t *t) { __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED); }

static void thread_unref(mt_thread_t *t) {
  if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0) mt__free(t);
}

static void reg_lock(void) { mt__mutex_lock(reg.lock, false, MT__NO_DEADLINE); }
static void reg_unlock(void) { mt__mutex_unlock(reg.lock, false); }

/* Under reg.lock. */
static void list_add(mt_thread_t *t) {
  t->prev = reg.tail;
  t->next = NULL;
  if (reg.tail) reg.tail->next = t;
  else reg.head = t;
  reg.tail = t;
  t->listed = true;
  reg.count++;
}

/* Under reg.lock. */
static void list_remove(mt_thread_t *t) {
  if (!t->listed) return;
  if (t->prev) t->prev->next = t->next;
  else reg.head = t->next;
  if (t->next) t->next->prev = t->prev;
  else reg.tail = t->prev;
  t->prev = t->next = NULL;
  t->listed = false;
  reg.count--;
}

/* "<prefix>-N" without snprintf (~600 instructions, a sixth of a whole
 * start+join).  buf holds NAME_MAX_LEN + 1 bytes; prefixes are short. */
static void next_name(char *buf, const char *prefix) {
  unsigned k = atomic_fetch_add(&name_counter, 1) + 1;
  size_t n = strlen(prefix);
  memcpy(buf, prefix, n);
  buf[n++] = '-';
  char digits[12];
  int d = 0;
  do digits[d++] = (char)('0' + k % 10);
  while ((k /= 10) != 0);
  while (d) buf[n++] = digits[--d];
  buf[n] = 0;
}

/* A zeroed record.  malloc + memset rather than calloc: glibc's calloc
 * bypasses the per-thread cache and takes the arena lock every time. */
static mt_thread_t *record_new(void) {
  mt_thread_t *t = mt__malloc(sizeof *t);
  if (t) memset(t, 0, sizeof *t);
  return t;
}

/* The kernel name (/proc/<pid>/task/<tid>/comm) is limited to 15 bytes.
 * Only names the user chose are pushed to the kernel: prctl costs ~2.7 us
 * here, 5% of a thread start, and "Thread-N" tells a debugger little. 
 * Our own thread: prctl through pthread_setname_np.  Another thread: by
 * tid through /proc, which is harmless if that thread has just exited
 * (pthread_setname_np would need its pthread_t, possibly freed by then). */
static void set_kernel_name(mt_thread_t *t) {
  char comm[16];
  memcpy(comm, t->name, 15);
  comm[15] = 0;
  if (t == tl_self) {
    pthread_setname_np(pthread_self(), comm);
    return;
  }
  uint32_t tid = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
  if (tid == 0 || load_state(t) != T_RUNNING) return; /* it names itself */
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%u/comm", tid);
  mt__sys_write_file(path, comm, strlen(comm));
}

static void publish_self(mt_thread_t *t) {
  __atomic_store_n(&t->ident, (uint64_t)pthread_self(), __ATOMIC_RELEASE);
  __atomic_store_n(&t->tid, (uint32_t)mt__gettid(), __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&t->tid_waiters, __ATOMIC_SEQ_CST))
    mt__wake_word(&t->tid, INT32_MAX, false);
}

/* Stores DONE and wakes joiners; the caller's reference is dropped after. */
static void mark_done(mt_thread_t *t) {
  __atomic_store_n(&t->state, T_DONE, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&t->joiners, __ATOMIC_SEQ_CST))
    mt__wake_word(&t->state, INT32_MAX, false);
}

/* ---- exit of a thread ------------------------------------------------- */

/* ---- ASan builds: no thread exits across a fork ------------------------
 * An exiting thread hands its allocator cache back to AddressSanitizer from
 * a pthread key destructor, under the sanitizer's own locks; a fork at that
 * moment leaves the child a lock that nobody will release (core.h).  So in
 * such a build every library thread that ends goes on `reg.exiting`
 * (holding a reference) instead of being detached, and is pthread_join'ed
 * -- which returns only once it is gone -- by the threads part's fork
 * prepare (under reg.lock, so no other thread can start ending meanwhile)
 * or by the next thread that ends.  Elsewhere none of this exists. */
#ifdef MT__ASAN
/* Joins every thread of `list`, or waits for the join another thread
 * claimed to return; drops the references. */
static void reap_list(mt_thread_t *list) {
  while (list) {
    mt_thread_t *t = list;
    list = t->exit_next;
    if (claim_reap(t))
      join_claimed(t, (pthread_t)__atomic_load_n(&t->ident, __ATOMIC_ACQUIRE));
    else
      while (__atomic_load_n(&t->reaped, __ATOMIC_SEQ_CST) == 1)
        mt__wait_word(&t->reaped, 1, false, MT__NO_DEADLINE);
    thread_unref(t);
  }
}

static void fork_prepare(void) {
  reg_lock();
  mt_thread_t *list = reg.exiting;
  reg.exiting = NULL;
  reap_list(list);
}
#else
static void fork_prepare(void) { reg_lock(); }
#endif

/* Last steps of a thread's life, on that thread: locals destructors run
 * before joiners are released, so a joiner sees them done. */
static void thread_finish(mt_thread_t *t) {
  mt__locals_run_dtors();
  reg_lock();
  list_remove(t);
#ifdef MT__ASAN
  mt_thread_t *ended = NULL;
  if (!t->dummy) { /* earlier ones are joined below; this one by the next */
    ended = reg.exiting;
    thread_ref(t);
    t->exit_next = NULL;
    reg.exiting = t;
  }
#endif
  reg_unlock();
  mark_done(t);
#ifdef MT__ASAN
  reap_list(ended);
#endif
  tl_self = NULL;
  thread_unref(t);
}

/* pthread key destructor: a dummy (foreign) thread exits, or a foreign
 * thread used locals (library threads end in library_thread_exit). */
static void exit_key_dtor(void *unused) {
  (void)unused;
  tl_armed = false;
  mt_thread_t *t = tl_self;
  if (t) thread_finish(t);
  else mt__locals_run_dtors();
}

void mt__thread_arm_exit_hook(void) {
  if (tl_armed) return;
  /* Fails only for lack of memory: then the exit of a foreign thread is not
   * seen (its locals' destructors do not run); library threads also call
   * thread_finish themselves, so they are unaffected. */
  tl_armed = pthread_setspecific(exit_key, &tl_armed) == 0;
}

/* A library thread ends through here, by return or by pthread_exit (a
 * cleanup handler, not the exit key: a thread that never sets a
 * thread-specific value skips glibc's sweep of every key at exit, ~700
 * instructions).  A thread that used locals has armed the key too: disarm
 * it, thread_finish runs once. */
static void library_thread_exit(void *p) {
  if (tl_armed) {
    tl_armed = false;
    pthread_setspecific(exit_key, NULL);
  }
  thread_finish(p);
}

static void *trampoline(void *p) {
  mt_thread_t *t = p;
  tl_self = t;
  publish_self(t);
  if (t->internal) mt__signal_library_thread(); /* tasks cannot opt it in */
  if (t->kernel_name) set_kernel_name(t);
  pthread_cleanup_push(library_thread_exit, t);
  t->result = t->fn(t->arg);
  pthread_cleanup_pop(1);
  return NULL;
}

/* ---- dummy threads and the main thread --------------------------------- */

static mt_thread_t *make_dummy(bool is_main) {
  mt_thread_t *t = record_new();
  if (!t) return NULL;
  t->dummy = true;
  t->daemon = !is_main; /* as Python: dummies are daemonic, MainThread not */
  if (is_main) snprintf(t->name, sizeof t->name, "MainThread");
  else next_name(t->name, "Dummy");
  t->state = T_RUNNING;
  t->refs = is_main ? 2 : 1; /* the thread's own + reg.main's */
  t->ident = (uint64_t)pthread_self();
  t->tid = (uint32_t)mt__gettid();
  tl_self = t;
  mt__thread_arm_exit_hook();
  reg_lock();
  list_add(t);
  if (is_main) reg.main = t;
  reg_unlock();
  return t;
}

void mt__thread_adopt_internal(const char *name) {
  mt_thread_t *t = record_new();
  if (!t) return; /* then it becomes an ordinary dummy if it asks */
  t->dummy = true;
  snprintf(t->name, sizeof t->name, "%s", name);
  t->state = T_RUNNING;
  t->refs = 1;
  t->reaped = 1;
  t->ident = (uint64_t)pthread_self();
  t->tid = (uint32_t)mt__gettid();
  tl_self = t;
}

static void after_fork_child(void);

__attribute__((constructor)) static void thread_module_init(void) {
  (void)mt__gettid(); /* its tid reset must run before our fork handler */
  reg.lock = mt__fork_page_take(sizeof *reg.lock);
  mt__mutex_init(reg.lock);
  /* Without the key no thread's exit could be seen (joins would hang):
   * fail loudly at load, as core.c does for pthread_atfork.  It can only
   * fail when PTHREAD_KEYS_MAX keys are already taken. */
  if (pthread_key_create(&exit_key, exit_key_dtor) != 0) abort();
  mt__on_fork(MT__FORK_THREADS, fork_prepare, reg_unlock, after_fork_child);
  if (mt__gettid() == (int32_t)getpid()) make_dummy(true);
}

/* Child after fork: only the calling thread survives (see top). */
static void after_fork_child(void) {
  mt__mutex_init(reg.lock);
  mt_thread_t *self = tl_self;
  mt_thread_t *t = reg.head;
  while (t) {
    mt_thread_t *next = t->next;
    if (t != self) {
      list_remove(t);
      __atomic_store_n(&t->state, T_DONE, __ATOMIC_RELAXED);
      __atomic_store_n(&t->joiners, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&t->reaped, 1, __ATOMIC_RELAXED); /* no pthread here */
      thread_unref(t); /* the thread's own reference: it is gone */
    }
    t = next;
  }
  if (!self) {
    tl_armed = false;
    self = make_dummy(false);
    if (!self) return;
  }
  __atomic_store_n(&self->ident, (uint64_t)pthread_self(), __ATOMIC_RELAXED);
  __atomic_store_n(&self->tid, (uint32_t)mt__gettid(), __ATOMIC_RELAXED); /* fresh: reset first */
  if (reg.main != self) {
    mt_thread_t *old = reg.main;
    thread_ref(self);
    reg.main = self;
    if (old) thread_unref(old); /* reg.main's reference */
  }
}

/* ---- atexit: join the non-daemon threads ------------------------------ */

static mt_thread_t *next_non_daemon(void) {
  mt_thread_t *found = NULL;
  reg_lock();
  for (mt_thread_t *t = reg.head; t; t = t->next) {
    if (!t->dummy && !t->daemon && t != tl_self) {
      found = t;
      thread_ref(found);
      break;
    }
  }
  reg_unlock();
  return found;
}

void mt__thread_join_non_daemon(void) {
  mt_thread_t *t;
  while ((t = next_non_daemon()) != NULL) {
    mt_thread_join(t, MT_FOREVER, NULL);
    thread_unref(t);
  }
}

static void install_atexit(void) { atexit(mt__thread_join_non_daemon); }

/* ---- public API -------------------------------------------------------- */

mt_thread_t *mt_thread_new(void *(*fn)(void *arg), void *arg, const mt_thread_opts_t *opts) {
  if (!fn) return mt__fail_null(MT_EINVAL);
  if (opts && !mt__opts_size_ok(opts->size, sizeof(mt_thread_opts_t)))
    return mt__fail_null(MT_EINVAL);
  if (opts && opts->name && strlen(opts->name) > NAME_MAX_LEN)
    return mt__fail_null(MT_ENAMETOOLONG);
  if (opts && opts->stack_size && opts->stack_size < (size_t)PTHREAD_STACK_MIN)
    return mt__fail_null(MT_EINVAL);
  mt_thread_t *t = record_new();
  if (!t) return mt__fail_null(MT_ENOMEM);
  t->fn = fn;
  t->arg = arg;
  t->refs = 1;
  t->urefs = 1;
  if (opts && opts->name) {
    memcpy(t->name, opts->name, strlen(opts->name) + 1); /* length checked above */
    t->kernel_name = true;
  } else next_name(t->name, "Thread");
  if (opts && opts->daemon_set) {
    t->daemon = opts->daemon;
  } else {
    mt_thread_t *cur = mt_thread_current();
    t->daemon = cur ? cur->daemon : false;
  }
  t->stack_size = opts ? opts->stack_size : 0;
  return t;
}

static int start(mt_thread_t *t, bool internal) {
  if (!t) return MT_EINVAL;
  uint32_t expected = T_NEW;
  if (!__atomic_compare_exchange_n(&t->state, &expected, T_RUNNING, false,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return MT_ESTARTED;
  pthread_once(&atexit_once, install_atexit);
  thread_ref(t); /* the running thread's reference */
  reg_lock();
  list_add(t);
  reg_unlock();
  if (mt__thread_start_hook) mt__thread_start_hook(t);

  pthread_t pth;
  t->internal = internal;
  /* a user's thread inherits its creator's mask (as pthread, as Python);
   * the library's own begin with every signal blocked */
  int r = -mt__thread_create(&pth, t->stack_size, false, internal, trampoline, t);
  if (r != 0) {
    reg_lock();
    list_remove(t);
    reg_unlock();
    /* A joiner that found the thread through enumerate may be parked on
     * state: wake it (Dekker with join as in mark_done); it then sees NEW
     * and returns MT_ENOTSTARTED. */
    __atomic_store_n(&t->state, T_NEW, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&t->joiners, __ATOMIC_SEQ_CST))
      mt__wake_word(&t->state, INT32_MAX, false);
    __atomic_sub_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    return -r;
  }
  __atomic_store_n(&t->ident, (uint64_t)pth, __ATOMIC_RELEASE);
  return 0;
}

int mt_thread_start(mt_thread_t *t) { return start(t, false); }

int mt__thread_start_internal(mt_thread_t *t) { return start(t, true); }

mt_thread_t *mt_thread_spawn(void *(*fn)(void *arg), void *arg, const mt_thread_opts_t *opts) {
  mt_thread_t *t = mt_thread_new(fn, arg, opts);
  if (!t) return NULL;
  int r = mt_thread_start(t);
  if (r < 0) {
    mt_thread_free(t);
    return mt__fail_null(r);
  }
  return t;
}

int mt_thread_join(mt_thread_t *t, double timeout, void **result) {
  if (!t) return MT_EINVAL;
  int64_t deadline;
  if (mt__deadline(timeout, &deadline) < 0) return MT_EINVAL;
  if (t == tl_self) return MT_EDEADLK;
  if (t->dummy) return MT_ENOTSUP;
  uint32_t s = load_state(t);
  if (s == T_NEW) return MT_ENOTSTARTED;
  /* The join holds a reference: the handle may be freed meanwhile (a failed
   * mt_thread_spawn frees a record a joiner found through enumerate). */
  thread_ref(t);
  /* ident is 0 while a thread found through enumerate is still inside
   * mt_thread_start: then park on state like any other joiner. */
  uint64_t id = __atomic_load_n(&t->ident, __ATOMIC_ACQUIRE);
  if (s != T_DONE && id != 0 && deadline == MT__NO_DEADLINE && mt__may_sleep_outside() &&
      !mt__coro_cancelled() && claim_reap(t)) {
    /* Untimed join by the first joiner of a plain thread: pthread_join
     * sleeps once, until the kernel reports the exit (see top). */
    join_claimed(t, (pthread_t)id);
    s = load_state(t);
  }
  int r = 0;
  while (s != T_DONE) {
    __atomic_add_fetch(&t->joiners, 1, __ATOMIC_SEQ_CST);
    s = __atomic_load_n(&t->state, __ATOMIC_SEQ_CST);
    int w = 0;
    if (s == T_RUNNING) w = mt__word_park(&t->state, s, false, deadline);
    __atomic_sub_fetch(&t->joiners, 1, __ATOMIC_RELAXED);
    s = load_state(t);
    if (w < 0 && w != MT_ETIMEDOUT && s != T_DONE) { /* MT_ECANCELLED / MT_EINTR */
      r = w;
      break;
    }
    mt__wait_cancel_undelivered(w); /* ended after all: the next wait gets it */
    if (s == T_NEW) { /* its start failed (pthread_create) */
      r = MT_ENOTSTARTED;
      break;
    }
    if (w == MT_ETIMEDOUT && s != T_DONE) {
      r = MT_ETIMEDOUT;
      break;
    }
  }
  if (r == 0) {
    reap_or_detach(t);
    if (result) *result = t->result;
  }
  thread_unref(t);
  return r;
}

mt_thread_t *mt_thread_ref(mt_thread_t *t) {
  if (!t) return NULL;
  __atomic_add_fetch(&t->urefs, 1, __ATOMIC_RELAXED);
  thread_ref(t);
  return t;
}

void mt_thread_free(mt_thread_t *t) {
  if (!t) return;
  uint32_t u = __atomic_load_n(&t->urefs, __ATOMIC_RELAXED);
  do {
    if (u == 0) return; /* a borrowed pointer (a dummy from current/main) */
  } while (!__atomic_compare_exchange_n(&t->urefs, &u, u - 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED));
  if (u == 1 && !t->dummy && load_state(t) != T_NEW) reap_or_detach(t);
  thread_unref(t);
}

int mt_thread_start_detached(mt_thread_t *t) {
  if (!t) return MT_EINVAL;
  int r = mt_thread_start(t);
  mt_thread_free(t);
  return r;
}

/* The subclass form: run(self) through the plain entry point. */
static void *run_entry(void *self) {
  mt_thread_run_t *r = self;
  return r->run(r);
}

mt_thread_t *mt_thread_new_run(mt_thread_run_t *self, const mt_thread_opts_t *opts) {
  if (!self || !self->run) return mt__fail_null(MT_EINVAL);
  return mt_thread_new(run_entry, self, opts);
}

int mt_thread_is_alive(const mt_thread_t *t) {
  if (!t) return MT_EINVAL;
  return load_state(t) == T_RUNNING;
}

const char *mt_thread_name(const mt_thread_t *t) { return t ? t->name : NULL; }

int mt_thread_set_name(mt_thread_t *t, const char *name) {
  if (!t || !name) return MT_EINVAL;
  if (strlen(name) > NAME_MAX_LEN) return MT_ENAMETOOLONG;
  snprintf(t->name, sizeof t->name, "%s", name);
  t->kernel_name = true;
  if (load_state(t) == T_RUNNING) set_kernel_name(t);
  return 0;
}

int mt_thread_is_daemon(const mt_thread_t *t) {
  if (!t) return MT_EINVAL;
  return t->daemon;
}

int mt_thread_set_daemon(mt_thread_t *t, bool daemon) {
  if (!t) return MT_EINVAL;
  if (t->dummy || load_state(t) != T_NEW) return MT_ESTARTED;
  t->daemon = daemon;
  return 0;
}

/* The new thread publishes its ident, then its tid, as its first
 * instructions (publish_self).  A reader that asks earlier (it found the
 * thread through enumerate while mt_thread_start runs) waits for them,
 * briefly; the 1 ms re-check covers a pthread_create that failed. */
static uint32_t wait_published(mt_thread_t *w) {
  uint32_t tid = __atomic_load_n(&w->tid, __ATOMIC_ACQUIRE);
  while (tid == 0 && load_state(w) == T_RUNNING) {
    __atomic_add_fetch(&w->tid_waiters, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&w->tid, __ATOMIC_SEQ_CST) == 0)
      mt__wait_word(&w->tid, 0, false, mt__now_ns() + 1000000);
    __atomic_sub_fetch(&w->tid_waiters, 1, __ATOMIC_RELAXED);
    tid = __atomic_load_n(&w->tid, __ATOMIC_ACQUIRE);
  }
  return tid;
}

uint64_t mt_thread_ident(const mt_thread_t *t) {
  if (!t || load_state(t) == T_NEW) return 0;
  uint64_t id = __atomic_load_n(&t->ident, __ATOMIC_ACQUIRE); /* set by start */
  if (id) return id;
  wait_published((mt_thread_t *)t);
  return __atomic_load_n(&t->ident, __ATOMIC_ACQUIRE);
}

int32_t mt_thread_native_id(const mt_thread_t *t) {
  if (!t || load_state(t) == T_NEW) return 0;
  return (int32_t)wait_published((mt_thread_t *)t);
}

mt_thread_t *mt_thread_current(void) {
  mt_thread_t *t = tl_self;
  if (__builtin_expect(t != NULL, 1)) return t;
  return make_dummy(false);
}

mt_thread_t *mt_thread_main(void) {
  reg_lock();
  mt_thread_t *m = reg.main;
  reg_unlock();
  return m;
}

int mt_thread_enumerate(mt_thread_t **out, int n) {
  if (n < 0 || (n > 0 && !out)) return MT_EINVAL;
  (void)mt_thread_current(); /* the caller is alive too (as Python) */
  reg_lock();
  int i = 0;
  /* listed means the thread's own reference is still held: safe to take */
  for (mt_thread_t *t = reg.head; t && i < n; t = t->next) out[i++] = mt_thread_ref(t);
  int count = reg.count;
  reg_unlock();
  return count;
}

int mt_thread_active_count(void) { return mt_thread_enumerate(NULL, 0); }

uint64_t mt_thread_get_ident(void) { return (uint64_t)pthread_self(); }

int32_t mt_thread_get_native_id(void) { return mt__gettid(); }
