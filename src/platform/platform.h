/* platform.h - the only place raw system calls live (futex, clock, gettid,
 * pidfd).  Linux backend in platform_linux.c.  Everything here returns 0 /
 * a non-negative value or a negative MT_E* code; no function touches errno
 * of the caller except where noted. */
#ifndef MT_PLATFORM_H
#define MT_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/uio.h>

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

/* poll with an absolute deadline; returns count of ready fds, MT_ETIMEDOUT,
 * or a negative code. Retries on EINTR. */
int mt__sys_poll(struct pollfd *fds, nfds_t n, int64_t deadline_ns);

/* pidfd_open(pid, flags); returns fd or negative code. */
int mt__sys_pidfd_open(pid_t pid, unsigned flags);

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

/* The ONE way the library starts a thread of its own (the timer thread,
 * the process forker, the pool's manager, executor workers; thread.c's
 * mt__thread_start_internal for those that are mt_thread_t): the thread
 * begins with every signal blocked, so process signals go to the
 * application's threads, and the caller's mask is never touched
 * (pthread_attr_setsigmask_np).  stack_size 0 = default.  0 or a negative
 * code (MT_EAGAIN when the system cannot make a thread). */
int mt__sys_thread_create_blocked(pthread_t *th, size_t stack_size, bool detached,
                                  void *(*fn)(void *arg), void *arg);

/* Number of CPUs this process may run on (affinity mask). */
int mt__cpu_count(void);



/* 1 if `tid` is a live thread of the calling process, else 0. */
int mt__thread_in_self(int32_t tid);

/* ---- processes (src/process/) ----------------------------------------- */
/* pidfd_send_signal(pidfd, sig); 0 or a negative code (MT_ESRCH when the
 * process already exited and was reaped). */
int mt__sys_pidfd_send_signal(int pidfd, int sig);
/* waitid(P_PIDFD, pidfd, WEXITED | WNOHANG): reaps the child behind pidfd
 * if it has exited.  Returns 1 and stores the Python-style exit code
 * (status, or -signal) in *exitcode; 0 if still running; negative code
 * (MT_ECHILD: not our child or already reaped elsewhere). */
int mt__sys_reap_pidfd(int pidfd, int *exitcode);
/* prctl(PR_SET_PDEATHSIG, sig) for the calling thread's children-to-be:
 * called in a child right after fork.  0 or a negative code. */
int mt__sys_set_pdeathsig(int sig);
/* Last resort when a fresh child cannot be tracked (no descriptor for its
 * pidfd): SIGKILL and waitpid that one pid.  0 or a negative code. */
int mt__sys_kill_and_reap(pid_t pid);

/* ---- shared regions (src/manager/) ----------------------------------- */
/* Reserves `bytes` of zeroed MAP_SHARED anonymous memory with
 * MAP_NORESERVE (pages cost memory only once touched).  NULL on failure. */
void *mt__sys_map_reserve(size_t bytes);
void mt__sys_unmap(void *p, size_t bytes);
/* Gives the pages of a range of such a mapping back: it reads as zeros
 * again, in every process sharing it (MADV_REMOVE; memset as fallback).
 * p and bytes must be page multiples. */
void mt__sys_zero_shared(void *p, size_t bytes);

/* Gives the CPU to another runnable thread (a step between spinning and
 * parking). */
void mt__sys_yield(void);

/* Private anonymous memory with its pages already faulted in (first touch
 * of a page costs ~40 us on this VM).  NULL on failure. */
void *mt__sys_map_populated(size_t bytes);

/* ---- pipes and event descriptors (src/pipe/, src/queue/; pipe_linux.c) -- */
/* socketpair (duplex) or pipe2 (fds[0] reads, fds[1] writes), O_CLOEXEC,
 * blocking.  0 or a negative code. */
int mt__sys_pipe_make(bool duplex, int fds[2]);
/* read(), EINTR retried: bytes (0 = EOF) or a negative code. */
ssize_t mt__sys_read(int fd, void *buf, size_t n);
/* Bytes queued for reading now (FIONREAD on a pipe or socket); 0 on error. */
size_t mt__sys_pending(int fd);
/* writev() (sendmsg(MSG_NOSIGNAL) on a socket) that never raises SIGPIPE:
 * bytes or a negative code (MT_EPIPE when the reader is gone).  On a pipe,
 * SIGPIPE is blocked for the write only: the caller's mask is unchanged. */
ssize_t mt__sys_writev_nosig(int fd, bool is_sock, struct iovec *iov, int n);
/* close(); EINTR counts as closed.  0 or a negative code. */
int mt__sys_close(int fd);
/* A non-blocking, close-on-exec eventfd (counter 0): fd or a negative code.
 * signal adds 1 (readable until drained); drain resets it to 0.  Neither
 * blocks nor reports errors (a saturated or empty counter is fine). */
int mt__sys_eventfd(void);
void mt__sys_eventfd_signal(int fd);
void mt__sys_eventfd_drain(int fd);

#endif
