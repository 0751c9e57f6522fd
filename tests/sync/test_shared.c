/* MT_SHARED primitives across forked processes: exact counters, robust
 * locks whose holder is SIGKILLed, and every primitive working in a child. */
#include "mt_test.h"
#include "sync_test.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void wait_ok(pid_t pid) {
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

static void shared_lock_counter(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(MT_SHARED);
  long *counter = mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  long per = mt_test_scaled(100000, 1000);
  pid_t kids[4];
  for (int i = 0; i < 4; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      for (long k = 0; k < per; k++) {
        if (mt_lock_acquire(l, MT_FOREVER) != 0) _exit(1);
        (*counter)++;
        mt_lock_release(l);
      }
      _exit(0);
    }
  }
  for (int i = 0; i < 4; i++) wait_ok(kids[i]);
  assert_int_equal(*counter, 4 * per);
  munmap(counter, sizeof(long));
  mt_lock_free(l);
}

/* Child takes the lock, tells the parent, and waits to be killed. */
static pid_t holder_child(mt_lock_t *l, mt_rlock_t *r, mt_event_t *holding) {
  pid_t pid = fork();
  if (pid == 0) {
    if (l) mt_lock_acquire(l, MT_FOREVER);
    if (r) mt_rlock_acquire(r, MT_FOREVER), mt_rlock_acquire(r, MT_FOREVER);
    mt_event_set(holding);
    for (;;) pause();
  }
  return pid;
}

static void robust_lock_owner_killed(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(MT_SHARED);
  mt_event_t *holding = mt_event_new(MT_SHARED);
  long rounds = mt_test_scaled(100, 10);
  for (long i = 0; i < rounds; i++) {
    mt_event_clear(holding);
    pid_t pid = holder_child(l, NULL, holding);
    assert_code(mt_event_wait(holding, MT_FOREVER), 0);
    assert_int_equal(mt_lock_is_locked(l), 1);
    kill(pid, SIGKILL);
    /* the child is a zombie until reaped: death must still be seen */
    assert_code(mt_lock_acquire(l, MT_FOREVER), MT_EOWNERDEAD);
    assert_code(mt_lock_consistent(l), 0);
    assert_code(mt_lock_consistent(l), MT_EINVAL); /* only once */
    assert_code(mt_lock_release(l), 0);
    assert_code(mt_lock_acquire(l, 0), 0);
    assert_code(mt_lock_release(l), 0);
    waitpid(pid, NULL, 0);
  }
  /* released without repair: not recoverable for everybody */
  mt_event_clear(holding);
  pid_t pid = holder_child(l, NULL, holding);
  mt_event_wait(holding, MT_FOREVER);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0); /* reaped this time */
  assert_code(mt_lock_acquire(l, 5), MT_EOWNERDEAD);
  assert_code(mt_lock_release(l), 0);
  assert_code(mt_lock_acquire(l, 0), MT_ENOTRECOVERABLE);
  assert_code(mt_lock_acquire(l, 1), MT_ENOTRECOVERABLE);
  mt_event_free(holding);
  mt_lock_free(l);
}

static void robust_rlock_owner_killed(void **state) {
  (void)state;
  mt_rlock_t *r = mt_rlock_new(MT_SHARED);
  mt_event_t *holding = mt_event_new(MT_SHARED);
  pid_t pid = holder_child(NULL, r, holding);
  mt_event_wait(holding, MT_FOREVER);
  assert_int_equal(mt_rlock_is_owned(r), 0);
  assert_code(mt_rlock_release(r), MT_EPERM); /* not ours */
  kill(pid, SIGKILL);
  assert_code(mt_rlock_acquire(r, MT_FOREVER), MT_EOWNERDEAD);
  assert_int_equal(mt_rlock_is_owned(r), 1);
  assert_code(mt_rlock_consistent(r), 0);
  assert_code(mt_rlock_release(r), 0); /* depth 1: the child's 2 are gone */
  assert_int_equal(mt_rlock_is_owned(r), 0);
  waitpid(pid, NULL, 0);
  mt_event_free(holding);
  mt_rlock_free(r);
}

/* Semaphore, Event, Condition and Barrier in shared memory. */
static void shared_primitives_work_in_children(void **state) {
  (void)state;
  mt_sem_t *sem = mt_sem_new(0, MT_SHARED);
  mt_event_t *ev = mt_event_new(MT_SHARED);
  mt_lock_t *lock = mt_lock_new(MT_SHARED);
  mt_cond_t *cond = mt_cond_new(lock, MT_SHARED);
  mt_barrier_t *bar = mt_barrier_new(3, NULL, NULL, MT_FOREVER, MT_SHARED);
  int *box = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pid_t kids[2];
  for (int i = 0; i < 2; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      int ok = mt_event_wait(ev, 30) == 0;        /* released by the parent */
      ok &= mt_sem_release(sem, 1) == 0;          /* tell the parent */
      ok &= mt_barrier_wait(bar, 30) >= 0;        /* all three meet */
      mt_cond_acquire(cond, MT_FOREVER);
      box[1]++;
      while (box[0] == 0) mt_cond_wait(cond, 30);
      mt_cond_release(cond);
      _exit(ok ? 0 : 1);
    }
  }
  mt_event_set(ev);
  assert_code(mt_sem_acquire(sem, 30), 0);
  assert_code(mt_sem_acquire(sem, 30), 0);
  assert_true(mt_barrier_wait(bar, 30) >= 0);
  for (;;) {
    mt_cond_acquire(cond, MT_FOREVER);
    if (box[1] == 2) break;
    mt_cond_release(cond);
    sched_yield();
  }
  box[0] = 1;
  mt_cond_notify_all(cond);
  mt_cond_release(cond);
  for (int i = 0; i < 2; i++) wait_ok(kids[i]);
  munmap(box, 4096);
  mt_barrier_free(bar);
  mt_cond_free(cond);
  mt_lock_free(lock);
  mt_event_free(ev);
  mt_sem_free(sem);
}

/* A private lock held by another thread at fork time: in the child that
 * thread does not exist, so the child gets MT_EOWNERDEAD, not a hang. */
static void *hold_forever(void *arg) {
  mt_lock_acquire(arg, MT_FOREVER);
  return NULL;
}

static void private_lock_held_across_fork(void **state) {
  (void)state;
  mt_lock_t *l = mt_lock_new(0);
  pthread_t t;
  pthread_create(&t, NULL, hold_forever, l);
  pthread_join(t, NULL); /* the thread ended holding it */
  pid_t pid = fork();
  if (pid == 0) {
    int r = mt_lock_acquire(l, 10);
    _exit(r == MT_EOWNERDEAD ? 0 : 1);
  }
  wait_ok(pid);
  mt_lock_release(l);
  mt_lock_free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(shared_lock_counter),
      cmocka_unit_test(robust_lock_owner_killed),
      cmocka_unit_test(robust_rlock_owner_killed),
      cmocka_unit_test(shared_primitives_work_in_children),
      cmocka_unit_test(private_lock_held_across_fork),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
