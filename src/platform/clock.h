/* platform/clock.h - clock, thread ids, futex, CPU (Linux: platform_linux.c). */
#ifndef MT_PLATFORM_CLOCK_H
#define MT_PLATFORM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Monotonic clock in nanoseconds. */
int64_t mt__now_ns(void);

/* Kernel thread id of the caller (cached per thread, reset after fork).
 * Inline because every lock operation asks for it; initial-exec TLS since
 * the library is built PIC and the default model would call
 * __tls_get_addr each time. */
extern _Thread_local int32_t mt__tid_cache __attribute__((tls_model("initial-exec")));
int32_t mt__gettid_slow(void);
static inline int32_t mt__gettid(void) {
  int32_t t = mt__tid_cache;
  return __builtin_expect(t != 0, 1) ? t : mt__gettid_slow();
}

/* futex: private (in-process) or shared (MAP_SHARED memory) word.
 * wait returns 0 when woken or the value differed, MT_ETIMEDOUT when the
 * absolute monotonic deadline (ns, INT64_MAX = none) passed, MT_EINTR on a
 * signal. */
int mt__sys_futex_wait(const uint32_t *word, uint32_t expected, int shared,
                       int64_t deadline_ns);
int mt__sys_futex_wake(uint32_t *word, int n, int shared);
/* Sleeps until *word != expected or a wake of word, OR *intr != 0 or a
 * wake of intr (a private word: a thread's interrupt flag, wait.c), or the
 * deadline: 0 (re-check both words) or MT_ETIMEDOUT.  One futex_waitv
 * (Linux 5.16+); where the kernel refuses it (ENOSYS, a seccomp filter),
 * or MT_NO_FUTEX_WAITV=1 is in the environment (the tests run that path
 * too), a futex wait on word in slices of MT__INTR_SLICE_NS with *intr
 * re-checked between them: a wake of word is never lost, the deadline is
 * kept, an interrupt is seen within one slice. */
int mt__sys_futex_wait2(const uint32_t *word, uint32_t expected, int shared,
                        const uint32_t *intr, int64_t deadline_ns);
#define MT__INTR_SLICE_NS 10000000

/* ---- task identity, for owner-death checks (src/sync/) ----------------
 * Ids are recycled (pid_max is 32768 on many machines), so "is task 1234
 * alive?" is not enough: the holder may be dead and 1234 a new task.  A
 * STAMP tells two tasks that had the same id apart: the pidfs inode number
 * of a pidfd of the task (unique per boot; Linux 6.9+), else its start time
 * in clock ticks from /proc/<id>/stat, tagged with bit 63 (a reused id then
 * passes only if the new task started in the same tick, 10 ms, as the dead
 * one).  0 means unknown. */
/* getpid(), cached (reset in a fork child). */
int32_t mt__getpid(void);
/* Stamp of the calling thread (thread=true) or of its process; cached. */
uint64_t mt__self_stamp(bool thread);
/* 1 if task `id` is alive and, when stamp != 0, is the task the stamp was
 * taken of; 0 if it exited (a zombie counts as exited) or the id now names
 * another task; negative code if it cannot be told.  thread=true: `id` is a
 * thread; false: a process, alive while any of its threads is. */
int mt__task_alive(int32_t id, bool thread, uint64_t stamp);
/* The /proc stamp of task `id` (start time | bit 63), 0 if unreadable. */
uint64_t mt__sys_start_stamp(int32_t id);
/* 1 if `tid` is a live thread of the calling process, else 0. */
int mt__thread_in_self(int32_t tid);

/* Number of CPUs this process may run on (affinity mask). */
int mt__cpu_count(void);
/* The CPU the calling thread runs on now (-1 if unknown): a hint, stale
 * as soon as it is read.  glibc reads it from the rseq area, no syscall. */
int mt__cpu_now(void);
/* Moves the calling thread off CPU `cpu` to another CPU of its affinity
 * mask and restores the mask (the thread stays where it landed until the
 * scheduler moves it): 1 moved, 0 no other CPU allowed, negative on error.
 * Three system calls and a migration: for rare use (thread_pool.c). */
int mt__cpu_move_off(int cpu);
/* Threads runnable on the whole machine right now, the caller included
 * (/proc/loadavg), or -1 if it cannot be read.  A file read (~10 us). */
int mt__sys_runnable(void);
/* The CPU quota of the process's cgroups in CPUs (cgroup v2 cpu.max, v1
 * cpu.cfs_quota_us / cpu.cfs_period_us; the smallest on the path to the
 * root), 0 when there is none or it cannot be read.  Read once, cached. */
double mt__cpu_quota(void);
/* The same, reading /proc/self/cgroup and /sys/fs/cgroup/... under `root`
 * (a test's fake tree; "" = the real files).  Not cached. */
double mt__sys_cpu_quota_at(const char *root);
/* Gives the CPU to another runnable thread (a step between spinning and
 * parking). */
void mt__sys_yield(void);

#endif
