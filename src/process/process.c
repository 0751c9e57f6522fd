/* process.c - multiprocessing.Process on fork + pidfd.
 *
 * Why pidfds.  Python waits for children with waitpid(pid) polled in a
 * loop (join with a timeout) or relies on SIGCHLD; both either busy-wait or
 * steal process-wide state.  A pidfd is a descriptor that becomes readable
 * when its child ends: join(timeout) is one mt__wait_fd with the deadline
 * computed once, and waitid(P_PIDFD) reaps exactly that child and never one
 * the user reaps elsewhere.  Signals go through pidfd_send_signal, so a
 * terminate() can never hit a recycled pid.
 *
 * The registry.  Every started, not yet reaped child is on a doubly linked
 * list guarded by reg_lock (an mt__mutex_t).  Reaping (waitid WNOHANG, never
 * blocking) happens under reg_lock and unlinks the child, so two threads
 * joining the same child never both reap it.  The list is what exit-time
 * cleanup (terminate daemons, join everybody: Python's _exit_function) and
 * active_children() walk, and it owns children freed while running
 * ("detached"): they are released by whoever reaps them next, so the library
 * never leaves a zombie.
 * Nothing reads an entry outside reg_lock: other threads (a Pool's manager
 * reaping and freeing dead workers) may free a handle at any moment, also
 * while the exit-time cleanup runs; that cleanup waits on a dup of the
 * pidfd and re-sweeps the list under the lock after each wait.  Nor does
 * anything read an entry after marking it DONE (finish_locked): the owner's
 * join sees DONE without the lock and its free follows at once.
 *
 * Fork.  start() holds reg_lock across fork() so the child inherits a
 * consistent list; the child's fork handler closes the inherited pidfds of
 * its siblings and empties the list.  After a fork the library did not make
 * (the list may be mid-update) the handler only drops the list.  Objects made
 * before a fork carry the old mt__fork_generation(): using them in the child
 * (join, kill, ...) returns MT_EFORKED instead of waiting on somebody else's
 * child.  The check costs a load on paths that make a syscall anyway.
 *
 * Exit (Python's threading._shutdown, then multiprocessing's
 * _exit_function).  The exit handler (at_exit, registered at first use)
 * first joins the non-daemon threads (thread.c), so a thread still running
 * normally may start children as before.  Then it closes the fork gate:
 * every fork the library makes (start, os.fork, the double fork and
 * daemonize, Popen when it forks) enters the gate first and leaves it once
 * the child is registered, in the parent only; a fork that finds it closed
 * is refused with MT_ECLOSED, and closing waits for the forks already in
 * (process_internal.h: inside only for the fork itself, the needed lock
 * taken before, every signal blocked).  So no library fork runs while
 * exit goes on to unregister the at-fork handlers (glibc 2.36 can abort
 * when a fork runs meanwhile: "array index 1 not less than array length
 * 1").  The gate is a
 * word on the fork page: a count of forks inside and a closed bit; the
 * child's fork handler reopens it (a child is not exiting).  The library's
 * destructor closes it too (unload, or exit when the handler never ran).
 * Last, cleanup_children joins a snapshot: the children listed when it
 * began.  A child started after that (not from this process's library
 * forks at exit, which the gate refuses, but in a child whose target
 * returned, whose cleanup runs with the gate open) is not waited for: it
 * is left running, orphaned when this process leaves (a daemon dies then:
 * its death signal follows the thread that forked it).  Waiting for the
 * registry to be empty instead never ended while another thread kept one
 * child running.
 *
 * Daemons and a parent killed by a signal.  A daemon child asks for SIGKILL
 * when its parent dies (PR_SET_PDEATHSIG), then re-checks getppid(): if the
 * parent died between fork and prctl it exits at once.  The death signal
 * fires when the THREAD that forked exits, not the process: so a daemon
 * started from any thread but the main one is forked by a library thread
 * that lives as long as the process (the "forker", started on first use).
 *
 * Signal masks.  A child begins with the mask of the thread that called
 * mt_process_start (the pool passes the mask of mt_pool_new's caller
 * instead, mt__process_set_child_mask), whichever thread forks it: the
 * forker, like every internal thread, blocks every signal, and a child
 * forked with that mask could not even be terminated.  So the mask is
 * captured and set in the child only when the forker forks or a mask was
 * given; a child forked on the caller's thread simply inherits it (two
 * system calls fewer per start).
 *
 * Cost.  On a virtualised machine a fork costs ~3 ms of CPU, mostly page
 * faults, and each page the parent writes after a fork (copy-on-write) or
 * a child touches adds ~10-75 us: start and join write as few pages as
 * they can (no thread-local write, no stream lock when nothing is
 * buffered, the registry and a record on the fork page that the at-fork
 * handlers write anyway (core.h), and the child leaves
 * through an _exit bound at load time, not lazily in every child).
 *
 * Lock order: forker_lock -> reg_lock.  Invariants: state moves NEW ->
 * RUNNING -> DONE only; a RUNNING child is on the list; pidfd >= 0 from start
 * until close/free (of the generation that started it).
 */
#include "multitask/process.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "platform/fork.h"
#include "platform/platform.h"
#include "process/process_internal.h"
#include "sync/mutex.h"
#include "thread/thread.h"
#include "wait/wait.h"

enum { K_CHILD, K_MAIN, K_PARENT };
enum { S_NEW, S_RUNNING, S_DONE };

/* Grace period a daemon gets between SIGTERM and SIGKILL at parent exit. */
#define DAEMON_GRACE_S 2.0

struct mt_process {
  int kind;
  int (*target)(void *arg);
  void *arg;
  mt_process_run_t *runner;
  char *name;          /* name_buf or the heap (long names) */
  char name_buf[48];   /* inline: no allocation to free after each fork */
  bool daemon;
  bool closed;
  bool detached;     /* freed by the user while running: the registry owns it */
  bool reaped_elsewhere;
  bool exit_wait;    /* listed when cleanup_children began: it waits for it */
  _Atomic int state;
  pid_t pid;
  int pidfd;
  int exitcode;
  bool mask_given;     /* child_mask set by mt__process_set_child_mask */
  sigset_t child_mask; /* the child's mask: see "Signal masks" */
  uint32_t fork_gen; /* generation that made (and may wait for) it */
  struct mt_process *prev, *next;
};

static mt_process_t main_rec = {.kind = K_MAIN, .name = "MainProcess", .pidfd = -1,
                                .state = S_RUNNING};

/* Everything start, join and free write lives in this one struct, which
 * sits on the fork page (core.h): the page the at-fork handlers write on
 * every fork anyway.  Each further page the parent writes per start+join
 * (this struct elsewhere, a record from the heap) would cost it one more
 * copy-on-write fault per child, and a fresh child copies as few pages as
 * possible too. */
struct proc_state {
  mt__mutex_t reg_lock;
  mt_process_t *reg_head;
  uint32_t fork_gate; /* forks inside | GATE_CLOSED: see "Exit" */
  _Atomic unsigned name_counter;
  bool have_parent;
  mt_process_t *self_proc;
  mt_process_t parent_rec;
  /* The child being forked by our start (set under reg_lock, across the
   * fork): in the child it says the list is whole.  Not thread-local: a
   * TLS write after fork costs the parent one more copy-on-write fault. */
  mt_process_t *forking;
  /* One record for mt_process_new on this page (record_get): a heap record
   * is one more page written per start+join. */
  _Atomic bool rec_free;
  mt_process_t rec;
  /* the forker thread */
  mt__mutex_t forker_lock;
  uint32_t forker_req, forker_done;
  mt_process_t *forker_job;
  int forker_result;
  bool forker_running;
};
static struct proc_state *S; /* set at load (proc_module_load) */

static void fork_child_reset(void);

/* Priority 101 (the first one not reserved): before the user's own
 * constructors, which may already ask for mt_process_current(). */
__attribute__((constructor(101))) static void proc_module_load(void) {
  S = mt__fork_page_take(sizeof *S);
  *S = (struct proc_state){.self_proc = &main_rec,
                           .parent_rec = {.kind = K_PARENT, .pidfd = -1, .state = S_RUNNING},
                           .rec_free = true};
  /* At load, not at first use: the child of ANY fork must find the fork
   * gate open (see "Exit"); the handler writes only the fork page, which
   * every child writes anyway.  mt__gettid first: its tid reset must run
   * before the library's fork handlers (as thread.c). */
  (void)mt__gettid();
  mt__on_fork_child(fork_child_reset);
}

static void fork_gate_close(void);

/* The library unloaded (dlclose), or exit() without at_exit having run:
 * no library fork from now on. */
__attribute__((destructor)) static void proc_module_unload(void) { fork_gate_close(); }

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void at_exit(void);
static void forker_reset_in_child(void);

/* ---- registry -------------------------------------------------------- */

/* reg_head is written under reg_lock, but stored atomically: the
 * exit-time cleanup peeks at it without the lock (relaxed; a plain store
 * would make that peek a data race, as TSan reported). */
static void reg_add(mt_process_t *p) {
  p->prev = NULL;
  p->next = S->reg_head;
  if (S->reg_head) S->reg_head->prev = p;
  __atomic_store_n(&S->reg_head, p, __ATOMIC_RELAXED);
}

static void reg_remove(mt_process_t *p) {
  if (p->prev) p->prev->next = p->next;
  else __atomic_store_n(&S->reg_head, p->next, __ATOMIC_RELAXED);
  if (p->next) p->next->prev = p->prev;
  p->prev = p->next = NULL;
}

static void reg_lock_take(void) {
  /* A dead holder can only be a thread that did not survive a fork; the
   * list itself was re-made by the fork handler, so go on. */
  (void)mt__mutex_lock(&S->reg_lock, false, MT__NO_DEADLINE);
}
static void reg_lock_drop(void) { mt__mutex_unlock(&S->reg_lock, false); }

static void fork_child_reset(void) {
  if (S->forking) {
    /* Our fork (or one racing with it while we hold reg_lock, so nobody
     * is mid-update): the list is whole; close the siblings' pidfds. */
    for (mt_process_t *q = S->reg_head; q; q = q->next)
      if (q->pidfd >= 0) close(q->pidfd);
  }
  S->forking = NULL;
  __atomic_store_n(&S->reg_head, NULL, __ATOMIC_RELAXED);
  /* Open, nobody inside: the forking thread does not leave it here, and
   * no other thread came along. */
  __atomic_store_n(&S->fork_gate, 0, __ATOMIC_RELAXED);
  mt__mutex_init(&S->reg_lock);
  forker_reset_in_child();
  if (S->parent_rec.pidfd >= 0) close(S->parent_rec.pidfd);
  S->parent_rec.pidfd = -1;
}

static void init_module(void) {
  mt__mutex_init(&S->reg_lock); /* of this process's generation */
  atexit(at_exit);
}

static void ensure_init(void) { pthread_once(&init_once, init_module); }

static void release_detached(mt_process_t *q);

/* Takes listed p off the list as DONE.  Caller holds S->reg_lock.
 * Once DONE is stored, p's owner may free it at any moment without the
 * lock (its join sees DONE lock-free, then mt_process_free frees), and the
 * fork-page record may already be a new process: so p is not read after
 * the store.  An entry the registry owns (detached) has no owner: it is
 * released here. */
static void finish_locked(mt_process_t *p) {
  bool detached = p->detached;
  reg_remove(p);
  atomic_store(&p->state, S_DONE);
  if (detached) release_detached(p);
}

/* Reaps p if it ended (a detached p is freed: see finish_locked).  Caller
 * holds S->reg_lock.  1 when done, 0 running.  *exitcode (if not NULL)
 * gets the code when this call reaps it. */
static int reap_locked(mt_process_t *p, int *exitcode) {
  if (atomic_load(&p->state) == S_DONE) return 1; /* the owner's own call */
  int code = 0;
  int r = mt__sys_reap_pidfd(p->pidfd, &code);
  if (r == 0) return 0;
  if (r < 0) p->reaped_elsewhere = true; /* somebody's waitpid(-1) took it */
  p->exitcode = code;
  if (exitcode) *exitcode = code;
  finish_locked(p);
  return 1;
}

static int reap(mt_process_t *p) {
  if (atomic_load(&p->state) == S_DONE) return 1;
  reg_lock_take();
  int r = reap_locked(p, NULL);
  reg_lock_drop();
  return r;
}

/* ---- objects ---------------------------------------------------------- */

static void free_name(mt_process_t *p) {
  if (p->name != p->name_buf) mt__free(p->name);
  p->name = NULL;
}

static int set_name(mt_process_t *p, const char *name) {
  size_t n = strlen(name);
  char *dst = n < sizeof p->name_buf ? p->name_buf : mt__malloc(n + 1);
  if (!dst) return MT_ENOMEM;
  memmove(dst, name, n + 1);
  if (p->name && p->name != dst) free_name(p);
  p->name = dst;
  return 0;
}

/* Appends the decimal digits of v at out; returns the new end. */
static char *put_uint(char *out, unsigned v) {
  char tmp[12];
  int n = 0;
  do tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (n) *out++ = tmp[--n];
  return out;
}

/* Python's naming: Process-N in the main process, Process-K:N in the child
 * named Process-K.  No stdio: a deep printf stack would fault more pages. */
static int default_name(mt_process_t *p) {
  char buf[sizeof p->name_buf + 64];
  char *o = buf;
  memcpy(o, "Process-", 8);
  o += 8;
  if (S->have_parent) {
    const char *dash = strrchr(S->self_proc->name, '-');
    const char *k = dash ? dash + 1 : "0";
    size_t n = strnlen(k, 40);
    memcpy(o, k, n);
    o += n;
    *o++ = ':';
  }
  o = put_uint(o, atomic_fetch_add(&S->name_counter, 1) + 1);
  *o = 0;
  return set_name(p, buf);
}

/* Records.  The one on the fork page first (see struct proc_state), then
 * the heap: a new/start/join/free loop then writes no heap page, nor the
 * TLS page (glibc's free() saves and restores errno). */
static mt_process_t *record_get(void) {
  if (atomic_exchange(&S->rec_free, false)) return &S->rec;
  return mt__malloc(sizeof(mt_process_t));
}

static void record_put(mt_process_t *p) {
  if (p == &S->rec) atomic_store(&S->rec_free, true);
  else mt__free(p);
}

static mt_process_t *proc_alloc(const mt_process_opts_t *opts) {
  if (opts && !mt__opts_size_ok(opts->size, sizeof(mt_process_opts_t)))
    return mt__fail_null(MT_EINVAL);
  ensure_init();
  mt_process_t *p = record_get();
  if (!p) return mt__fail_null(MT_ENOMEM);
  memset(p, 0, sizeof *p);
  p->kind = K_CHILD;
  p->pidfd = -1;
  p->fork_gen = mt__fork_generation();
  if ((opts && opts->name ? set_name(p, opts->name) : default_name(p)) < 0) {
    record_put(p);
    return mt__fail_null(MT_ENOMEM);
  }
  p->daemon = opts ? opts->daemon : false;
  return p;
}

mt_process_t *mt_process_new(int (*target)(void *arg), void *arg,
                             const mt_process_opts_t *opts) {
  if (!target) return mt__fail_null(MT_EINVAL);
  mt_process_t *p = proc_alloc(opts);
  if (p) {
    p->target = target;
    p->arg = arg;
  }
  return p;
}

mt_process_t *mt_process_new_run(mt_process_run_t *self, const mt_process_opts_t *opts) {
  if (!self || !self->run) return mt__fail_null(MT_EINVAL);
  mt_process_t *p = proc_alloc(opts);
  if (p) p->runner = self;
  return p;
}

/* Common checks for calls that act on a child: 0 or the code. */
static int check_child(const mt_process_t *p) {
  if (!p) return MT_EINVAL;
  if (p->kind != K_CHILD) return MT_EINVAL;
  if (p->closed) return MT_ECLOSED;
  if (atomic_load(&p->state) == S_NEW) return MT_ENOTSTARTED;
  if (p->fork_gen != mt__fork_generation()) return MT_EFORKED;
  return 0;
}

/* ---- the child side --------------------------------------------------- */

/* Frees an entry the registry owns (detached) once it is reaped.  Caller
 * holds S->reg_lock; q is off the list (finish_locked). */
static void release_detached(mt_process_t *q) {
  close(q->pidfd);
  free_name(q);
  record_put(q);
}

/* Reaps every listed child that ended (reap_locked frees those the
 * registry owns).  Caller holds S->reg_lock. */
static void sweep_locked(void) {
  for (mt_process_t *q = S->reg_head, *next; q; q = next) {
    next = q->next;
    (void)reap_locked(q, NULL);
  }
}

/* Python's _exit_function for the current process: terminate daemonic
 * children, then join every child (daemons get a grace period, then
 * SIGKILL).  Runs at exit() and when a child's target returns.  It handles
 * the children listed when it begins (exit_wait), not those started later
 * (see "Exit").
 *
 * Other threads go on meanwhile (a process pool's manager reaps its dead
 * workers and frees their handles), so no entry is touched without
 * S->reg_lock: the wait outside the lock is on a duplicate of the child's
 * pidfd taken under the lock, and afterwards the registry is swept again
 * (the owner may have reaped and freed that child in between; a record
 * made anew since has exit_wait false: proc_alloc clears it before the
 * record is listed). */
static void cleanup_children(void) {
  if (!__atomic_load_n(&S->reg_head, __ATOMIC_RELAXED)) return; /* no fault */
  mt__set_intr(NULL); /* the exit's join is not interrupted (the thread is leaving) */
  reg_lock_take();
  for (mt_process_t *q = S->reg_head; q; q = q->next) {
    q->exit_wait = true;
    if (q->daemon) mt__sys_pidfd_send_signal(q->pidfd, SIGTERM);
  }
  reg_lock_drop();
  int64_t grace;
  mt__deadline(DAEMON_GRACE_S, &grace);
  for (;;) {
    reg_lock_take();
    sweep_locked(); /* reaps every ended child, of the snapshot or not */
    mt_process_t *q = S->reg_head;
    while (q && !q->exit_wait) q = q->next;
    pid_t pid = q ? q->pid : 0;
    bool daemon = q && q->daemon;
    int fd = q ? fcntl(q->pidfd, F_DUPFD_CLOEXEC, 0) : -1;
    int e = errno;
    reg_lock_drop();
    if (!q) break;
    /* nocancel: exit() called from a killed task still reaps its children */
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int r = fd < 0 ? -e : mt__wait_fds_nocancel(&pf, 1, daemon ? grace : MT__NO_DEADLINE);
    if (r == MT_ETIMEDOUT) {
      mt__sys_pidfd_send_signal(fd, SIGKILL);
      r = mt__wait_fds_nocancel(&pf, 1, MT__NO_DEADLINE);
    }
    if (fd >= 0) close(fd);
    if (r >= 0) continue; /* it ended: the next sweep reaps it */
    /* Cannot wait for it (no descriptor left for the duplicate, ...): give
     * it up, if the same child is still listed.  It stays listed and
     * RUNNING, as a child started after the snapshot: marking it DONE
     * without reaping it would hand its owner a made-up exit code. */
    reg_lock_take();
    for (mt_process_t *c = S->reg_head; c; c = c->next)
      if (c == q && c->exit_wait && c->pid == pid) {
        c->exit_wait = false;
        break;
      }
    reg_lock_drop();
  }
}

/* ---- the fork gate (see "Exit") ----------------------------------------- */

#define GATE_CLOSED 0x80000000u

static void block_signals(sigset_t *saved) {
  sigset_t all;
  sigfillset(&all);
  mt__sys_sigmask(SIG_SETMASK, &all, saved);
}

int mt__fork_gate_enter(sigset_t *saved) {
  ensure_init(); /* at_exit, which closes the gate */
  if (saved) block_signals(saved);
  uint32_t g = __atomic_load_n(&S->fork_gate, __ATOMIC_RELAXED);
  do {
    if (g & GATE_CLOSED) {
      if (saved) mt__sys_sigmask(SIG_SETMASK, saved, NULL);
      return MT_ECLOSED;
    }
  } while (!__atomic_compare_exchange_n(&S->fork_gate, &g, g + 1, true, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED));
  return 0;
}

void mt__fork_gate_leave(const sigset_t *saved) {
  if (__atomic_sub_fetch(&S->fork_gate, 1, __ATOMIC_RELEASE) == GATE_CLOSED)
    mt__wake_word(&S->fork_gate, INT32_MAX, false); /* the last one out: the closer */
  if (saved) mt__sys_sigmask(SIG_SETMASK, saved, NULL);
}

/* Closes the gate and waits until the forks inside have left.  Waits on
 * the thread (kernel), not as a task: the process is leaving. */
static void fork_gate_close(void) {
  uint32_t g = __atomic_or_fetch(&S->fork_gate, GATE_CLOSED, __ATOMIC_ACQUIRE);
  while (g != GATE_CLOSED) {
    (void)mt__wait_word_kernel(&S->fork_gate, g, false, MT__NO_DEADLINE);
    g = __atomic_load_n(&S->fork_gate, __ATOMIC_ACQUIRE);
  }
}

/* exit(): the non-daemon threads first (they may still start children),
 * then no more library forks, then the children listed now. */
static void at_exit(void) {
  mt__thread_join_non_daemon();
  fork_gate_close();
  cleanup_children();
}

/* fflush only when something is buffered: glibc's FILE exposes the write
 * pointers, and a call the child never made before costs page faults. */
static void flush_std(FILE *f) {
#ifdef __GLIBC__
  if (f->_IO_write_ptr == f->_IO_write_base) return;
#endif
  fflush(f);
}

/* Before fork: flush what is buffered, so that it is not printed twice.
 * fflush(NULL) locks every stream and the stream list: writes to pages the
 * last fork left write-protected, a copy-on-write fault each (~75 us here,
 * a fork costs ~3 ms).  With glibc, when the only streams are the three
 * standard ones (the list is stderr -> stdout -> stdin, as at startup),
 * fflush(NULL) would flush just stdout and stderr, so only those are
 * looked at, without a lock when they are empty. */
#ifdef __GLIBC__
extern FILE *_IO_list_all; /* glibc's stream list (exported, GLIBC_2.2.5) */
#endif
static void flush_before_fork(void) {
#ifdef __GLIBC__
  FILE *head = __atomic_load_n(&_IO_list_all, __ATOMIC_ACQUIRE);
  if (head == stderr && __atomic_load_n(&stderr->_chain, __ATOMIC_RELAXED) == stdout &&
      __atomic_load_n(&stdout->_chain, __ATOMIC_RELAXED) == stdin &&
      __atomic_load_n(&stdin->_chain, __ATOMIC_RELAXED) == NULL) {
    flush_std(stdout);
    flush_std(stderr);
    return;
  }
#endif
  fflush(NULL);
}

static void child_main(mt_process_t *p, pid_t parent_pid) {
  /* Forked on the caller's thread without a given mask, the child already
   * has the caller's mask (see "Signal masks"). */
  if (p->mask_given) mt__sys_sigmask(SIG_SETMASK, &p->child_mask, NULL);
  if (p->daemon) {
    mt__sys_set_pdeathsig(SIGKILL);
    if (getppid() != parent_pid) _exit(1); /* parent died before prctl */
  }
  /* Who we are and who our parent is (S->parent_rec's pidfd opens lazily). */
  S->parent_rec.name = S->self_proc->name; /* the copy of the parent's string */
  S->parent_rec.pid = parent_pid;
  atomic_store(&S->parent_rec.state, S_RUNNING);
  S->parent_rec.fork_gen = mt__fork_generation();
  S->have_parent = true;
  S->self_proc = p; /* p itself is not written: its page stays shared */
  atomic_store(&S->name_counter, 0);

  int rc = p->runner ? p->runner->run(p->runner) : p->target(p->arg);
  flush_std(stdout); /* as Python's child: its other FILEs are the user's */
  flush_std(stderr);
  cleanup_children();
  mt__sys_exit_now(rc & 0xff);
}

/* ---- start ----------------------------------------------------------- */

/* Forks from the calling thread.  Called directly or by the forker.
 * Inside the fork gate from before the fork until the child is listed. */
static int start_here(mt_process_t *p) {
  pid_t parent_pid = mt__getpid();
  flush_before_fork();
  /* The lock first, then the gate: nothing parks inside it (see "Exit"). */
  reg_lock_take();
  sigset_t saved; /* restored only once the lock is dropped: a handler may exit() */
  block_signals(&saved);
  int r = mt__fork_gate_enter(NULL);
  if (r < 0) {
    reg_lock_drop();
    mt__sys_sigmask(SIG_SETMASK, &saved, NULL);
    return r;
  }
  S->forking = p;
  pid_t pid = mt__sys_fork();
  if (pid == 0) {
    mt__sys_sigmask(SIG_SETMASK, &saved, NULL); /* the caller's, as before */
    child_main(p, parent_pid); /* never returns */
  }
  S->forking = NULL;
  if (pid < 0) {
    r = -errno;
  } else if ((r = mt__sys_pidfd_open(pid, 0)) >= 0) {
    p->pid = pid;
    p->pidfd = r;
    atomic_store(&p->state, S_RUNNING);
    reg_add(p);
    r = 0;
  }
  mt__fork_gate_leave(NULL);
  reg_lock_drop();
  mt__sys_sigmask(SIG_SETMASK, &saved, NULL);
  if (pid > 0 && r < 0) mt__sys_kill_and_reap(pid); /* no pidfd: cannot track it */
  return r;
}

/* ---- os.fork, registered (src/process/fork.c) -------------------------- */

/* Like start_here, but the child returns into the caller's code instead of
 * running a target: 0 in the child, the pid in the parent (*child set). */
pid_t mt__process_fork(mt_process_t **child, const mt_process_opts_t *opts) {
  mt_process_t *p = proc_alloc(opts);
  if (!p) return -errno;
  pid_t parent_pid = mt__getpid();
  flush_before_fork();
  reg_lock_take(); /* then the gate, as in start_here */
  sigset_t saved;
  block_signals(&saved);
  int r = mt__fork_gate_enter(NULL);
  if (r < 0) {
    reg_lock_drop();
    mt__sys_sigmask(SIG_SETMASK, &saved, NULL);
    free_name(p);
    record_put(p);
    return r;
  }
  S->forking = p;
  pid_t pid = mt__sys_fork();
  if (pid == 0) {
    mt__sys_sigmask(SIG_SETMASK, &saved, NULL);
    if (p->daemon) {
      mt__sys_set_pdeathsig(SIGKILL);
      if (getppid() != parent_pid) _exit(1);
    }
    S->parent_rec.name = S->self_proc->name;
    S->parent_rec.pid = parent_pid;
    atomic_store(&S->parent_rec.state, S_RUNNING);
    S->parent_rec.fork_gen = mt__fork_generation();
    S->have_parent = true;
    S->self_proc = p;
    p->pid = getpid();
    atomic_store(&S->name_counter, 0);
    return 0; /* the child: its gate is a fresh one (fork_child_reset) */
  }
  S->forking = NULL;
  int fd = pid < 0 ? -errno : mt__sys_pidfd_open(pid, 0);
  if (fd < 0) {
    mt__fork_gate_leave(NULL);
    reg_lock_drop();
    mt__sys_sigmask(SIG_SETMASK, &saved, NULL);
    if (pid > 0) mt__sys_kill_and_reap(pid);
    free_name(p);
    record_put(p);
    return fd;
  }
  p->pid = pid;
  p->pidfd = fd;
  atomic_store(&p->state, S_RUNNING);
  reg_add(p);
  mt__fork_gate_leave(NULL);
  reg_lock_drop();
  mt__sys_sigmask(SIG_SETMASK, &saved, NULL);
  *child = p;
  return pid;
}

/* For waitpid on a registered child: a duplicate of its pidfd (the caller
 * closes it), or -1 if pid is no registered child of this process. */
int mt__process_pidfd_dup(pid_t pid) {
  ensure_init();
  int fd = -1;
  reg_lock_take();
  for (mt_process_t *q = S->reg_head; q; q = q->next)
    if (q->pid == pid) {
      fd = fcntl(q->pidfd, F_DUPFD_CLOEXEC, 0);
      break;
    }
  reg_lock_drop();
  return fd;
}

/* Reaps registered child pid through the registry (its object keeps the
 * exit code): 1 reaped (*exitcode, Python style), 0 running, MT_ECHILD if
 * pid is not registered. */
int mt__process_reap_pid(pid_t pid, int *exitcode) {
  ensure_init();
  int r = MT_ECHILD;
  reg_lock_take();
  for (mt_process_t *q = S->reg_head; q; q = q->next) {
    if (q->pid != pid) continue;
    r = reap_locked(q, exitcode); /* q is not read after: see finish_locked */
    break;
  }
  reg_lock_drop();
  return r;
}

/* ---- the forker thread ------------------------------------------------ */


static void *forker_main(void *unused) {
  (void)unused;
  uint32_t seen = 0;
  for (;;) {
    uint32_t r = __atomic_load_n(&S->forker_req, __ATOMIC_ACQUIRE);
    if (r == seen) {
      mt__wait_word(&S->forker_req, seen, false, MT__NO_DEADLINE);
      continue;
    }
    seen = r;
    S->forker_result = start_here(S->forker_job);
    __atomic_store_n(&S->forker_done, r, __ATOMIC_RELEASE);
    mt__wake_word(&S->forker_done, INT32_MAX, false);
  }
  return NULL;
}

static void forker_reset_in_child(void) {
  mt__mutex_init(&S->forker_lock);
  S->forker_running = false;
  S->forker_req = S->forker_done = 0;
}

static int start_via_forker(mt_process_t *p) {
  mt__mutex_lock(&S->forker_lock, false, MT__NO_DEADLINE);
  if (!S->forker_running) {
    pthread_t t;
    int e = mt__thread_create(&t, 0, true, true, forker_main, NULL);
    if (e < 0) {
      mt__mutex_unlock(&S->forker_lock, false);
      return e;
    }
    S->forker_running = true;
  }
  S->forker_job = p;
  uint32_t r = __atomic_add_fetch(&S->forker_req, 1, __ATOMIC_RELEASE);
  mt__wake_word(&S->forker_req, 1, false);
  /* A compact task must not park here: the child is a copy of this
   * moment's memory, and a parked compact task's stack (where arg/self
   * usually point) is copied out, another task's bytes in its place.  The
   * fork takes microseconds: such a caller waits with its thread. */
  bool stay = mt__stack_copied();
  uint32_t d;
  while ((d = __atomic_load_n(&S->forker_done, __ATOMIC_ACQUIRE)) != r) {
    if (stay) (void)mt__wait_word_kernel(&S->forker_done, d, false, MT__NO_DEADLINE);
    else mt__wait_word(&S->forker_done, d, false, MT__NO_DEADLINE);
  }
  int result = S->forker_result;
  mt__mutex_unlock(&S->forker_lock, false);
  return result;
}

int mt_process_start(mt_process_t *p) {
  if (!p || p->kind != K_CHILD) return MT_EINVAL;
  if (p->closed) return MT_ECLOSED;
  if (atomic_load(&p->state) != S_NEW) return MT_ESTARTED;
  if (p->fork_gen != mt__fork_generation()) return MT_EFORKED;
  if (p->daemon && mt__gettid() != mt__getpid()) {
    /* The forker blocks every signal: hand the child our mask. */
    if (!p->mask_given) mt__sys_sigmask(SIG_BLOCK, NULL, &p->child_mask);
    p->mask_given = true;
    return start_via_forker(p);
  }
  return start_here(p);
}

void mt__process_set_child_mask(mt_process_t *p, const sigset_t *mask) {
  p->child_mask = *mask;
  p->mask_given = true;
}

/* ---- waiting and state ------------------------------------------------ */

/* Parent record: is the parent still there?  The pidfd is opened lazily
 * and trusted only if getppid() still names that pid afterwards. */
static int parent_pidfd(void) {
  if (S->parent_rec.pidfd < 0 && atomic_load(&S->parent_rec.state) != S_DONE) {
    int fd = mt__sys_pidfd_open(S->parent_rec.pid, 0);
    if (fd < 0 || getppid() != S->parent_rec.pid) {
      if (fd >= 0) close(fd);
      atomic_store(&S->parent_rec.state, S_DONE);
      return -1;
    }
    S->parent_rec.pidfd = fd;
  }
  return S->parent_rec.pidfd;
}

static int parent_wait(int64_t deadline) {
  int fd = parent_pidfd();
  if (fd < 0) return 0;
  int r = mt__wait_fd(fd, POLLIN, deadline);
  if (r == MT_ETIMEDOUT) return r;
  if (r > 0) atomic_store(&S->parent_rec.state, S_DONE);
  return r < 0 ? r : 0;
}

int mt_process_join(mt_process_t *p, double timeout) {
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r) return r;
  if (!p) return MT_EINVAL;
  if (p == S->self_proc) return MT_EDEADLK;
  if (p->kind == K_PARENT) return parent_wait(deadline);
  if ((r = check_child(p))) return r;
  for (;;) {
    if (reap(p)) return 0;
    r = mt__wait_fd(p->pidfd, POLLIN, deadline);
    if (r == MT_ETIMEDOUT) return reap(p) ? 0 : MT_ETIMEDOUT;
    if (r < 0) return r;
  }
}

/* First ended (reaped) entry, -1 if none.  0 or a code for bad entries. */
static int first_done(mt_process_t **ps, int n, int *bad) {
  *bad = 0;
  for (int i = 0; i < n; i++) {
    if (!ps[i]) continue;
    int r = check_child(ps[i]);
    if (r) {
      *bad = r;
      return -1;
    }
    if (reap(ps[i])) return i;
  }
  return -1;
}

int mt_process_wait_any(mt_process_t **ps, int n, double timeout) {
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r) return r;
  if (n < 0 || (n > 0 && !ps)) return MT_EINVAL;
  struct pollfd small[32], *fds = n <= 32 ? small : mt__calloc((size_t)n, sizeof *fds);
  if (!fds) return MT_ENOMEM;
  for (;;) {
    int bad, i = first_done(ps, n, &bad);
    if (bad || i >= 0) {
      r = bad ? bad : i;
      break;
    }
    int m = 0;
    for (int k = 0; k < n; k++)
      if (ps[k]) fds[m++] = (struct pollfd){.fd = ps[k]->pidfd, .events = POLLIN};
    if (m == 0) {
      r = MT_EINVAL;
      break;
    }
    r = mt__wait_fds(fds, m, deadline);
    if (r == MT_ETIMEDOUT) {
      i = first_done(ps, n, &bad);
      r = i >= 0 ? i : MT_ETIMEDOUT;
      break;
    }
    if (r < 0) break;
  }
  if (fds != small) mt__free(fds);
  return r;
}

int mt_process_is_alive(mt_process_t *p) {
  if (!p) return MT_EINVAL;
  if (p == S->self_proc) return 1;
  if (p->kind == K_PARENT) {
    /* 0 only when it is known gone: an error (a cancelled task's poll)
     * says nothing about the parent. */
    return parent_wait(0) == 0 ? 0 : 1;
  }
  if (p->kind != K_CHILD) return MT_EINVAL;
  if (atomic_load(&p->state) == S_NEW) return 0;
  int r = check_child(p);
  if (r == MT_ECLOSED) return 0;
  if (r) return r;
  return !reap(p);
}

int mt_process_exitcode(mt_process_t *p, int *exitcode) {
  if (!p || !exitcode) return MT_EINVAL;
  if (p == S->self_proc || p->kind == K_MAIN) return MT_ERUNNING;
  if (p->kind == K_PARENT) return MT_ECHILD;
  if (atomic_load(&p->state) == S_NEW) return MT_ENOTSTARTED;
  if (atomic_load(&p->state) != S_DONE) {
    int r = check_child(p);
    if (r) return r;
    if (!reap(p)) return MT_ERUNNING; /* Python's None */
  }
  if (p->reaped_elsewhere) return MT_ECHILD;
  *exitcode = p->exitcode;
  return 0;
}

pid_t mt_process_pid(const mt_process_t *p) {
  if (!p) return 0;
  if (p->kind == K_MAIN || p == S->self_proc) return getpid();
  return p->pid;
}

const char *mt_process_name(const mt_process_t *p) { return p ? p->name : NULL; }

int mt_process_set_name(mt_process_t *p, const char *name) {
  if (!p || !name || p->kind != K_CHILD) return MT_EINVAL;
  if (atomic_load(&p->state) != S_NEW) return MT_ESTARTED;
  return set_name(p, name);
}

int mt_process_is_daemon(const mt_process_t *p) { return p ? p->daemon : MT_EINVAL; }

int mt_process_set_daemon(mt_process_t *p, bool daemon) {
  if (!p || p->kind != K_CHILD) return MT_EINVAL;
  if (atomic_load(&p->state) != S_NEW) return MT_ESTARTED;
  p->daemon = daemon;
  return 0;
}

int mt_process_sentinel(const mt_process_t *p) {
  if (!p) return MT_EINVAL;
  if (p->kind == K_PARENT) return parent_pidfd() >= 0 ? S->parent_rec.pidfd : MT_ESRCH;
  if (p->kind != K_CHILD) return MT_EINVAL;
  int r = check_child(p);
  return r ? r : p->pidfd;
}

static int send_signal(mt_process_t *p, int sig) {
  int r = check_child(p);
  if (r) return r;
  if (atomic_load(&p->state) == S_DONE) return 0;
  r = mt__sys_pidfd_send_signal(p->pidfd, sig);
  return r == MT_ESRCH ? 0 : r; /* ended meanwhile: nothing to do */
}

int mt_process_terminate(mt_process_t *p) { return send_signal(p, SIGTERM); }
int mt_process_kill(mt_process_t *p) { return send_signal(p, SIGKILL); }

int mt_process_close(mt_process_t *p) {
  if (!p || p->kind != K_CHILD) return MT_EINVAL;
  if (p->closed) return 0;
  if (atomic_load(&p->state) == S_RUNNING) {
    if (p->fork_gen != mt__fork_generation()) return MT_EFORKED;
    if (!reap(p)) return MT_EBUSY;
  }
  if (p->pidfd >= 0 && p->fork_gen == mt__fork_generation()) close(p->pidfd);
  p->pidfd = -1;
  p->closed = true;
  return 0;
}

void mt_process_free(mt_process_t *p) {
  if (!p || p->kind != K_CHILD || p == S->self_proc) return;
  bool mine = p->fork_gen == mt__fork_generation();
  if (mine && atomic_load(&p->state) == S_RUNNING && !p->closed) {
    reg_lock_take();
    if (!reap_locked(p, NULL)) {
      p->detached = true; /* the registry reaps and frees it */
      reg_lock_drop();
      return;
    }
    reg_lock_drop();
  }
  if (mine && p->pidfd >= 0) close(p->pidfd);
  free_name(p);
  record_put(p);
}

/* ---- module functions ------------------------------------------------- */

mt_process_t *mt_process_current(void) { return S->self_proc; }

mt_process_t *mt_process_parent(void) { return S->have_parent ? &S->parent_rec : NULL; }

int mt_process_active_children(mt_process_t **out, int n) {
  ensure_init();
  if (n < 0 || (n > 0 && !out)) return MT_EINVAL;
  int live = 0;
  reg_lock_take();
  mt_process_t *q = S->reg_head;
  while (q) {
    mt_process_t *next = q->next;
    /* Still running: listed, and its owner's free takes reg_lock. */
    if (!reap_locked(q, NULL) && !q->detached) {
      if (live < n) out[live] = q;
      live++;
    }
    q = next;
  }
  reg_lock_drop();
  return live;
}

int mt_cpu_count(void) { return mt__cpu_count(); }
