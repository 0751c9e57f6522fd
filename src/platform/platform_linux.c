/* Linux backend of platform.h. */
#include "platform.h"
#include "sanitizer.h"
#include "multitask/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef PIDFS_MAGIC
#define PIDFS_MAGIC 0x50494446
#endif

/* Puts errno back after a call that may have changed it, without a store
 * when it did not: a store dirties the thread's TLS page, and the first
 * write to a page after a fork is a copy-on-write fault (~75 us on a
 * virtualised machine; process start+join passes here several times). */
static inline void restore_errno(int saved) {
  if (errno != saved) errno = saved;
}

int64_t mt__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

_Thread_local int32_t mt__tid_cache __attribute__((tls_model("initial-exec")));
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static int32_t pid_cache;            /* mt__getpid */
static uint64_t proc_stamp;          /* mt__self_stamp(false) */
static _Thread_local uint64_t thread_stamp __attribute__((tls_model("initial-exec")));

/* The child is a new process with a new thread: forget every cached id. */
static void tid_atfork_child(void) {
  mt__tid_cache = 0;
  thread_stamp = 0;
  __atomic_store_n(&pid_cache, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&proc_stamp, 0, __ATOMIC_RELAXED);
}
static void install_tid_atfork(void) {
  pthread_atfork(NULL, NULL, tid_atfork_child);
}

/* The tid without a system call (one costs ~2 us on a virtualised machine,
 * and every fresh thread and forked child asks once): the thread's CPU-time
 * clock id is, by the kernel's ABI for per-thread CPU clocks, (~tid << 3) | 6
 * (CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED), and glibc and musl compute it from
 * the tid the kernel stored in their thread descriptor at clone/fork
 * (CLONE_PARENT_SETTID / CLONE_CHILD_SETTID), with no system call.  The
 * decoding is trusted only after it matched gettid() once (first use, in
 * the main thread); otherwise every thread asks the kernel. */
static int clock_tid_ok = -1; /* -1 unknown, 0 no, 1 yes; settled once */

static int32_t tid_from_clock(void) {
  clockid_t cid;
  if (pthread_getcpuclockid(pthread_self(), &cid) != 0 || (cid & 7) != 6) return 0;
  int32_t tid = (int32_t)~((int32_t)cid >> 3);
  return tid > 0 ? tid : 0;
}

int32_t mt__gettid_slow(void) {
  pthread_once(&atfork_once, install_tid_atfork);
  int ok = __atomic_load_n(&clock_tid_ok, __ATOMIC_RELAXED);
  int32_t tid = ok != 0 ? tid_from_clock() : 0;
  if (ok != 1 || tid == 0) {
    int32_t sys = (int32_t)syscall(SYS_gettid);
    if (ok == -1) __atomic_store_n(&clock_tid_ok, tid == sys, __ATOMIC_RELAXED);
    tid = sys;
  }
  mt__tid_cache = tid;
  return tid;
}

static void ns_to_timespec(int64_t ns, struct timespec *ts) {
  ts->tv_sec = ns / 1000000000;
  ts->tv_nsec = ns % 1000000000;
}

#ifdef MT__TSAN
/* Under ThreadSanitizer an asynchronous signal that arrives while its
 * thread is outside a call TSan knows to block is held until the thread
 * next enters a function TSan intercepts.  A raw futex system call is not
 * one: a thread asleep in it for good never ran the library's signal
 * handler, so the dispatcher never woke (signal_driver hung: its conductor
 * waits on an event in its main thread).  So under TSan a futex sleep
 * lasts at most this long, then an intercepted call (clock_gettime) lets
 * TSan run what it holds, and the caller sees a spurious wake-up (0) and
 * re-checks.  Not in other builds: there the kernel runs the handler. */
#define TSAN_SLICE_NS 20000000

static int64_t tsan_slice(int64_t deadline_ns, bool *sliced) {
  int64_t until = mt__now_ns() + TSAN_SLICE_NS;
  *sliced = until < deadline_ns;
  return *sliced ? until : deadline_ns;
}
#endif

int mt__sys_futex_wait(const uint32_t *word, uint32_t expected, int shared,
                       int64_t deadline_ns) {
#ifdef MT__TSAN
  bool sliced;
  deadline_ns = tsan_slice(deadline_ns, &sliced);
#endif
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
  restore_errno(saved);
  if (r == 0) return 0;
  if (e == EAGAIN) return 0;
#ifdef MT__TSAN
  if (e == ETIMEDOUT && sliced) return (void)mt__now_ns(), 0;
#endif
  if (e == ETIMEDOUT) return MT_ETIMEDOUT;
  if (e == EINTR) return MT_EINTR;
  return -e;
}

/* 1: use futex_waitv, -1: slices, 0: not decided yet */
static int waitv_mode;

int mt__sys_futex_wait2(const uint32_t *word, uint32_t expected, int shared,
                        const uint32_t *intr, int64_t deadline_ns) {
  if (__atomic_load_n(intr, __ATOMIC_ACQUIRE)) return 0;
  int mode = __atomic_load_n(&waitv_mode, __ATOMIC_RELAXED);
  if (mode == 0) {
    const char *e = getenv("MT_NO_FUTEX_WAITV");
    mode = e && *e && strcmp(e, "0") != 0 ? -1 : 1;
    __atomic_store_n(&waitv_mode, mode, __ATOMIC_RELAXED);
  }
#if !defined(SYS_futex_waitv) || !defined(FUTEX_32)
  (void)mode; /* headers without it (or without its struct): slices */
#else
  if (mode > 0) {
#ifdef MT__TSAN
    bool sliced;
    deadline_ns = tsan_slice(deadline_ns, &sliced);
#endif
    struct futex_waitv v[2] = {
        {.val = expected, .uaddr = (uintptr_t)word,
         .flags = FUTEX_32 | (shared ? 0 : FUTEX_PRIVATE_FLAG)},
        {.val = 0, .uaddr = (uintptr_t)intr, .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG}};
    struct timespec ts, *tsp = NULL;
    if (deadline_ns != INT64_MAX) {
      ns_to_timespec(deadline_ns, &ts); /* absolute, CLOCK_MONOTONIC */
      tsp = &ts;
    }
    int saved = errno;
    long r = syscall(SYS_futex_waitv, v, 2, 0, tsp, CLOCK_MONOTONIC);
    int e = errno;
    restore_errno(saved);
    if (r >= 0 || e == EAGAIN || e == EINTR) return 0;
#ifdef MT__TSAN
    if (e == ETIMEDOUT && sliced) return (void)mt__now_ns(), 0;
#endif
    if (e == ETIMEDOUT) return MT_ETIMEDOUT;
    /* ENOSYS, EPERM (seccomp), EINVAL: this kernel cannot; slices from now
     * on.  Another error (EFAULT, ENOMEM): a slice for this call only. */
    if (e == ENOSYS || e == EPERM || e == EINVAL) __atomic_store_n(&waitv_mode, -1, __ATOMIC_RELAXED);
  }
#endif
  int64_t until = mt__now_ns() + MT__INTR_SLICE_NS;
  if (until > deadline_ns) until = deadline_ns;
  int r = mt__sys_futex_wait(word, expected, shared, until);
  if (r == MT_ETIMEDOUT && until == deadline_ns) return MT_ETIMEDOUT;
  return 0;
}

int mt__sys_futex_wake(uint32_t *word, int n, int shared) {
  int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  int saved = errno;
  long r = syscall(SYS_futex, word, op, n, NULL, NULL, 0);
  int e = errno;
  restore_errno(saved);
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
    restore_errno(saved);
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
  restore_errno(saved);
  return r < 0 ? -e : (int)r;
}

/* Reads /proc/<id>/stat: 1 alive (0 for a zombie or a missing task) and
 * the start time (field 22, clock ticks since boot).  Negative code if
 * /proc cannot be read. */
static int proc_stat(int32_t id, uint64_t *start) {
  char path[64], buf[512];
  *start = 0;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)id);
  int saved = errno;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    restore_errno(saved);
    return e == ENOENT || e == ESRCH ? 0 : -e;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  restore_errno(saved);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the name may hold spaces and ')' */
  if (!p || p[1] == 0 || p[2] == 0) return 0;
  char state = p[2];
  p += 2; /* field 3; every later field follows one space */
  for (int field = 3; field < 22 && p; field++) {
    p = strchr(p, ' ');
    if (p) p++;
  }
  if (p) *start = strtoull(p, NULL, 10);
  return !(state == 'Z' || state == 'X');
}

uint64_t mt__sys_start_stamp(int32_t id) {
  uint64_t start;
  if (proc_stat(id, &start) < 0 || start == 0) return 0;
  return start | (1ull << 63);
}

/* The stamp of the task behind an open pidfd: its pidfs inode when pidfds
 * live in pidfs, else the /proc start time. */
static uint64_t stamp_of(int pidfd, int32_t id) {
  struct statfs fs;
  struct stat st;
  int saved = errno;
  bool pidfs = pidfd >= 0 && fstatfs(pidfd, &fs) == 0 && fs.f_type == PIDFS_MAGIC &&
               fstat(pidfd, &st) == 0;
  restore_errno(saved);
  if (pidfs) return (uint64_t)st.st_ino & ~(1ull << 63);
  return mt__sys_start_stamp(id);
}

/* pidfd of a thread (PIDFD_THREAD, Linux 6.9+; before that only a thread
 * group leader can be opened) or of a process. */
static int open_task(int32_t id, bool thread) {
  int fd = mt__sys_pidfd_open(id, thread ? PIDFD_THREAD : 0);
  if (fd == MT_EINVAL && thread) fd = mt__sys_pidfd_open(id, 0);
  return fd;
}

int mt__task_alive(int32_t id, bool thread, uint64_t stamp) {
  int fd = open_task(id, thread);
  if (fd == MT_ESRCH) return 0;
  bool proc_kind = stamp >> 63; /* compare with a stamp of the same kind */
  uint64_t now = 0;
  int alive;
  if (fd < 0) { /* old kernel, not a leader; or out of descriptors */
    uint64_t start;
    alive = proc_stat(id, &start);
    if (alive == 1 && start && proc_kind) now = start | (1ull << 63);
  } else {
    /* A pidfd is readable once the thread/process exited (zombie too);
     * a process pidfd only when all its threads did. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    alive = poll(&p, 1, 0) == 0;
    /* taken after the pidfd pinned the task: if it matches, the live task
     * we polled is the one the stamp names */
    if (alive && stamp) now = proc_kind ? mt__sys_start_stamp(id) : stamp_of(fd, id);
    close(fd);
  }
  if (alive == 1 && stamp && now && (now >> 63) == proc_kind && now != stamp) alive = 0;
  return alive;
}

int32_t mt__getpid(void) {
  int32_t p = __atomic_load_n(&pid_cache, __ATOMIC_RELAXED);
  if (__builtin_expect(p != 0, 1)) return p;
  pthread_once(&atfork_once, install_tid_atfork);
  p = (int32_t)getpid();
  __atomic_store_n(&pid_cache, p, __ATOMIC_RELAXED);
  return p;
}

uint64_t mt__self_stamp(bool thread) {
  uint64_t s = thread ? thread_stamp : __atomic_load_n(&proc_stamp, __ATOMIC_RELAXED);
  if (__builtin_expect(s != 0, 1)) return s == 1 ? 0 : s; /* 1: unknown */
  int32_t id = thread ? mt__gettid() : mt__getpid();
  int fd = open_task(id, thread);
  s = stamp_of(fd, id);
  if (fd >= 0) close(fd);
  uint64_t keep = s ? s : 1;
  if (thread)
    thread_stamp = keep;
  else
    __atomic_store_n(&proc_stamp, keep, __ATOMIC_RELAXED);
  return s;
}

#ifdef MT__ASAN
/* The entry handshake of an ASan build (proc.h): the creator waits on
 * `entered`, which lives on its stack until then. */
struct thread_entry {
  void *(*fn)(void *arg);
  void *arg;
  uint32_t entered;
};

static void *entered_thread(void *p) {
  struct thread_entry *e = p;
  void *(*fn)(void *) = e->fn;
  void *arg = e->arg;
  __atomic_store_n(&e->entered, 1, __ATOMIC_RELEASE);
  /* the creator may have returned already: a wake on a word that is gone
   * is at worst a spurious wake-up, which every futex user tolerates */
  mt__sys_futex_wake(&e->entered, 1, 0);
  return fn(arg);
}
#endif

int mt__sys_thread_create(pthread_t *th, size_t stack_size, bool detached, bool block_signals,
                          void *(*fn)(void *arg), void *arg) {
  int saved = errno;
  pthread_attr_t a;
  int r = pthread_attr_init(&a);
  if (r) return -r;
  if (block_signals) {
    sigset_t all;
    sigfillset(&all); /* glibc keeps its two internal signals usable */
    r = pthread_attr_setsigmask_np(&a, &all);
  }
  if (!r && stack_size) r = pthread_attr_setstacksize(&a, stack_size);
  if (!r && detached) r = pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
#ifdef MT__ASAN
  struct thread_entry e = {fn, arg, 0};
  if (!r) r = pthread_create(th, &a, entered_thread, &e);
  while (!r && !__atomic_load_n(&e.entered, __ATOMIC_ACQUIRE))
    mt__sys_futex_wait(&e.entered, 0, 0, INT64_MAX);
#else
  if (!r) r = pthread_create(th, &a, fn, arg);
#endif
  pthread_attr_destroy(&a);
  restore_errno(saved);
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

int mt__cpu_now(void) { return sched_getcpu(); }

/* Setting a mask without the current CPU makes the kernel migrate the
 * thread before the call returns; setting the old mask back then leaves
 * it where it is (its CPU is in the mask).  The mask read is the
 * effective one (cpuset applied), so a cpuset widened meanwhile is not
 * seen until the next change of affinity. */
int mt__cpu_move_off(int cpu) {
  int saved = errno;
  cpu_set_t all, other;
  if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof all, &all) != 0) {
    restore_errno(saved);
    return MT_EINVAL;
  }
  other = all;
  CPU_CLR(cpu, &other);
  if (CPU_COUNT(&other) == 0) return 0;
  int r = sched_setaffinity(0, sizeof other, &other) == 0 ? 1 : MT_EINVAL;
  if (r == 1) (void)sched_setaffinity(0, sizeof all, &all);
  restore_errno(saved);
  return r;
}

/* ---- CPU quota (cgroups) ------------------------------------------------
 * A container limited to 1.5 CPUs by its cgroup still sees every CPU in
 * its affinity mask; spinning there burns quota the partner needs.  The
 * quota is the smallest one on the path from the process's cgroup up to
 * the root: v2 `cpu.max` ("max 100000" or "QUOTA PERIOD"), v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1 = none).  Files are read
 * under `root` ("" on a real system; a tree a test made otherwise). */

/* Reads a small file under root into buf; false if it cannot. */
static bool read_small(const char *root, const char *path, char *buf, size_t size) {
  char full[PATH_MAX];
  if (snprintf(full, sizeof full, "%s%s", root, path) >= (int)sizeof full) return false;
  int saved = errno;
  int fd = open(full, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    restore_errno(saved);
    return false;
  }
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  restore_errno(saved);
  if (n <= 0) return false;
  buf[n] = 0;
  return true;
}

/* /proc/loadavg: "0.52 0.58 0.59 RUNNABLE/TOTAL LASTPID" (RUNNABLE counts
 * every runnable thread of the machine, the caller included). */
int mt__sys_runnable(void) {
  char buf[128];
  if (!read_small("", "/proc/loadavg", buf, sizeof buf)) return -1;
  int runnable = -1;
  if (sscanf(buf, "%*s %*s %*s %d/", &runnable) != 1) return -1;
  return runnable;
}

/* The quota (CPUs) set in one cgroup directory, 0 when none. */
static double quota_in(const char *root, const char *dir, bool v2) {
  char path[PATH_MAX], buf[128];
  long long quota = -1, period = 0;
  if (v2) {
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    if (!read_small(root, path, buf, sizeof buf) || strncmp(buf, "max", 3) == 0) return 0;
    if (sscanf(buf, "%lld %lld", &quota, &period) != 2) return 0;
  } else {
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    if (!read_small(root, path, buf, sizeof buf)) return 0;
    quota = strtoll(buf, NULL, 10);
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (!read_small(root, path, buf, sizeof buf)) return 0;
    period = strtoll(buf, NULL, 10);
  }
  return quota > 0 && period > 0 ? (double)quota / (double)period : 0;
}

/* The smallest quota from mount/cgpath up to mount, 0 when none.  In a
 * cgroup namespace /proc/self/cgroup says "/" and the mount's root is the
 * process's own cgroup, so the walk still starts at the right place. */
static double quota_walk(const char *root, const char *mount, const char *cgpath, bool v2) {
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s%s", mount, cgpath) >= (int)sizeof dir) return 0;
  size_t base = strlen(mount);
  double best = 0;
  for (;;) {
    size_t len = strlen(dir);
    while (len > base && dir[len - 1] == '/') dir[--len] = 0; /* "/x/" -> "/x" */
    double q = quota_in(root, dir, v2);
    if (q > 0 && (best == 0 || q < best)) best = q;
    char *slash = strrchr(dir, '/');
    if (len <= base || !slash || slash < dir + base) break;
    *slash = 0;
  }
  return best;
}

double mt__sys_cpu_quota_at(const char *root) {
  char buf[4096];
  if (!read_small(root, "/proc/self/cgroup", buf, sizeof buf)) return 0;
  double best = 0;
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    /* "ID:CONTROLLERS:PATH"; v2 is "0::PATH" */
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = 0;
    const char *ctrls = c1 + 1, *cgpath = c2 + 1;
    double q = 0;
    if (*ctrls == 0) {
      q = quota_walk(root, "/sys/fs/cgroup", cgpath, true);
      if (q == 0) q = quota_walk(root, "/sys/fs/cgroup/unified", cgpath, true);
    } else {
      bool has_cpu = false; /* "cpu" among the comma-separated controllers */
      for (const char *t = ctrls; *t;) {
        size_t n = strcspn(t, ",");
        if (n == 3 && strncmp(t, "cpu", 3) == 0) has_cpu = true;
        t += n + (t[n] == ',');
      }
      if (!has_cpu) continue;
      q = quota_walk(root, "/sys/fs/cgroup/cpu", cgpath, false);
      if (q == 0) q = quota_walk(root, "/sys/fs/cgroup/cpu,cpuacct", cgpath, false);
    }
    if (q > 0 && (best == 0 || q < best)) best = q;
  }
  return best;
}

double mt__cpu_quota(void) {
  static int milli = -1; /* read once: a quota rarely changes at run time */
  int m = __atomic_load_n(&milli, __ATOMIC_RELAXED);
  if (m < 0) {
    m = (int)(mt__sys_cpu_quota_at("") * 1000 + 0.5);
    __atomic_store_n(&milli, m, __ATOMIC_RELAXED);
  }
  return m / 1000.0;
}

int mt__thread_in_self(int32_t tid) {
  int saved = errno;
  long r = syscall(SYS_tgkill, getpid(), tid, 0);
  restore_errno(saved);
  return r == 0;
}

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int mt__sys_pidfd_send_signal(int pidfd, int sig) {
  int saved = errno;
  long r = syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
  int e = errno;
  restore_errno(saved);
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
    restore_errno(saved);
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
  restore_errno(saved);
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
  restore_errno(saved);
  return r < 0 ? -e : 0;
}

void *mt__sys_map_reserve(size_t bytes) {
  int saved = errno;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  restore_errno(saved);
  return p == MAP_FAILED ? NULL : p;
}

void mt__sys_unmap(void *p, size_t bytes) {
  if (p) munmap(p, bytes);
}

void mt__sys_zero_shared(void *p, size_t bytes) {
  int saved = errno;
  if (madvise(p, bytes, MADV_REMOVE) != 0) memset(p, 0, bytes);
  restore_errno(saved);
}

void mt__sys_yield(void) { sched_yield(); }

void *mt__sys_map_populated(size_t bytes) {
  int saved = errno;
  void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                 -1, 0);
  restore_errno(saved);
  return m == MAP_FAILED ? NULL : m;
}
