/* The notes' "scientists eating noodles": eat1 takes noodle then fork, eat2
 * takes fork then noodle.  With two Locks they deadlock; here every acquire
 * has a timeout, so the deadlock is DETECTED and reported instead of hanging.
 * Then the notes' fix: noodle_lock = fork_lock = one RLock. */
#include <multitask.h>
#include <stdio.h>

static const char *names[4] = {"alex", "wusir", "taibai", "yuan"};
static mt_lock_t *noodle, *fork_;
static mt_rlock_t *both;
static mt_barrier_t *start;
static int deadlocks;

static int take(mt_lock_t *l, const char *who, const char *what) {
  if (mt_lock_acquire(l, 0.5) == MT_ETIMEDOUT) {
    printf("%s waited 0.5 s for the %s: DEADLOCK detected, backing off\n", who, what);
    __atomic_fetch_add(&deadlocks, 1, __ATOMIC_RELAXED);
    return -1;
  }
  printf("%s got the %s\n", who, what);
  return 0;
}

static void *eat_locks(void *arg) {
  int i = (int)(long)arg;
  mt_lock_t *first = i % 2 ? fork_ : noodle, *second = i % 2 ? noodle : fork_;
  const char *n1 = i % 2 ? "fork" : "noodles", *n2 = i % 2 ? "noodles" : "fork";
  mt_barrier_wait(start, MT_FOREVER); /* all grab at once: forces the deadlock */
  if (take(first, names[i], n1) < 0) return NULL;
  mt_barrier_wait(start, MT_FOREVER); /* everyone holds a first lock now */
  if (take(second, names[i], n2) == 0) {
    printf("%s ate a bite\n", names[i]);
    mt_lock_release(second);
  }
  mt_lock_release(first);
  return NULL;
}

static void *eat_rlock(void *arg) {
  int i = (int)(long)arg;
  mt_rlock_acquire(both, MT_FOREVER); /* "noodle" */
  mt_rlock_acquire(both, MT_FOREVER); /* "fork": same RLock, no deadlock */
  printf("%s got noodles and fork, ate a bite, put both down\n", names[i]);
  mt_rlock_release(both);
  mt_rlock_release(both);
  return NULL;
}

static void run(void *(*fn)(void *), int n) {
  mt_thread_t *t[4];
  for (int i = 0; i < n; i++) t[i] = mt_thread_spawn(fn, (void *)(long)i, NULL);
  for (int i = 0; i < n; i++) mt_thread_join(t[i], MT_FOREVER, NULL), mt_thread_free(t[i]);
}

int main(void) {
  noodle = mt_lock_new(0);
  fork_ = mt_lock_new(0);
  start = mt_barrier_new(2, NULL, NULL, MT_FOREVER, 0);
  puts("-- two Locks, alex (noodles first) vs wusir (fork first):");
  run(eat_locks, 2);
  printf("deadlocks detected: %d\n", deadlocks);
  puts("-- the fix: noodle_lock = fork_lock = RLock()");
  both = mt_rlock_new(0);
  run(eat_rlock, 4);
  mt_rlock_free(both);
  mt_barrier_free(start);
  mt_lock_free(noodle);
  mt_lock_free(fork_);
  return deadlocks >= 1 ? 0 : 1; /* one or both back off: either way it was seen */
}
