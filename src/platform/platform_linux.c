/* Linux backend of platform.h. */
#include "platform.h"
#include "multitask/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

int64_t mt__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

_Thread_local int32_t mt__tid_cache __attribute__((tls_model("initial-exec")));
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void tid_atfork_child(void) { mt__tid_cache = 0; }
static void install_tid_atfork(void) {
  pthread_atfork(NULL, NULL, tid_atfork_child);
}

int32_t mt__gettid_slow(void) {
  pthread_once(&atfork_once, install_tid_atfork);
  mt__tid_cache = (int32_t)syscall(SYS_gettid);
  return mt__tid_cache;
}

static void ns_to_timespec(int64_t ns, struct timespec *ts) {
  ts->tv_sec = ns / 1000000000;
  ts->tv_nsec = ns % 1000000000;
}

int mt__sys_futex_wait(const uint32_t *word, uint32_t expected, int shared,
                       int64_t deadline_ns) {
  /* FUTEX_WAIT_BITSET takes an ABSOLUTE timeout, so a deadline computed
   * once never drifts across spurious wakeups. */
  int op = FUTEX_WAIT_BITSET | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  struct timespec ts, *tsp = NULL;
  if (deadline_ns != INT64_MAX) {
    ns_to_timespec(deadline_ns, &ts);
    tsp = &ts;
  }
  int saved = errno;
  long r = syscall(SYS_futex, word, op, expected, tsp, NULL,
                   FUTEX_BITSET_MATCH_ANY);
  int e = errno;
  errno = saved;
  if (r == 0) return 0;
  if (e == EAGAIN) return 0;
  if (e == ETIMEDOUT) return MT_ETIMEDOUT;
  if (e == EINTR) return MT_EINTR;
  return -e;
}

int mt__sys_futex_wake(uint32_t *word, int n, int shared) {
  int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  int saved = errno;
  long r = syscall(SYS_futex, word, op, n, NULL, NULL, 0);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : (int)r;
}

int mt__sys_poll(struct pollfd *fds, nfds_t n, int64_t deadline_ns) {
  for (;;) {
    int ms = -1;
    if (deadline_ns != INT64_MAX) {
      int64_t left = deadline_ns - mt__now_ns();
      if (left < 0) left = 0;
      int64_t m = (left + 999999) / 1000000; /* round up: never early */
      ms = m > INT_MAX ? INT_MAX : (int)m;
    }
    int saved = errno;
    int r = poll(fds, n, ms);
    int e = errno;
    errno = saved;
    if (r > 0) return r;
    if (r == 0) {
      if (deadline_ns != INT64_MAX && mt__now_ns() >= deadline_ns)
        return MT_ETIMEDOUT;
      continue;
    }
    if (e != EINTR) return -e;
  }
}

int mt__sys_pidfd_open(pid_t pid, unsigned flags) {
  int saved = errno;
  long r = syscall(SYS_pidfd_open, pid, flags);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : (int)r;
}

/* Reads the state letter from /proc/<tid>/stat: the fallback for kernels
 * without PIDFD_THREAD (< 6.9). */
static int proc_thread_alive(int32_t tid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT || errno == ESRCH ? 0 : -errno;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p || p[1] == 0 || p[2] == 0) return 0;
  return !(p[2] == 'Z' || p[2] == 'X');
}

int mt__thread_alive(int32_t tid) {
  int fd = mt__sys_pidfd_open(tid, PIDFD_THREAD);
  if (fd == MT_EINVAL) fd = mt__sys_pidfd_open(tid, 0); /* old kernel, leader */
  if (fd == MT_ESRCH) return 0;
  if (fd < 0) return proc_thread_alive(tid);
  /* A pidfd is readable once the thread/process has exited (zombie too). */
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r = poll(&p, 1, 0);
  close(fd);
  return r == 0;
}

int mt__sys_thread_create_blocked(pthread_t *th, size_t stack_size, bool detached,
                                  void *(*fn)(void *arg), void *arg) {
  int saved = errno;
  pthread_attr_t a;
  int r = pthread_attr_init(&a);
  if (r) return -r;
  sigset_t all;
  sigfillset(&all); /* glibc keeps its two internal signals usable */
  r = pthread_attr_setsigmask_np(&a, &all);
  if (!r && stack_size) r = pthread_attr_setstacksize(&a, stack_size);
  if (!r && detached) r = pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  if (!r) r = pthread_create(th, &a, fn, arg);
  pthread_attr_destroy(&a);
  errno = saved;
  return -r;
}

int mt__cpu_count(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int mt__thread_in_self(int32_t tid) {
  int saved = errno;
  long r = syscall(SYS_tgkill, getpid(), tid, 0);
  errno = saved;
  return r == 0;
}

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int mt__sys_pidfd_send_signal(int pidfd, int sig) {
  int saved = errno;
  long r = syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : 0;
}

int mt__sys_reap_pidfd(int pidfd, int *exitcode) {
  siginfo_t info;
  int saved = errno;
  for (;;) {
    memset(&info, 0, sizeof info);
    /* The glibc wrapper passes P_PIDFD through unchanged. */
    int r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG);
    int e = errno;
    if (r < 0 && e == EINTR) continue;
    errno = saved;
    if (r < 0) return -e;
    if (info.si_pid == 0) return 0; /* still running */
    *exitcode = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
    return 1;
  }
}

int mt__sys_set_pdeathsig(int sig) {
  int saved = errno;
  int r = prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : 0;
}

int mt__sys_kill_and_reap(pid_t pid) {
  int saved = errno;
  kill(pid, SIGKILL);
  int st;
  pid_t r;
  do r = waitpid(pid, &st, 0);
  while (r < 0 && errno == EINTR);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : 0;
}

void *mt__sys_map_reserve(size_t bytes) {
  int saved = errno;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  errno = saved;
  return p == MAP_FAILED ? NULL : p;
}

void mt__sys_unmap(void *p, size_t bytes) {
  if (p) munmap(p, bytes);
}

void mt__sys_zero_shared(void *p, size_t bytes) {
  int saved = errno;
  if (madvise(p, bytes, MADV_REMOVE) != 0) memset(p, 0, bytes);
  errno = saved;
}

void mt__sys_yield(void) { sched_yield(); }

void *mt__sys_map_populated(size_t bytes) {
  int saved = errno;
  void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                 -1, 0);
  errno = saved;
  return m == MAP_FAILED ? NULL : m;
}
