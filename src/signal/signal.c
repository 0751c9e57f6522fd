/* signal.c - Python's signal module on one dispatcher thread.
 *
 * Design.  A signal handler may only call async-signal-safe functions, so
 * a C program cannot take a lock, malloc or printf there; Python solves it
 * by only setting a flag and running the Python handler later on the main
 * thread.  We do the same with a thread of our own instead of the main
 * thread (a C program has no interpreter loop to run it in):
 *
 *   on_signal (the sigaction handler, any thread): sets bit sig in pending,
 *     one write to an eventfd.  Both are async-signal-safe; errno is kept.
 *   the dispatcher (a library thread with every signal blocked): waits on
 *     the eventfd through the wait layer, drains it, THEN takes pending
 *     (so a signal recorded after that also re-arms the eventfd), and
 *     runs each recorded signal's handler in normal context.
 *
 * After each handler: runs[sig] and `handled` are bumped and woken (futex
 * words): raise_signal waits on runs[sig], pause on `handled`.
 *
 * Fork.  The child inherits the dispositions, the table and the eventfd
 * (shared with the parent!).  The child handler gives it a fresh eventfd,
 * forgets the parent's recorded signals and starts its own dispatcher.
 *
 * Interrupts (opt-in per thread, mt_signal_set_interruptible): each
 * opted-in thread has a record (the wait layer's mt__intr_t: a futex word
 * and an eventfd) on the list G.intr, and installed in the wait layer for
 * its thread.  After a handler ran, the dispatcher raises every record on
 * the list (under G.lock, so a record leaving the list is not in use); the
 * thread's next or current blocking wait returns MT_EINTR (wait.c).  A
 * record leaves with mt_signal_set_interruptible(0) or its thread (a
 * pthread key's destructor).  In a fork child only the forking thread's
 * record stays, with an eventfd of its own.
 *
 * Lock: G.lock guards the table, the records and the dispatcher's start; never held
 * while a user handler runs, so a handler may call mt_signal_signal.
 */
#include "multitask/signal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "platform/platform.h"
#include "platform/sig.h"
#include "sync/mutex.h"
#include "signal/signal_internal.h"
#include "wait/wait.h"

#ifndef NSIG
#define NSIG 65
#endif
_Static_assert(NSIG <= 65, "one 64-bit pending word");

struct entry {
  mt_signal_handler_t fn;
  void *arg;
};

struct intr_rec {
  mt__intr_t in; /* first: the wait layer's view */
  struct intr_rec *prev, *next;
};

static struct {
  mt__mutex_t lock;
  struct entry tab[NSIG];
  int efd;          /* the dispatcher's eventfd, -1 before it started */
  bool running;     /* a dispatcher exists in this process */
  int32_t tid;      /* the dispatcher's thread id */
  uint32_t handled; /* bumped after every handler run (pause waits on it) */
  uint32_t runs[NSIG];
  uint32_t waiters; /* threads in pause/raise_signal: wake only if any */
  struct intr_rec *intr; /* opted-in threads */
} G = {.efd = -1};

static pthread_key_t intr_key; /* the calling thread's intr_rec */

/* Written by on_signal (lock-free atomics are async-signal-safe): bit
 * sig-1 set = sig recorded, not yet dispatched.  NSIG is 65 on Linux, so
 * one word holds them all, and the dispatcher takes them in one exchange. */
static _Atomic uint64_t pending;
static atomic_int sig_efd = -1;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void on_signal(int sig) {
  if (sig <= 0 || sig >= NSIG) return;
  atomic_fetch_or_explicit(&pending, 1ull << (sig - 1), memory_order_release);
  int fd = atomic_load_explicit(&sig_efd, memory_order_acquire);
  if (fd >= 0) mt__sys_eventfd_signal(fd); /* keeps errno */
}

static void run_one(int sig) {
  mt__mutex_lock(&G.lock, false, MT__NO_DEADLINE);
  struct entry e = G.tab[sig];
  mt__mutex_unlock(&G.lock, false);
  if (e.fn == MT_SIG_DFL || e.fn == MT_SIG_IGN || e.fn == MT_SIG_OTHER) return;
  e.fn(sig, e.arg);
  /* before `runs` moves: once raise_signal returned, the interrupt is raised */
  mt__mutex_lock(&G.lock, false, MT__NO_DEADLINE);
  for (struct intr_rec *r = G.intr; r; r = r->next) mt__intr_raise(&r->in);
  mt__mutex_unlock(&G.lock, false);
  __atomic_add_fetch(&G.runs[sig], 1, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&G.handled, 1, __ATOMIC_SEQ_CST);
  /* A waiter counts itself in BEFORE reading the word it waits on, so
   * either it sees the new value or we see it counted (both seq_cst). */
  if (__atomic_load_n(&G.waiters, __ATOMIC_SEQ_CST)) {
    mt__wake_word(&G.runs[sig], INT32_MAX, false);
    mt__wake_word(&G.handled, INT32_MAX, false);
  }
}

static void *dispatch_main(void *unused) {
  (void)unused;
  mt__signal_library_thread(); /* handlers run here */
  __atomic_store_n(&G.tid, mt__gettid(), __ATOMIC_RELEASE);
  int fd = G.efd;
  for (;;) {
    mt__wait_fd(fd, POLLIN, MT__NO_DEADLINE);
    mt__sys_eventfd_drain(fd);
    uint64_t bits = atomic_exchange_explicit(&pending, 0, memory_order_acq_rel);
    while (bits) {
      int sig = __builtin_ctzll(bits) + 1; /* lowest number first */
      bits &= bits - 1;
      run_one(sig);
    }
  }
  return NULL;
}

/* Starts the dispatcher if there is none.  Caller holds G.lock. */
static int start_dispatcher_locked(void) {
  if (G.running) return 0;
  int fd = mt__sys_eventfd();
  if (fd < 0) return fd;
  G.efd = fd;
  pthread_t th;
  /* User handlers run on this thread: the default (full-size) stack. */
  int r = mt__thread_create(&th, 0, true, true, dispatch_main, NULL);
  if (r < 0) {
    mt__sys_close(fd);
    G.efd = -1;
    return r;
  }
  atomic_store(&sig_efd, fd);
  G.running = true;
  return 0;
}

static void intr_unlink_locked(struct intr_rec *r) {
  if (r->prev) r->prev->next = r->next;
  else G.intr = r->next;
  if (r->next) r->next->prev = r->prev;
}

static void intr_link_locked(struct intr_rec *r) {
  r->prev = NULL;
  r->next = G.intr;
  if (G.intr) G.intr->prev = r;
  G.intr = r;
}

/* Opt-out, and the key's destructor at thread exit. */
static void intr_drop(void *p) {
  struct intr_rec *r = p;
  mt__mutex_lock(&G.lock, false, MT__NO_DEADLINE);
  intr_unlink_locked(r);
  mt__mutex_unlock(&G.lock, false);
  mt__set_intr(NULL);
  mt__sys_close(r->in.efd);
  free(r);
}

static void fork_child(void) {
  mt__mutex_init(&G.lock);
  atomic_store(&sig_efd, -1);
  atomic_store(&pending, 0);
  /* The other threads' records belong to threads the child does not have
   * (leaked: their memory may be in use by nothing, freeing is not safe to
   * assume); the forking thread keeps its own, on a fresh eventfd (the
   * inherited one is the parent's too) and with nothing raised. */
  G.intr = NULL;
  struct intr_rec *me = pthread_getspecific(intr_key);
  if (me) {
    int fd = mt__sys_eventfd();
    mt__sys_close(me->in.efd);
    if (fd < 0) {
      pthread_setspecific(intr_key, NULL);
      mt__set_intr(NULL);
      free(me);
    } else {
      me->in.efd = fd;
      __atomic_store_n(&me->in.pending, 0, __ATOMIC_RELAXED);
      intr_link_locked(me);
    }
  }
  if (!G.running) return;
  /* The inherited eventfd is the parent's too: never signal it again. */
  mt__sys_close(G.efd);
  G.efd = -1;
  G.running = false;
  G.tid = 0;
  start_dispatcher_locked(); /* on failure handlers stay recorded, unrun */
}

static void init_module(void) {
  mt__mutex_init(&G.lock);
  if (pthread_key_create(&intr_key, intr_drop) != 0) abort(); /* a key per library: cannot run out */
  mt__on_fork_child(fork_child);
}

/* ---- validation and the table ----------------------------------------- */

int mt_signal_is_valid(int sig) {
  if (sig <= 0 || sig >= NSIG) return 0;
  if (sig > 31 && sig < SIGRTMIN) return 0; /* glibc's own (NPTL) */
  return 1;
}

static bool is_fault(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
         sig == SIGTRAP || sig == SIGSYS;
}

static const char *const names[32] = {
    NULL,       "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",    "SIGTRAP", "SIGABRT",
    "SIGBUS",   "SIGFPE",  "SIGKILL",   "SIGUSR1", "SIGSEGV",   "SIGUSR2", "SIGPIPE",
    "SIGALRM",  "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",
    "SIGTTIN",  "SIGTTOU", "SIGURG",    "SIGXCPU", "SIGXFSZ",   "SIGVTALRM", "SIGPROF",
    "SIGWINCH", "SIGIO",   "SIGPWR",    "SIGSYS"};

/* "SIGRTMIN+n" / "SIGRTMAX-n" as kill -l prints them, made once. */
static char rt_names[NSIG][16];
static pthread_once_t rt_once = PTHREAD_ONCE_INIT;
static void make_rt_names(void) {
  int lo = SIGRTMIN, hi = SIGRTMAX, mid = lo + (hi - lo) / 2;
  for (int s = lo; s <= hi && s < NSIG; s++) {
    if (s == lo) snprintf(rt_names[s], sizeof rt_names[s], "SIGRTMIN");
    else if (s == hi) snprintf(rt_names[s], sizeof rt_names[s], "SIGRTMAX");
    else if (s <= mid) snprintf(rt_names[s], sizeof rt_names[s], "SIGRTMIN+%d", s - lo);
    else snprintf(rt_names[s], sizeof rt_names[s], "SIGRTMAX-%d", hi - s);
  }
}

const char *mt_signal_name(int sig) {
  if (!mt_signal_is_valid(sig)) return NULL;
  if (sig < 32) return names[sig];
  pthread_once(&rt_once, make_rt_names);
  return rt_names[sig];
}

int mt_signal_from_name(const char *name) {
  if (!name || !*name) return MT_EINVAL;
  char *end;
  long v = strtol(name, &end, 10);
  if (*end == 0) return mt_signal_is_valid((int)v) ? (int)v : MT_EINVAL;
  for (int s = 1; s < NSIG; s++) {
    const char *n = mt_signal_name(s);
    if (n && (strcmp(n, name) == 0 || strcmp(n + 3, name) == 0)) return s;
  }
  return MT_EINVAL;
}

const char *mt_signal_strsignal(int sig) {
  if (!mt_signal_is_valid(sig)) return NULL;
  const char *d = sigdescr_np(sig); /* thread-safe, unlike strsignal */
  return d ? d : "Real-time signal";
}

const char *mt_signal_default_action(int sig) {
  if (!mt_signal_is_valid(sig)) return NULL;
  switch (sig) {
  case SIGCHLD: case SIGURG: case SIGWINCH: return "Ign";
  case SIGCONT: return "Cont";
  case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: return "Stop";
  case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
  case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS: return "Core";
  default: return "Term";
  }
}

/* ---- handlers ------------------------------------------------------------ */

int mt_signal_signal(int sig, mt_signal_handler_t fn, void *arg) {
  if (!mt_signal_is_valid(sig) || sig == SIGKILL || sig == SIGSTOP || fn == MT_SIG_OTHER)
    return MT_EINVAL;
  bool func = fn != MT_SIG_DFL && fn != MT_SIG_IGN;
  if (func && is_fault(sig)) return MT_EINVAL;
  pthread_once(&once, init_module);
  mt__mutex_lock(&G.lock, false, MT__NO_DEADLINE);
  int r = 0;
  if (func) {
    r = start_dispatcher_locked();
    if (r == 0) {
      G.tab[sig] = (struct entry){fn, arg}; /* table first, then the kernel */
      r = mt__sys_sig_install(sig, on_signal);
    }
  } else {
    r = fn == MT_SIG_IGN ? mt__sys_ignore_signal(sig) : mt__sys_sig_default(sig);
    if (r == 0) G.tab[sig] = (struct entry){fn, NULL};
  }
  mt__mutex_unlock(&G.lock, false);
  return r;
}

int mt_signal_getsignal(int sig, mt_signal_handler_t *fn, void **arg) {
  if (!mt_signal_is_valid(sig) || !fn) return MT_EINVAL;
  pthread_once(&once, init_module);
  void (*kfn)(int) = NULL;
  int k = mt__sys_sig_get(sig, &kfn);
  if (k < 0) return k;
  void *a = NULL;
  if (k == 0) *fn = MT_SIG_DFL;
  else if (k == 1) *fn = MT_SIG_IGN;
  else if (kfn != on_signal) *fn = MT_SIG_OTHER;
  else {
    mt__mutex_lock(&G.lock, false, MT__NO_DEADLINE);
    *fn = G.tab[sig].fn;
    a = G.tab[sig].arg;
    mt__mutex_unlock(&G.lock, false);
  }
  if (arg) *arg = a;
  return 0;
}

/* ---- sending ------------------------------------------------------------- */

int mt_signal_kill(pid_t pid, int sig) {
  if (sig != 0 && !mt_signal_is_valid(sig)) return MT_EINVAL;
  return mt__sys_kill(pid, sig);
}

int mt_signal_killpg(pid_t pgrp, int sig) {
  if (sig != 0 && !mt_signal_is_valid(sig)) return MT_EINVAL;
  return mt__sys_killpg(pgrp, sig);
}

static bool ours_installed(int sig) {
  void (*kfn)(int) = NULL;
  return mt__sys_sig_get(sig, &kfn) == 2 && kfn == on_signal;
}

int mt_signal_raise_signal(int sig) {
  if (!mt_signal_is_valid(sig)) return MT_EINVAL;
  pthread_once(&once, init_module);
  __atomic_add_fetch(&G.waiters, 1, __ATOMIC_SEQ_CST);
  uint32_t before = __atomic_load_n(&G.runs[sig], __ATOMIC_SEQ_CST);
  sigset_t cur;
  mt__sys_sigmask(SIG_BLOCK, NULL, &cur);
  bool wait = ours_installed(sig) && !sigismember(&cur, sig) &&
              mt__gettid() != __atomic_load_n(&G.tid, __ATOMIC_ACQUIRE);
  int r = mt__sys_raise(sig);
  if (r < 0 || !wait) {
    __atomic_sub_fetch(&G.waiters, 1, __ATOMIC_SEQ_CST);
    return r;
  }
  /* Until the handler ran; re-check now and then that it is still ours
   * (replaced by SIG_DFL meanwhile, it never will).  Not interrupted: the
   * handler we wait for is what raises an opted-in thread's interrupt,
   * which stays pending for its next wait (docs/signals.md). */
  r = 0;
  mt__intr_t *in = mt__set_intr(NULL);
  while (__atomic_load_n(&G.runs[sig], __ATOMIC_ACQUIRE) == before) {
    int64_t dl;
    mt__deadline(0.1, &dl);
    int w = mt__word_park(&G.runs[sig], before, false, dl);
    if (w == MT_ECANCELLED) { /* raised; the task's wait for its handler ends */
      r = w;
      break;
    }
    if (!ours_installed(sig)) break;
  }
  mt__set_intr(in);
  __atomic_sub_fetch(&G.waiters, 1, __ATOMIC_SEQ_CST);
  return r;
}

/* ---- timers and waits ----------------------------------------------------- */

unsigned mt_signal_alarm(unsigned seconds) { return mt__sys_alarm(seconds); }

int mt_signal_pause(double timeout) {
  int64_t dl;
  int r = mt__deadline(timeout, &dl);
  if (r) return r;
  pthread_once(&once, init_module);
  if (G.running && mt__gettid() == __atomic_load_n(&G.tid, __ATOMIC_ACQUIRE))
    return MT_EDEADLK;
  __atomic_add_fetch(&G.waiters, 1, __ATOMIC_SEQ_CST);
  uint32_t g = __atomic_load_n(&G.handled, __ATOMIC_SEQ_CST);
  /* Not interrupted: a handler's run, which is what pause waits for, raises
   * an opted-in thread's interrupt BEFORE `handled` moves; the interrupt
   * stays pending for the thread's next wait (docs/signals.md). */
  mt__intr_t *in = mt__set_intr(NULL);
  for (;;) {
    if (__atomic_load_n(&G.handled, __ATOMIC_ACQUIRE) != g) {
      r = 0;
      break;
    }
    int w = mt__word_park(&G.handled, g, false, dl); /* a coroutine parks its task */
    if (w < 0) {
      r = __atomic_load_n(&G.handled, __ATOMIC_ACQUIRE) != g ? 0 : w;
      if (r == 0) mt__wait_cancel_undelivered(w); /* a handler ran after all */
      break;
    }
  }
  mt__set_intr(in);
  __atomic_sub_fetch(&G.waiters, 1, __ATOMIC_SEQ_CST);
  return r;
}

static bool time_ok(double s) { return s >= 0 && s < 1e9; }

int mt_signal_setitimer(int which, double seconds, double interval, double *old_seconds,
                        double *old_interval) {
  if (!time_ok(seconds) || !time_ok(interval)) return MT_EINVAL;
  return mt__sys_setitimer(which, seconds, interval, old_seconds, old_interval);
}

int mt_signal_getitimer(int which, double *seconds, double *interval) {
  if (!seconds || !interval) return MT_EINVAL;
  return mt__sys_getitimer(which, seconds, interval);
}

int mt_signal_sigwait(const sigset_t *set, double timeout) {
  int64_t dl;
  int r = mt__deadline(timeout, &dl);
  if (r) return r;
  if (!set) return MT_EINVAL;
  if (!mt__get_parker()) return mt__sys_sigtimedwait(set, dl);
  /* A coroutine under a scheduler must not block its thread: it parks on a
   * signalfd of the set (readable while one is pending for this thread,
   * the one its scheduler polls on) and takes the signal without waiting.
   * A cancellation point, as every descriptor wait. */
  int fd = mt__sys_signalfd(set);
  if (fd < 0) return fd;
  for (;;) {
    r = mt__sys_sigtimedwait(set, 0); /* deadline passed: only takes one */
    if (r != MT_ETIMEDOUT) break;
    r = mt__wait_fd(fd, POLLIN, dl);
    if (r < 0) break;
  }
  mt__sys_close(fd);
  return r;
}

int mt_signal_pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
  if (how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK) return MT_EINVAL;
  return mt__sys_sigmask(how, set, old);
}

/* ---- interrupting blocked waits ----------------------------------------- */

static _Thread_local bool library_thread;
void mt__signal_library_thread(void) { library_thread = true; }

int mt_signal_set_interruptible(int on) {
  if (on != 0 && on != 1) return MT_EINVAL;
  /* a hub's task and the library's own threads are never interrupted */
  if (on && (mt__get_parker() || library_thread)) return MT_EPERM;
  pthread_once(&once, init_module);
  struct intr_rec *r = pthread_getspecific(intr_key);
  int was = r != NULL;
  if (on == was) return was;
  if (!on) {
    pthread_setspecific(intr_key, NULL);
    intr_drop(r);
    return was;
  }
  if (!(r = calloc(1, sizeof *r))) return MT_ENOMEM;
  int fd = mt__sys_eventfd();
  if (fd < 0) {
    free(r);
    return fd;
  }
  r->in.efd = fd;
  if (pthread_setspecific(intr_key, r) != 0) {
    mt__sys_close(fd);
    free(r);
    return MT_ENOMEM;
  }
  mt__mutex_lock(&G.lock, false, MT__NO_DEADLINE);
  intr_link_locked(r);
  mt__mutex_unlock(&G.lock, false);
  mt__set_intr(&r->in);
  return was;
}

int mt_signal_is_interruptible(void) {
  pthread_once(&once, init_module);
  return pthread_getspecific(intr_key) != NULL;
}

int mt__signal_fd(void) { return atomic_load(&sig_efd); }

int mt__signal_intr_fd(void) {
  pthread_once(&once, init_module);
  struct intr_rec *r = pthread_getspecific(intr_key);
  return r ? r->in.efd : -1;
}
