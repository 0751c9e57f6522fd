/* Linux backend of platform/proc.h for process creation, thread joins and
 * signal masks/dispositions: thin wrappers, so that the rest of src/ names
 * no such call itself (scripts/check-boundary.sh). */
#include "platform/platform.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

pid_t mt__sys_fork(void) { return fork(); }

int mt__sys_thread_join(pthread_t t) { return -pthread_join(t, NULL); }

int mt__sys_sigmask(int how, const sigset_t *set, sigset_t *old) {
  return -pthread_sigmask(how, set, old);
}

int mt__sys_ignore_signal(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  int saved = errno;
  int r = sigaction(sig, &sa, NULL) == 0 ? 0 : -errno;
  errno = saved;
  return r;
}
