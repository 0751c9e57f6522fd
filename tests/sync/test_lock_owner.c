/* Owner death of MT_SHARED locks (issue 10, item 12).
 *
 * Lock (multiprocessing.Lock) belongs to a PROCESS: its acquiring thread may
 * exit and another thread of the process releases it or marks it
 * consistent; only the death of the process is owner death.  RLock belongs
 * to a THREAD: its owner thread exiting is owner death.  And the liveness
 * check is not fooled when the dead holder's id has been given to a new
 * task (made deterministic with ns_last_pid in a child pid namespace). */
#include "mt_test.h"
#include "sync_test.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void wait_ok(pid_t pid) {
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("child %d: %s %d", (int)pid, WIFEXITED(st) ? "exit" : "signal",
             WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

static void *acquire_lock(void *arg) {
  return (void *)(intptr_t)mt_lock_acquire(arg, MT_FOREVER);
}
static void *acquire_rlock(void *arg) {
  return (void *)(intptr_t)mt_rlock_acquire(arg, MT_FOREVER);
}
/* Runs fn(arg) on a thread that then exits; returns its result. */
static int on_thread_that_exits(void *(*fn)(void *), void *arg) {
  pthread_t t;
  void *r;
  if (pthread_create(&t, NULL, fn, arg) != 0) return -1000;
  pthread_join(t, &r);
  return (int)(intptr_t)r;
}

static void lock_thread_exit_is_not_owner_death(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(MT_SHARED);
  mt_event_t *held = mt_event_new(MT_SHARED), *go = mt_event_new(MT_SHARED);
  pid_t pid = fork();
  if (pid == 0) {
    if (on_thread_that_exits(acquire_lock, l) != 0) _exit(1);
    mt_event_set(held); /* the acquiring thread is gone; the process lives */
    if (mt_event_wait(go, 30) != 0) _exit(2);
    _exit(mt_lock_release(l) == 0 ? 0 : 3); /* released by another thread */
  }
  assert_code(mt_event_wait(held, 30), 0);
  assert_int_equal(mt_lock_is_locked(l), 1);
  /* 30 detection slices: a thread-exit would have been taken for death */
  assert_code(mt_lock_acquire(l, 0.3), MT_ETIMEDOUT);
  mt_event_set(go);
  assert_code(mt_lock_acquire(l, 30), 0);
  assert_code(mt_lock_release(l), 0);
  wait_ok(pid);
  mt_event_free(held);
  mt_event_free(go);
  mt_lock_free(l);
}

/* A process whose acquiring thread exited is still detected dead when the
 * process is killed, and after MT_EOWNERDEAD any thread of the taking
 * process may mark the lock consistent and release it. */
static void lock_process_death_and_consistent_by_other_thread(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(MT_SHARED);
  mt_event_t *held = mt_event_new(MT_SHARED);
  long rounds = mt_test_scaled(20, 3);
  for (long i = 0; i < rounds; i++) {
    mt_event_clear(held);
    pid_t pid = fork();
    if (pid == 0) {
      if (on_thread_that_exits(acquire_lock, l) != 0) _exit(1);
      mt_event_set(held);
      for (;;) pause();
    }
    assert_code(mt_event_wait(held, 30), 0);
    kill(pid, SIGKILL);
    if (i % 2) waitpid(pid, NULL, 0); /* reaped or still a zombie */
    pid_t taker = fork();
    if (taker == 0) {
      /* a thread takes the dead process's lock and exits ... */
      if (on_thread_that_exits(acquire_lock, l) != MT_EOWNERDEAD) _exit(1);
      /* ... and the main thread repairs and releases it */
      if (mt_lock_consistent(l) != 0) _exit(2);
      _exit(mt_lock_release(l) == 0 ? 0 : 3);
    }
    wait_ok(taker);
    if (!(i % 2)) waitpid(pid, NULL, 0);
    assert_code(mt_lock_acquire(l, 0), 0); /* consistent, not NOTRECOVERABLE */
    assert_code(mt_lock_consistent(l), MT_EINVAL);
    assert_code(mt_lock_release(l), 0);
  }
  /* mt_lock_consistent from a process that does not hold it: MT_EPERM */
  assert_code(mt_lock_acquire(l, 0), 0);
  pid_t other = fork();
  if (other == 0) _exit(mt_lock_consistent(l) == MT_EPERM ? 0 : 1);
  wait_ok(other);
  assert_code(mt_lock_release(l), 0);
  mt_event_free(held);
  mt_lock_free(l);
}

/* RLock: the owner THREAD exiting is owner death, although its process
 * lives on. */
static void rlock_thread_exit_is_owner_death(void **state) {
  (void)state;
  mt_rlock_t *r = mt_rlock_new(MT_SHARED);
  mt_event_t *held = mt_event_new(MT_SHARED), *go = mt_event_new(MT_SHARED);
  pid_t pid = fork();
  if (pid == 0) {
    if (on_thread_that_exits(acquire_rlock, r) != 0) _exit(1);
    mt_event_set(held);
    _exit(mt_event_wait(go, 30) == 0 ? 0 : 2);
  }
  assert_code(mt_event_wait(held, 30), 0);
  assert_code(mt_rlock_acquire(r, 30), MT_EOWNERDEAD);
  assert_code(mt_rlock_consistent(r), 0);
  assert_code(mt_rlock_release(r), 0);
  mt_event_set(go);
  wait_ok(pid);
  /* in-process too: a thread of ours exits holding it */
  assert_code(on_thread_that_exits(acquire_rlock, r), 0);
  assert_code(mt_rlock_acquire(r, 30), MT_EOWNERDEAD);
  assert_code(mt_rlock_consistent(r), 0);
  assert_code(mt_rlock_release(r), 0);
  mt_event_free(held);
  mt_event_free(go);
  mt_rlock_free(r);
}

/* ---- id reuse ------------------------------------------------------------
 * In a fresh pid namespace, a holder (a process for Lock, its thread for
 * RLock) takes the lock and is killed and reaped; ns_last_pid then makes
 * the next fork reuse its id, and that impostor is alive.  A waiter must
 * still see the holder as dead.  Needs root (CLONE_NEWPID): skipped
 * otherwise. */
enum { REUSE_OK = 0, REUSE_SKIP = 77 };

static int set_last_pid(pid_t p) {
  int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%d", (int)p);
  int ok = write(fd, buf, (size_t)n) == n;
  close(fd);
  return ok ? 0 : -1;
}

/* Runs in the namespace's init; returns an exit code (0 ok). */
static int reuse_round(mt_lock_t *l, mt_rlock_t *r, mt_event_t *held, mt_event_t *up,
                       int *impostor_id) {
  mt_event_clear(held);
  mt_event_clear(up);
  pid_t h = fork();
  if (h == 0) {
    if (l && mt_lock_acquire(l, MT_FOREVER) != 0) _exit(1);
    if (r && mt_rlock_acquire(r, MT_FOREVER) != 0) _exit(1);
    mt_event_set(held);
    for (;;) pause();
  }
  if (mt_event_wait(held, 30) != 0) return 10;
  kill(h, SIGKILL);
  waitpid(h, NULL, 0);
  if (set_last_pid(h - 1) != 0) return 11;
  pid_t x = fork();
  if (x == 0) {
    *impostor_id = (int)getpid(); /* == the dead holder's pid and tid */
    mt_event_set(up);
    for (;;) pause();
  }
  if (mt_event_wait(up, 30) != 0) return 12;
  int rc = 0;
  if (x != h) rc = 13; /* the id was not reused: the test proves nothing */
  int got = l ? mt_lock_acquire(l, 10) : mt_rlock_acquire(r, 10);
  if (rc == 0 && got != MT_EOWNERDEAD) {
    fprintf(stderr, "holder id %d reused by a live task: acquire returned %s\n", (int)h,
            mt_err_name(got));
    rc = 14;
  }
  if (got == MT_EOWNERDEAD || got == 0) {
    if (l) mt_lock_consistent(l), mt_lock_release(l);
    if (r) mt_rlock_consistent(r), mt_rlock_release(r);
  }
  kill(x, SIGKILL);
  waitpid(x, NULL, 0);
  return rc;
}

static void liveness_not_fooled_by_reused_id(void **state) {
  (void)state;
  alarm(120);
  mt_lock_t *l = mt_lock_new(MT_SHARED);
  mt_rlock_t *r = mt_rlock_new(MT_SHARED);
  mt_event_t *held = mt_event_new(MT_SHARED), *up = mt_event_new(MT_SHARED);
  int *box = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(box != MAP_FAILED);
  pid_t outer = fork();
  if (outer == 0) {
    if (unshare(CLONE_NEWPID) != 0) _exit(REUSE_SKIP);
    pid_t init = fork(); /* pid 1 of the new namespace */
    if (init == 0) {
      long rounds = mt_test_scaled(5, 2);
      for (long i = 0; i < rounds; i++) {
        int rc = reuse_round(l, NULL, held, up, &box[0]);
        if (rc == 0) rc = reuse_round(NULL, r, held, up, &box[1]);
        if (rc != 0) _exit(rc);
      }
      _exit(REUSE_OK);
    }
    int st;
    waitpid(init, &st, 0);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st));
  }
  int st;
  assert_int_equal(waitpid(outer, &st, 0), outer);
  assert_true(WIFEXITED(st));
  if (WEXITSTATUS(st) == REUSE_SKIP) skip();
  if (WEXITSTATUS(st) != 0) fail_msg("reuse check failed: code %d", WEXITSTATUS(st));
  printf("# holder id reused by a live task (ids %d, %d): still detected dead\n", box[0], box[1]);
  mt_event_free(held);
  mt_event_free(up);
  mt_rlock_free(r);
  munmap(box, 4096);
  mt_lock_free(l);
  alarm(0);
}


/* Review finding 3: the impostor itself (a new process whose main thread
 * got the dead RLock holder's tid) must not be taken for the owner: not
 * owned, cannot release or repair it, cannot use a Condition on it (nor on
 * a Lock whose dead holder process had its id), and its acquire reports the
 * owner's death instead of re-entering.  Exit code: the first failed check. */
static int impostor_checks(mt_lock_t *l, mt_rlock_t *r, mt_cond_t *cl, mt_cond_t *cr) {
  if (mt_rlock_is_owned(r) != 0) return 20;
  if (mt_rlock_release(r) != MT_EPERM) return 21;
  if (mt_rlock_consistent(r) != MT_EPERM) return 22;
  if (mt_cond_notify(cr, 1) != MT_EPERM) return 23;
  if (mt_cond_wait(cr, 0) != MT_EPERM) return 24;
  if (mt_cond_notify(cl, 1) != MT_EPERM) return 25;
  if (mt_lock_consistent(l) != MT_EPERM) return 26;
  int got = mt_rlock_acquire(r, 10);
  if (got != MT_EOWNERDEAD) {
    fprintf(stderr, "impostor rlock acquire returned %s\n", mt_err_name(got));
    return 27;
  }
  if (mt_rlock_consistent(r) != 0 || mt_rlock_release(r) != 0) return 28;
  if (mt_lock_acquire(l, 10) != MT_EOWNERDEAD) return 29;
  if (mt_lock_consistent(l) != 0 || mt_lock_release(l) != 0) return 30;
  return 0;
}

static int impostor_round(mt_lock_t *l, mt_rlock_t *r, mt_cond_t *cl, mt_cond_t *cr,
                          mt_event_t *held) {
  mt_event_clear(held);
  pid_t h = fork();
  if (h == 0) {
    if (mt_lock_acquire(l, MT_FOREVER) != 0 || mt_rlock_acquire(r, MT_FOREVER) != 0) _exit(1);
    mt_event_set(held);
    for (;;) pause();
  }
  if (mt_event_wait(held, 30) != 0) return 10;
  kill(h, SIGKILL);
  waitpid(h, NULL, 0);
  if (set_last_pid(h - 1) != 0) return 11;
  pid_t x = fork();
  if (x == 0) _exit(getpid() != h ? 13 : impostor_checks(l, r, cl, cr));
  int st;
  waitpid(x, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static void impostor_is_not_owner(void **state) {
  (void)state;
  alarm(120);
  mt_lock_t *l = mt_lock_new(MT_SHARED);
  mt_rlock_t *r = mt_rlock_new(MT_SHARED);
  mt_cond_t *cl = mt_cond_new(l, MT_SHARED), *cr = mt_cond_new_rlock(r, MT_SHARED);
  mt_event_t *held = mt_event_new(MT_SHARED);
  pid_t outer = fork();
  if (outer == 0) {
    if (unshare(CLONE_NEWPID) != 0) _exit(REUSE_SKIP);
    pid_t init = fork();
    if (init == 0) {
      long rounds = mt_test_scaled(3, 1);
      for (long i = 0; i < rounds; i++) {
        int rc = impostor_round(l, r, cl, cr, held);
        if (rc != 0) _exit(rc);
      }
      _exit(REUSE_OK);
    }
    int st;
    waitpid(init, &st, 0);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st));
  }
  int st;
  assert_int_equal(waitpid(outer, &st, 0), outer);
  assert_true(WIFEXITED(st));
  if (WEXITSTATUS(st) == REUSE_SKIP) skip();
  if (WEXITSTATUS(st) != 0) fail_msg("impostor check failed: code %d", WEXITSTATUS(st));
  mt_event_free(held);
  mt_cond_free(cl);
  mt_cond_free(cr);
  mt_rlock_free(r);
  mt_lock_free(l);
  alarm(0);
}

/* Review finding 5: acquire with timeout 0 only tries, but a failed try
 * still notices (rate-limited) that the holder is dead and takes over, so
 * polling a lock whose holder died does not time out forever.  A live
 * holder is never taken over.  Lock (holder process exits) and RLock
 * (holder thread exits). */
static int poll_zero(int (*acq)(void *), void *lk) {
  double end = now_s() + 10;
  int got;
  while ((got = acq(lk)) == MT_ETIMEDOUT && now_s() < end) sched_yield();
  return got;
}
static int lock_try(void *l) { return mt_lock_acquire(l, 0); }
static int rlock_try(void *r) { return mt_rlock_acquire(r, 0); }

static void zero_timeout_sees_dead_holder(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(MT_SHARED);
  mt_rlock_t *r = mt_rlock_new(MT_SHARED);
  mt_event_t *held = mt_event_new(MT_SHARED), *go = mt_event_new(MT_SHARED);
  long rounds = mt_test_scaled(5, 2);
  for (long i = 0; i < rounds; i++) {
    mt_event_clear(held);
    mt_event_clear(go);
    pid_t pid = fork();
    if (pid == 0) {
      if (mt_lock_acquire(l, MT_FOREVER) != 0) _exit(1);
      mt_event_set(held);
      if (mt_event_wait(go, 30) != 0) _exit(2);
      _exit(0); /* dies holding it */
    }
    assert_code(mt_event_wait(held, 30), 0);
    /* alive: many tries over more than one detection slice all fail */
    double end = now_s() + 0.05;
    long tries = 0;
    while (now_s() < end || tries < 100) {
      assert_code(mt_lock_acquire(l, 0), MT_ETIMEDOUT);
      tries++;
    }
    mt_event_set(go);
    if (i % 2) waitpid(pid, NULL, 0); /* reaped, or not yet */
    assert_code(poll_zero(lock_try, l), MT_EOWNERDEAD);
    assert_code(mt_lock_consistent(l), 0);
    assert_code(mt_lock_release(l), 0);
    if (!(i % 2)) waitpid(pid, NULL, 0);

    assert_code(on_thread_that_exits(acquire_rlock, r), 0);
    assert_code(poll_zero(rlock_try, r), MT_EOWNERDEAD);
    assert_code(mt_rlock_consistent(r), 0);
    assert_code(mt_rlock_release(r), 0);
  }
  mt_event_free(held);
  mt_event_free(go);
  mt_rlock_free(r);
  mt_lock_free(l);
}


/* ---- stamps (platform.h) -------------------------------------------------
 * Unit checks of the comparison itself: a live task with a different stamp
 * of the same kind is "not the same task"; a zombie or reaped task is dead;
 * the /proc start-time fallback parses field 22 even when the task's name
 * holds spaces and ')'. */
static uint64_t proc_start_by_hand(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')') + 2;
  unsigned long long v = 0;
  /* fields 3..21 skipped, 22 read */
  if (sscanf(p, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
             &v) != 1)
    return 0;
  return v;
}

struct stamped_thread {
  uint64_t tid, stamp;
  mt_event_t *stamped, *go;
};

static void *thread_stamp(void *arg) {
  struct stamped_thread *t = arg;
  t->tid = (uint64_t)mt__gettid();
  t->stamp = mt__self_stamp(true);
  mt_event_set(t->stamped);
  mt_event_wait(t->go, 30);
  return NULL;
}

static void stamps_tell_tasks_apart(void **state) {
  (void)state;
  uint64_t me = mt__self_stamp(false);
  assert_true(me != 0);
  assert_int_equal(mt__self_stamp(false), me); /* cached, stable */
  assert_int_equal(mt__task_alive(getpid(), false, me), 1);
  assert_int_equal(mt__task_alive(getpid(), false, 0), 1); /* no stamp: liveness only */
  assert_int_equal(mt__task_alive(getpid(), false, me ^ 1), 0); /* same id, other task */
  uint64_t mine_t = mt__self_stamp(true);
  assert_int_equal(mt__task_alive(mt__gettid(), true, mine_t), 1);
  assert_int_equal(mt__task_alive(mt__gettid(), true, mine_t ^ 1), 0);

  /* /proc start-time stamps: bit 63, field 22 */
  uint64_t st = mt__sys_start_stamp(getpid());
  assert_true(st >> 63);
  assert_int_equal(st & ~(1ull << 63), proc_start_by_hand(getpid()));
  assert_int_equal(mt__task_alive(getpid(), false, st), 1);
  assert_int_equal(mt__task_alive(getpid(), false, st + 1), 0);

  /* a child named with spaces and ')': same parse; then zombie, then gone */
  uint64_t *box = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  mt_event_t *up = mt_event_new(MT_SHARED);
  pid_t c = fork();
  if (c == 0) {
    prctl(PR_SET_NAME, "a) b) c d", 0, 0, 0);
    box[0] = mt__self_stamp(false);
    box[1] = mt__sys_start_stamp(getpid());
    mt_event_set(up);
    for (;;) pause();
  }
  assert_code(mt_event_wait(up, 30), 0);
  assert_true(box[0] != 0 && box[0] != me);
  assert_int_equal(box[1] & ~(1ull << 63), proc_start_by_hand(c));
  assert_int_equal(mt__task_alive(c, false, box[0]), 1);
  assert_int_equal(mt__task_alive(c, false, box[1]), 1);
  assert_int_equal(mt__task_alive(c, false, me), 0); /* our stamp is not the child's */
  kill(c, SIGKILL);
  siginfo_t si;
  waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT); /* dead, still a zombie */
  assert_int_equal(mt__task_alive(c, false, box[0]), 0);
  assert_int_equal(mt__task_alive(c, false, 0), 0);
  waitpid(c, NULL, 0);
  assert_int_equal(mt__task_alive(c, false, box[0]), 0);
  assert_int_equal(mt__sys_start_stamp(c), 0);

  /* a thread: alive while it runs, dead once it has exited.  pthread_join
   * returns when the kernel clears the thread's id, a little before the
   * thread has finished exiting; its pidfd turns readable when it has, and
   * that is what the test waits on (a CI TSan run once caught the window). */
  struct stamped_thread t = {.stamped = mt_event_new(0), .go = mt_event_new(0)};
  pthread_t th;
  pthread_create(&th, NULL, thread_stamp, &t);
  assert_code(mt_event_wait(t.stamped, 30), 0);
  assert_true(t.stamp != 0 && t.stamp != mine_t);
  assert_int_equal(mt__task_alive((int32_t)t.tid, true, t.stamp), 1);
  assert_int_equal(mt__task_alive((int32_t)t.tid, true, t.stamp ^ 1), 0);
  int tfd = mt__sys_pidfd_open((pid_t)t.tid, O_EXCL /* PIDFD_THREAD, Linux 6.9+ */);
  mt_event_set(t.go);
  pthread_join(th, NULL);
  if (tfd >= 0) {
    struct pollfd pfd = {.fd = tfd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 30000), 1);
    close(tfd);
    assert_int_equal(mt__task_alive((int32_t)t.tid, true, t.stamp), 0);
  } else { /* older kernel: no thread pidfd to wait on; look until it is dead */
    int64_t end = mt__now_ns() + 30 * (int64_t)1000000000;
    while (mt__task_alive((int32_t)t.tid, true, t.stamp) != 0 && mt__now_ns() < end)
      sched_yield();
    assert_int_equal(mt__task_alive((int32_t)t.tid, true, t.stamp), 0);
  }
  mt_event_free(t.stamped);
  mt_event_free(t.go);
  mt_event_free(up);
  munmap(box, 4096);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stamps_tell_tasks_apart),
      cmocka_unit_test(lock_thread_exit_is_not_owner_death),
      cmocka_unit_test(lock_process_death_and_consistent_by_other_thread),
      cmocka_unit_test(rlock_thread_exit_is_owner_death),
      cmocka_unit_test(liveness_not_fooled_by_reused_id),
      cmocka_unit_test(impostor_is_not_owner),
      cmocka_unit_test(zero_timeout_sees_dead_holder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
