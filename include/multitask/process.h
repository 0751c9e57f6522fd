/* multitask/process.h - Python's multiprocessing.Process and the module
 * functions current_process, parent_process, active_children, cpu_count.
 * docs/processes.md maps each Python name and states the fork-safety rules.
 *
 * A process is started with fork(): the child runs target(arg) and leaves
 * with _exit(return value & 0xff) after flushing stdio (as Python's child
 * leaves with os._exit).  The parent waits through a pidfd: join(timeout)
 * needs no SIGCHLD handler, never busy-loops and never reaps a child the
 * library did not start.  The library never leaves a zombie: a child is
 * reaped by join / is_alive / exitcode / active_children, by the free of a
 * finished process, or (freed while running) by the next active_children
 * or the exit of the parent.
 *
 * Daemon children are terminated (SIGTERM, then joined) when the parent
 * exits normally, as Python, AND killed (SIGKILL through PR_SET_PDEATHSIG)
 * when the parent process dies by a signal.
 *
 * At exit() (or return from main) the library joins the non-daemon
 * threads, then refuses every further fork of its own (MT_ECLOSED: start,
 * mt_os_fork, ...), then terminates the daemon children and joins the
 * children listed at that moment; children started later are not waited
 * for.  docs/processes.md, "At exit", has the details and caveats.
 *
 * One pidfd is held per started process until it is closed or freed:
 * a program keeping N process objects needs N descriptors (RLIMIT_NOFILE).
 */
#ifndef MULTITASK_PROCESS_H
#define MULTITASK_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>
#include "multitask/error.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

typedef struct mt_process mt_process_t;

typedef struct mt_process_opts {
  size_t size;      /* set by MT_PROCESS_OPTS_INIT; 0 is MT_EINVAL */
  const char *name; /* NULL: "Process-N" as Python */
  bool daemon;      /* default false (Python inherits from the creating
                       process: the main process is not a daemon) */
} mt_process_opts_t;
#define MT_PROCESS_OPTS_INIT {.size = sizeof(mt_process_opts_t)}

/* ---- "subclass" style ------------------------------------------------
 * Embed an mt_process_run_t as the FIRST member of your own struct and set
 * its run function; run receives the pointer to that member, i.e. your
 * struct (Python's `class MyProcess(Process): def run(self): ...`).
 *
 *   struct mailer { mt_process_run_t base; const char *to; };
 *   static int mailer_run(mt_process_run_t *self) {
 *     struct mailer *m = (struct mailer *)self; ... return 0; }
 *   struct mailer m = {{mailer_run}, "alex"};
 *   mt_process_t *p = mt_process_new_run(&m.base, NULL);
 */
typedef struct mt_process_run {
  int (*run)(struct mt_process_run *self);
} mt_process_run_t;

/* Makes a process object (not started) that runs target(arg) in the child.
 * The return value of target is the exit status (0..255).  opts may be
 * NULL.  NULL with errno = EINVAL (target NULL) or ENOMEM. */
mt_process_t *mt_process_new(int (*target)(void *arg), void *arg,
                             const mt_process_opts_t *opts);
/* Subclass style: the child runs self->run(self).  self must stay valid
 * until start returns (the child gets its own copy of the memory). */
mt_process_t *mt_process_new_run(mt_process_run_t *self, const mt_process_opts_t *opts);

/* Forks the child.  0, MT_ESTARTED (started twice), MT_EFORKED (the object
 * was made in a parent process), MT_EAGAIN / MT_ENOMEM (fork failed),
 * MT_EMFILE (no descriptor left for the pidfd: the child is then killed
 * and reaped at once), MT_ECLOSED (the process is exiting: its exit
 * handler has begun, no library fork any more; p stays unstarted).  The
 * child begins with the signal mask of the calling thread, also when a
 * library thread forks it (a daemon started from a thread other than the
 * main one).  No timeout: it waits only for the fork itself (done by a
 * library thread in some cases), never for the child. */
int mt_process_start(mt_process_t *p);
/* Waits until the child ends (and reaps it).  0 when it has ended,
 * MT_ETIMEDOUT (Python's join returning with the child alive),
 * MT_ENOTSTARTED, MT_EFORKED (not a child of the calling process: Python's
 * "can only join a child process"), MT_EINVAL (NULL, bad timeout). */
int mt_process_join(mt_process_t *p, double timeout);
/* 1 while the child runs, 0 before start and once it ended (reaps it),
 * negative code (MT_EINVAL, MT_EFORKED). */
int mt_process_is_alive(mt_process_t *p);
/* Python's exitcode without blocking: 0 and *exitcode = 0 (returned 0),
 * the exit status, or -N (killed by signal N) once ended; MT_ERUNNING while
 * running (Python's None; also for mt_process_current()), MT_ENOTSTARTED, MT_EINVAL, MT_EFORKED. */
int mt_process_exitcode(mt_process_t *p, int *exitcode);
/* Process id; 0 before start (and for NULL).  For current_process() / parent_process()
 * the id of that process. */
pid_t mt_process_pid(const mt_process_t *p);
const char *mt_process_name(const mt_process_t *p);
/* MT_ESTARTED after start. */
int mt_process_set_name(mt_process_t *p, const char *name);
int mt_process_is_daemon(const mt_process_t *p); /* 1 / 0 / MT_EINVAL */
/* Before start only (MT_ESTARTED after), as Python. */
int mt_process_set_daemon(mt_process_t *p, bool daemon);
/* Python's sentinel: a descriptor that becomes readable when the child
 * ends (the pidfd; owned by the object).  MT_ENOTSTARTED before start,
 * MT_ECLOSED after close, MT_EFORKED in a child of the owner. */
int mt_process_sentinel(const mt_process_t *p);

/* multiprocessing.connection.wait over sentinels: waits until one of the
 * n started processes has ended (and reaps it); returns its index (the
 * lowest if several), MT_ETIMEDOUT (an index, so not poll-style: join-
 * style, docs/api.md), or MT_EINVAL / MT_EFORKED /
 * MT_ENOTSTARTED / MT_ECLOSED for a bad entry (NULL entries are skipped).
 * Pools use it to notice a dead worker without polling each one. */
int mt_process_wait_any(mt_process_t **ps, int n, double timeout);

/* Sends SIGTERM / SIGKILL through the pidfd (never to a recycled pid).
 * 0 (also when the child already ended: Python does nothing then),
 * MT_ENOTSTARTED, MT_EFORKED, MT_EINVAL. */
int mt_process_terminate(mt_process_t *p);
int mt_process_kill(mt_process_t *p);

/* Python's close(): releases the pidfd.  MT_EBUSY while the child runs
 * (Python's ValueError); 0 otherwise.  Afterwards only name/pid/exitcode
 * queries work (others return MT_ECLOSED). */
int mt_process_close(mt_process_t *p);
/* Frees the object; never blocks (a finished child is reaped at once, a
 * running one is not waited for).  A child still running is not abandoned:
 * the library keeps its pidfd and reaps and releases it later, in
 * active_children() or at exit (terminating it first if it is a daemon);
 * until then an ended child stays a zombie.  To wait for it, mt_process_join(p, timeout)
 * first.  NULL is ignored; the current_process() and parent_process()
 * objects are never freed. */
void mt_process_free(mt_process_t *p);

/* ---- module functions ------------------------------------------------ */
/* The object of the calling process: "MainProcess" in a process the library
 * did not start, the mt_process_t (name, pid, daemon) in a child it started.
 * Never NULL; do not free. */
mt_process_t *mt_process_current(void);
/* The parent of a child the library started, NULL in the main process
 * (Python's None).  Supports pid, name, is_alive, join, sentinel.  Do not
 * free. */
mt_process_t *mt_process_parent(void);
/* Reaps every finished child of this process and stores up to n of the
 * live ones in out; returns how many are live (may exceed n).  Children
 * freed while running and now finished are released here. */
int mt_process_active_children(mt_process_t **out, int n);
/* CPUs this process may run on (the affinity mask, not the machine). */
int mt_cpu_count(void);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
