/* platform/sig.h - signal dispositions, sending, timers and synchronous
 * waits (Linux: sig_linux.c).  Used by src/signal/ and src/subprocess/. */
#ifndef MT_PLATFORM_SIG_H
#define MT_PLATFORM_SIG_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

/* Installs fn as the handler of sig (sigaction, SA_RESTART so interrupted
 * system calls restart as PEP 475 retries them; every signal blocked while
 * fn runs).  0 or a negative code. */
int mt__sys_sig_install(int sig, void (*fn)(int));
/* SIG_DFL for sig.  0 or a negative code. */
int mt__sys_sig_default(int sig);
/* The current disposition: 0 SIG_DFL, 1 SIG_IGN, 2 a handler (*fn set),
 * or a negative code. */
int mt__sys_sig_get(int sig, void (**fn)(int));
/* kill(pid, sig) / killpg(pgrp, sig).  0 or a negative code. */
int mt__sys_kill(pid_t pid, int sig);
int mt__sys_killpg(pid_t pgrp, int sig);
/* Sends sig to the calling thread (tgkill).  0 or a negative code. */
int mt__sys_raise(int sig);
/* alarm(seconds): the seconds left of the previous alarm (0 if none). */
unsigned mt__sys_alarm(unsigned seconds);
/* setitimer/getitimer in seconds.  0 or a negative code. */
int mt__sys_setitimer(int which, double value, double interval, double *old_value,
                      double *old_interval);
int mt__sys_getitimer(int which, double *value, double *interval);
/* sigtimedwait until the absolute monotonic deadline (INT64_MAX: none):
 * the signal number, MT_ETIMEDOUT or a negative code.  EINTR retried. */
int mt__sys_sigtimedwait(const sigset_t *set, int64_t deadline_ns);
/* A non-blocking, close-on-exec signalfd for set: readable while one of
 * its signals is pending for the thread that polls it.  fd or a negative
 * code. */
int mt__sys_signalfd(const sigset_t *set);

#endif
