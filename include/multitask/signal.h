/* multitask/signal.h - Python's signal module (signal, getsignal, SIG_DFL,
 * SIG_IGN, alarm, pause, setitimer/getitimer, sigtimedwait, raise_signal,
 * pthread_sigmask, strsignal) and os.kill/os.killpg.  docs/signals.md maps
 * each Python name and states the safety rules.
 *
 * Handlers run in NORMAL context.  The library's own sigaction handler only
 * records the signal and writes to an eventfd (async-signal-safe); the
 * handler you register then runs on ONE library thread, the signal
 * dispatcher (started by the first mt_signal_signal with a function), so it
 * may lock, allocate and print.  Python runs handlers on its main thread;
 * here no user thread is interrupted at all.  Handlers run one at a time,
 * in signal-number order when several are pending; a standard signal
 * arriving several times before its handler runs runs it once (the kernel
 * merges them too).
 *
 * After fork: a child inherits the dispositions and the handlers
 * (registered before the fork); the library starts a fresh dispatcher in
 * the child, so the same handlers run there, on the child's copy of their
 * argument.  Signals recorded but not yet dispatched in the parent are not
 * run in the child (POSIX: a child starts with no pending signal).
 *
 * Blocked library waits are not interrupted by signals (PEP 475's retry),
 * except in threads that opt in with mt_signal_set_interruptible. */
#ifndef MULTITASK_SIGNAL_H
#define MULTITASK_SIGNAL_H

#include <signal.h>
#include <sys/types.h>
#ifdef __GLIBC__
/* sigset_t also in a strict ISO C build (no POSIX feature macro) */
#include <bits/types/sigset_t.h>
#endif
#include "multitask/error.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* A handler: Python's handler(signum, frame), with your argument instead
 * of the frame. */
typedef void (*mt_signal_handler_t)(int signum, void *arg);
/* Python's SIG_DFL, SIG_IGN, and None (a handler installed outside the
 * library, returned by getsignal only). */
#define MT_SIG_DFL ((mt_signal_handler_t)0)
#define MT_SIG_IGN ((mt_signal_handler_t)1)
#define MT_SIG_OTHER ((mt_signal_handler_t)2)

/* signal.signal(signum, handler): handler runs on the dispatcher with arg;
 * MT_SIG_DFL / MT_SIG_IGN restore the default / ignore the signal.
 * 0, MT_EINVAL (bad number, SIGKILL/SIGSTOP, a function for a fault signal
 * SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGTRAP/SIGSYS, which cannot be deferred),
 * MT_EAGAIN / MT_EMFILE (the dispatcher could not be started). */
int mt_signal_signal(int signum, mt_signal_handler_t handler, void *arg);
/* signal.getsignal: stores the handler (MT_SIG_DFL, MT_SIG_IGN, a function
 * and its arg, or MT_SIG_OTHER) in *handler and *arg (arg may be NULL).
 * 0 or MT_EINVAL. */
int mt_signal_getsignal(int signum, mt_signal_handler_t *handler, void **arg);

/* os.kill(pid, sig) / os.killpg(pgrp, sig).  0, MT_ESRCH, MT_EPERM,
 * MT_EINVAL. */
int mt_signal_kill(pid_t pid, int signum);
int mt_signal_killpg(pid_t pgrp, int signum);
/* signal.raise_signal: sends signum to the calling thread.  As in Python,
 * a handler registered through the library has run when it returns
 * (unless called on the dispatcher, i.e. from a handler, or with signum
 * blocked in the caller).  0 or MT_EINVAL; MT_ECANCELLED when the calling
 * coroutine's task is cancelled or killed while it waits for the handler
 * (the signal was sent). */
int mt_signal_raise_signal(int signum);

/* signal.alarm(seconds): ONE alarm per process; a new one replaces the
 * previous and the seconds that were left of it are returned (0: none);
 * 0 cancels.  SIGALRM's default action terminates the process. */
unsigned mt_signal_alarm(unsigned seconds);
/* signal.pause with a timeout: waits until a handler registered through
 * the library has RUN (after the call began).  0, MT_ETIMEDOUT,
 * MT_EDEADLK (called from a handler), MT_EINVAL, MT_ECANCELLED (the calling
 * coroutine's task was cancelled or killed: it parks the task, not the
 * thread). */
int mt_signal_pause(double timeout);
/* signal.setitimer / getitimer: which is ITIMER_REAL (SIGALRM),
 * ITIMER_VIRTUAL (SIGVTALRM) or ITIMER_PROF (SIGPROF); seconds and interval
 * as doubles (0 disarms); the old values are stored if the pointers are not
 * NULL.  0 or MT_EINVAL. */
int mt_signal_setitimer(int which, double seconds, double interval, double *old_seconds,
                        double *old_interval);
int mt_signal_getitimer(int which, double *seconds, double *interval);
/* signal.sigtimedwait: waits for one of the signals in set to be pending
 * and takes it (no handler runs).  As in Python, the signals must be
 * blocked (mt_signal_pthread_sigmask) in the calling thread, and in every
 * other thread, or one of those may take them.  The signal number,
 * MT_ETIMEDOUT, MT_EINVAL; inside a coroutine hub's task it parks the task
 * (on a signalfd of set), and MT_ECANCELLED when the task is cancelled or
 * killed. */
int mt_signal_sigwait(const sigset_t *set, double timeout);
/* signal.pthread_sigmask(how, set) of the calling thread; old may be
 * NULL.  0 or MT_EINVAL. */
int mt_signal_pthread_sigmask(int how, const sigset_t *set, sigset_t *old);

/* ---- interrupting blocked waits (opt-in, per thread) ----------------- */
/* on = 1 opts the CALLING thread in: after a handler registered through
 * the library has run (for any signal), the thread's blocking library
 * call returns MT_EINTR: the one it is blocked in, or else its next call
 * that has to block (the interrupt is kept until a wait takes it, so a
 * handler that sets a flag is never missed between checking the flag and
 * blocking).  One MT_EINTR per handler run, however many waits follow;
 * a call that can finish without blocking (a free Lock, timeout 0)
 * finishes and leaves the interrupt for the next.  Covers the waits of
 * Lock/RLock, Semaphore, Event, Condition, Barrier, queues, futures,
 * thread join, pipe receive, pipe send (before its first byte: a message
 * is never cut), connection waits, Process join, Popen wait and
 * communicate (data read so far is kept, as after a timeout); private and
 * MT_SHARED alike.  on = 0 opts out and drops an interrupt not yet taken.
 * Default: off in every thread (Python's PEP 475: calls retry after a
 * handler).  Tasks of a coroutine hub are never interrupted (asyncio
 * runs handlers as callbacks and interrupts no task), nor are the
 * library's own threads (pool workers, the timer thread, the signal
 * dispatcher, where tasks, callbacks and handlers run): opting in there is
 * MT_EPERM (opting out works).  The previous setting (0 or 1), MT_EINVAL
 * (on not 0 or 1), MT_EPERM, MT_EMFILE / MT_ENOMEM (the thread's
 * eventfd). */
int mt_signal_set_interruptible(int on);
/* 1 if the calling thread opted in, else 0. */
int mt_signal_is_interruptible(void);

/* ---- the table (`kill -l`) ------------------------------------------- */
/* "SIGINT", "SIGRTMIN+3", ...; NULL for a number that is no signal. */
const char *mt_signal_name(int signum);
/* The number of "SIGINT", "INT" or "2"; MT_EINVAL if none. */
int mt_signal_from_name(const char *name);
/* signal.strsignal: "Interrupt", ...; NULL for no signal. */
const char *mt_signal_strsignal(int signum);
/* The default action, as signal(7) names it: "Term", "Core", "Ign",
 * "Stop", "Cont"; NULL for no signal. */
const char *mt_signal_default_action(int signum);
/* 1 if signum is a signal a program may send and handle (1..64 without
 * the two glibc keeps for itself), else 0.  Python's valid_signals(). */
int mt_signal_is_valid(int signum);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
