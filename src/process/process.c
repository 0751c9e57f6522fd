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
 *
 * Fork.  start() holds reg_lock across fork() so the child inherits a
 * consistent list; the child's fork handler closes the inherited pidfds of
 * its siblings and empties the list.  After a fork the library did not make
 * (the list may be mid-update) the handler only drops the list.  Objects made
 * before a fork carry the old mt__fork_generation(): using them in the child
 * (join, kill, ...) returns MT_EFORKED instead of waiting on somebody else's
 * child.  The check costs a load on paths that make a syscall anyway.
 *
 * Daemons and a parent killed by a signal.  A daemon child asks for SIGKILL
 * when its parent dies (PR_SET_PDEATHSIG), then re-checks getppid(): if the
 * parent died between fork and prctl it exits at once.  The death signal
 * fires when the THREAD that forked exits, not the process: so a daemon
 * started from any thread but the main one is forked by a library thread
 * that lives as long as the process (the "forker", started on first use).
 *
 * Lock order: forker_lock -> reg_lock.  Invariants: state moves NEW ->
 * RUNNING -> DONE only; a RUNNING child is on the list; pidfd >= 0 from start
 * until close/free (of the generation that started it).
 */
#include "multitask/process.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "platform/platform.h"
#include "sync/mutex.h"
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
  char *name;
  bool daemon;
  bool closed;
  bool detached;     /* freed by the user while running: the registry owns it */
  bool reaped_elsewhere;
  _Atomic int state;
  pid_t pid;
  int pidfd;
  int exitcode;
  uint32_t fork_gen; /* generation that made (and may wait for) it */
  struct mt_process *prev, *next;
};

static mt__mutex_t reg_lock;
static mt_process_t *reg_head;
static _Atomic unsigned name_counter;
static char ident_prefix[64]; /* "" in the main process, "1:" in Process-1 */
static _Thread_local mt_process_t *tl_forking;

static mt_process_t main_rec = {.kind = K_MAIN, .name = "MainProcess", .pidfd = -1,
                                .state = S_RUNNING};
static mt_process_t parent_rec = {.kind = K_PARENT, .pidfd = -1, .state = S_RUNNING};
static char parent_name[64];
static mt_process_t *self_proc = &main_rec;
static bool have_parent;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void at_exit(void);
static void forker_reset_in_child(void);

/* ---- registry -------------------------------------------------------- */

static void reg_add(mt_process_t *p) {
  p->prev = NULL;
  p->next = reg_head;
  if (reg_head) reg_head->prev = p;
  reg_head = p;
}

static void reg_remove(mt_process_t *p) {
  if (p->prev) p->prev->next = p->next;
  else reg_head = p->next;
  if (p->next) p->next->prev = p->prev;
  p->prev = p->next = NULL;
}

static void reg_lock_take(void) {
  /* A dead holder can only be a thread that did not survive a fork; the
   * list itself was re-made by the fork handler, so go on. */
  (void)mt__mutex_lock(&reg_lock, false, MT__NO_DEADLINE);
}
static void reg_lock_drop(void) { mt__mutex_unlock(&reg_lock, false); }

static void fork_child_reset(void) {
  if (tl_forking) {
    /* Our own fork: the list is consistent; close the siblings' pidfds. */
    for (mt_process_t *q = reg_head; q; q = q->next)
      if (q->pidfd >= 0) close(q->pidfd);
  }
  reg_head = NULL;
  mt__mutex_init(&reg_lock);
  forker_reset_in_child();
  if (parent_rec.pidfd >= 0) close(parent_rec.pidfd);
  parent_rec.pidfd = -1;
}

static void init_module(void) {
  mt__mutex_init(&reg_lock);
  mt__on_fork_child(fork_child_reset);
  atexit(at_exit);
}

static void ensure_init(void) { pthread_once(&init_once, init_module); }

/* Reaps p if it ended.  Caller holds reg_lock.  1 when done, 0 running. */
static int reap_locked(mt_process_t *p) {
  if (atomic_load(&p->state) == S_DONE) return 1;
  int code = 0;
  int r = mt__sys_reap_pidfd(p->pidfd, &code);
  if (r == 0) return 0;
  if (r < 0) p->reaped_elsewhere = true; /* somebody's waitpid(-1) took it */
  p->exitcode = code;
  reg_remove(p);
  atomic_store(&p->state, S_DONE);
  return 1;
}

static int reap(mt_process_t *p) {
  if (atomic_load(&p->state) == S_DONE) return 1;
  reg_lock_take();
  int r = reap_locked(p);
  reg_lock_drop();
  return r;
}

/* ---- objects ---------------------------------------------------------- */

static mt_process_t *proc_alloc(const mt_process_opts_t *opts) {
  ensure_init();
  mt_process_t *p = calloc(1, sizeof *p);
  if (!p) return mt__fail_null(MT_ENOMEM);
  p->kind = K_CHILD;
  p->pidfd = -1;
  p->fork_gen = mt__fork_generation();
  if (opts && opts->name) {
    p->name = strdup(opts->name);
  } else {
    char buf[96];
    snprintf(buf, sizeof buf, "Process-%s%u", ident_prefix,
             atomic_fetch_add(&name_counter, 1) + 1);
    p->name = strdup(buf);
  }
  if (!p->name) {
    free(p);
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

/* Python's _exit_function for the current process: terminate daemonic
 * children, then join every child (daemons get a grace period, then
 * SIGKILL).  Runs at exit() and when a child's target returns. */
static void cleanup_children(void) {
  reg_lock_take();
  for (mt_process_t *q = reg_head; q; q = q->next)
    if (q->daemon) mt__sys_pidfd_send_signal(q->pidfd, SIGTERM);
  reg_lock_drop();
  int64_t grace;
  mt__deadline(DAEMON_GRACE_S, &grace);
  for (;;) {
    reg_lock_take();
    mt_process_t *q = reg_head;
    reg_lock_drop();
    if (!q) break;
    int r = mt__wait_fd(q->pidfd, POLLIN, q->daemon ? grace : MT__NO_DEADLINE);
    if (r == MT_ETIMEDOUT) {
      mt__sys_pidfd_send_signal(q->pidfd, SIGKILL);
      r = mt__wait_fd(q->pidfd, POLLIN, MT__NO_DEADLINE);
    }
    reg_lock_take();
    if (!reap_locked(q) && r < 0) { /* cannot wait for it: give it up */
      reg_remove(q);
      atomic_store(&q->state, S_DONE);
    }
    reg_lock_drop();
    if (q->detached) {
      close(q->pidfd);
      free(q->name);
      free(q);
    }
  }
}

static void at_exit(void) { cleanup_children(); }

static void child_main(mt_process_t *p, pid_t parent_pid) {
  tl_forking = NULL;
  if (p->daemon) {
    mt__sys_set_pdeathsig(SIGKILL);
    if (getppid() != parent_pid) _exit(1); /* parent died before prctl */
  }
  /* Who we are and who our parent is (parent_rec's pidfd opens lazily). */
  snprintf(parent_name, sizeof parent_name, "%s", self_proc->name);
  parent_rec.name = parent_name;
  parent_rec.pid = parent_pid;
  atomic_store(&parent_rec.state, S_RUNNING);
  parent_rec.fork_gen = mt__fork_generation();
  have_parent = true;
  self_proc = p;
  const char *num = strrchr(p->name, '-');
  snprintf(ident_prefix, sizeof ident_prefix, "%s:", num ? num + 1 : "0");
  atomic_store(&name_counter, 0);
  p->pid = getpid();
  atomic_store(&p->state, S_RUNNING);

  int rc = p->runner ? p->runner->run(p->runner) : p->target(p->arg);
  fflush(NULL);
  cleanup_children();
  _exit(rc & 0xff);
}

/* ---- start ----------------------------------------------------------- */

/* Forks from the calling thread.  Called directly or by the forker. */
static int start_here(mt_process_t *p) {
  pid_t parent_pid = getpid();
  fflush(NULL); /* no buffered output printed twice */
  reg_lock_take();
  tl_forking = p;
  pid_t pid = fork();
  if (pid == 0) child_main(p, parent_pid); /* never returns */
  tl_forking = NULL;
  if (pid < 0) {
    int e = errno;
    reg_lock_drop();
    return -e;
  }
  int fd = mt__sys_pidfd_open(pid, 0);
  if (fd < 0) {
    reg_lock_drop();
    mt__sys_kill_and_reap(pid);
    return fd;
  }
  p->pid = pid;
  p->pidfd = fd;
  atomic_store(&p->state, S_RUNNING);
  reg_add(p);
  reg_lock_drop();
  return 0;
}

/* ---- the forker thread ------------------------------------------------ */

static mt__mutex_t forker_lock = {0, 0};
static uint32_t forker_req, forker_done;
static mt_process_t *forker_job;
static int forker_result;
static bool forker_running;

static void *forker_main(void *unused) {
  (void)unused;
  uint32_t seen = 0;
  for (;;) {
    uint32_t r = __atomic_load_n(&forker_req, __ATOMIC_ACQUIRE);
    if (r == seen) {
      mt__wait_word(&forker_req, seen, false, MT__NO_DEADLINE);
      continue;
    }
    seen = r;
    forker_result = start_here(forker_job);
    __atomic_store_n(&forker_done, r, __ATOMIC_RELEASE);
    mt__wake_word(&forker_done, INT32_MAX, false);
  }
  return NULL;
}

static void forker_reset_in_child(void) {
  mt__mutex_init(&forker_lock);
  forker_running = false;
  forker_req = forker_done = 0;
}

static int start_via_forker(mt_process_t *p) {
  mt__mutex_lock(&forker_lock, false, MT__NO_DEADLINE);
  if (!forker_running) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int e = pthread_create(&t, &a, forker_main, NULL);
    pthread_attr_destroy(&a);
    if (e) {
      mt__mutex_unlock(&forker_lock, false);
      return -e;
    }
    forker_running = true;
  }
  forker_job = p;
  uint32_t r = __atomic_add_fetch(&forker_req, 1, __ATOMIC_RELEASE);
  mt__wake_word(&forker_req, 1, false);
  while (__atomic_load_n(&forker_done, __ATOMIC_ACQUIRE) != r)
    mt__wait_word(&forker_done, __atomic_load_n(&forker_done, __ATOMIC_ACQUIRE), false,
                  MT__NO_DEADLINE);
  int result = forker_result;
  mt__mutex_unlock(&forker_lock, false);
  return result;
}

int mt_process_start(mt_process_t *p) {
  if (!p || p->kind != K_CHILD) return MT_EINVAL;
  if (p->closed) return MT_ECLOSED;
  if (atomic_load(&p->state) != S_NEW) return MT_ESTARTED;
  if (p->fork_gen != mt__fork_generation()) return MT_EFORKED;
  if (p->daemon && mt__gettid() != getpid()) return start_via_forker(p);
  return start_here(p);
}

/* ---- waiting and state ------------------------------------------------ */

/* Parent record: is the parent still there?  The pidfd is opened lazily
 * and trusted only if getppid() still names that pid afterwards. */
static int parent_pidfd(void) {
  if (parent_rec.pidfd < 0 && atomic_load(&parent_rec.state) != S_DONE) {
    int fd = mt__sys_pidfd_open(parent_rec.pid, 0);
    if (fd < 0 || getppid() != parent_rec.pid) {
      if (fd >= 0) close(fd);
      atomic_store(&parent_rec.state, S_DONE);
      return -1;
    }
    parent_rec.pidfd = fd;
  }
  return parent_rec.pidfd;
}

static int parent_wait(int64_t deadline) {
  int fd = parent_pidfd();
  if (fd < 0) return 0;
  int r = mt__wait_fd(fd, POLLIN, deadline);
  if (r == MT_ETIMEDOUT) return r;
  if (r > 0) atomic_store(&parent_rec.state, S_DONE);
  return r < 0 ? r : 0;
}

int mt_process_join(mt_process_t *p, double timeout) {
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r) return r;
  if (!p) return MT_EINVAL;
  if (p == self_proc) return MT_EDEADLK;
  if (p->kind == K_PARENT) return parent_wait(deadline);
  if ((r = check_child(p))) return r;
  for (;;) {
    if (reap(p)) return 0;
    r = mt__wait_fd(p->pidfd, POLLIN, deadline);
    if (r == MT_ETIMEDOUT) return reap(p) ? 0 : MT_ETIMEDOUT;
    if (r < 0) return r;
  }
}

int mt_process_is_alive(mt_process_t *p) {
  if (!p) return MT_EINVAL;
  if (p == self_proc) return 1;
  if (p->kind == K_PARENT) {
    if (parent_wait(0) == MT_ETIMEDOUT) return 1;
    return 0;
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
  if (p == self_proc || p->kind == K_MAIN) return MT_EAGAIN;
  if (p->kind == K_PARENT) return MT_ECHILD;
  if (atomic_load(&p->state) == S_NEW) return MT_ENOTSTARTED;
  if (atomic_load(&p->state) != S_DONE) {
    int r = check_child(p);
    if (r) return r;
    if (!reap(p)) return MT_EAGAIN;
  }
  if (p->reaped_elsewhere) return MT_ECHILD;
  *exitcode = p->exitcode;
  return 0;
}

pid_t mt_process_pid(const mt_process_t *p) {
  if (!p) return 0;
  if (p->kind == K_MAIN) return getpid();
  return p->pid;
}

const char *mt_process_name(const mt_process_t *p) { return p ? p->name : NULL; }

int mt_process_set_name(mt_process_t *p, const char *name) {
  if (!p || !name || p->kind != K_CHILD) return MT_EINVAL;
  if (atomic_load(&p->state) != S_NEW) return MT_ESTARTED;
  char *n = strdup(name);
  if (!n) return MT_ENOMEM;
  free(p->name);
  p->name = n;
  return 0;
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
  if (p->kind == K_PARENT) return parent_pidfd() >= 0 ? parent_rec.pidfd : MT_ESRCH;
  if (p->kind != K_CHILD) return MT_EINVAL;
  if (p->closed) return MT_ECLOSED;
  if (atomic_load(&p->state) == S_NEW) return MT_ENOTSTARTED;
  return p->pidfd;
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
  if (!p || p->kind != K_CHILD || p == self_proc) return;
  bool mine = p->fork_gen == mt__fork_generation();
  if (mine && atomic_load(&p->state) == S_RUNNING && !p->closed) {
    reg_lock_take();
    if (!reap_locked(p)) {
      p->detached = true; /* the registry reaps and frees it */
      reg_lock_drop();
      return;
    }
    reg_lock_drop();
  }
  if (mine && p->pidfd >= 0) close(p->pidfd);
  free(p->name);
  free(p);
}

/* ---- module functions ------------------------------------------------- */

mt_process_t *mt_current_process(void) { return self_proc; }

mt_process_t *mt_parent_process(void) { return have_parent ? &parent_rec : NULL; }

int mt_active_children(mt_process_t **out, int n) {
  ensure_init();
  if (n < 0 || (n > 0 && !out)) return MT_EINVAL;
  int live = 0;
  reg_lock_take();
  mt_process_t *q = reg_head;
  while (q) {
    mt_process_t *next = q->next;
    if (reap_locked(q)) {
      if (q->detached) {
        close(q->pidfd);
        free(q->name);
        free(q);
      }
    } else if (!q->detached) {
      if (live < n) out[live] = q;
      live++;
    }
    q = next;
  }
  reg_lock_drop();
  return live;
}

int mt_cpu_count(void) { return mt__cpu_count(); }
