/* Linux backend of platform/sig.h: thin wrappers, errno left alone. */
#include "platform/sig.h"

#include <errno.h>
#include <sys/signalfd.h>
#include <math.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"
#include "multitask/error.h"

int mt__sys_sig_install(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  int saved = errno;
  int r = sigaction(sig, &sa, NULL) == 0 ? 0 : -errno;
  errno = saved;
  return r;
}

int mt__sys_sig_default(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  int saved = errno;
  int r = sigaction(sig, &sa, NULL) == 0 ? 0 : -errno;
  errno = saved;
  return r;
}

int mt__sys_sig_get(int sig, void (**fn)(int)) {
  struct sigaction old;
  int saved = errno;
  int r = sigaction(sig, NULL, &old);
  int e = errno;
  errno = saved;
  if (r < 0) return -e;
  if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) return 0;
  if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN) return 1;
  *fn = (old.sa_flags & SA_SIGINFO) ? NULL : old.sa_handler;
  return 2;
}

int mt__sys_kill(pid_t pid, int sig) {
  int saved = errno;
  int r = kill(pid, sig) == 0 ? 0 : -errno;
  errno = saved;
  return r;
}

int mt__sys_killpg(pid_t pgrp, int sig) {
  int saved = errno;
  int r = killpg(pgrp, sig) == 0 ? 0 : -errno;
  errno = saved;
  return r;
}

int mt__sys_raise(int sig) {
  int saved = errno;
  int r = syscall(SYS_tgkill, getpid(), mt__gettid(), sig) == 0 ? 0 : -errno;
  errno = saved;
  return r;
}

unsigned mt__sys_alarm(unsigned seconds) { return alarm(seconds); }

static struct timeval to_tv(double s) {
  struct timeval tv;
  tv.tv_sec = (time_t)s;
  tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
  if (s > 0 && tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1; /* not "disarm" */
  return tv;
}
static double from_tv(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

int mt__sys_setitimer(int which, double value, double interval, double *old_value,
                      double *old_interval) {
  struct itimerval nv = {.it_value = to_tv(value), .it_interval = to_tv(interval)}, ov;
  int saved = errno;
  int r = setitimer(which, &nv, &ov) == 0 ? 0 : -errno;
  errno = saved;
  if (r == 0) {
    if (old_value) *old_value = from_tv(ov.it_value);
    if (old_interval) *old_interval = from_tv(ov.it_interval);
  }
  return r;
}

int mt__sys_getitimer(int which, double *value, double *interval) {
  struct itimerval v;
  int saved = errno;
  int r = getitimer(which, &v) == 0 ? 0 : -errno;
  errno = saved;
  if (r == 0) {
    *value = from_tv(v.it_value);
    *interval = from_tv(v.it_interval);
  }
  return r;
}

int mt__sys_sigtimedwait(const sigset_t *set, int64_t deadline_ns) {
  int saved = errno;
  for (;;) {
    struct timespec ts, *tp = NULL;
    if (deadline_ns != INT64_MAX) {
      int64_t left = deadline_ns - mt__now_ns();
      if (left < 0) left = 0;
      ts.tv_sec = (time_t)(left / 1000000000);
      ts.tv_nsec = (long)(left % 1000000000);
      tp = &ts;
    }
    int r = sigtimedwait(set, NULL, tp);
    int e = errno;
    if (r < 0 && e == EINTR) continue;
    errno = saved;
    if (r < 0) return e == EAGAIN ? MT_ETIMEDOUT : -e;
    return r;
  }
}

int mt__sys_signalfd(const sigset_t *set) {
  int saved = errno;
  int fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
  int e = errno;
  errno = saved;
  return fd < 0 ? -e : fd;
}
