/* Semaphore(3): ten workers, at most three inside at once.  Then the notes'
 * BoundedSemaphore(5): "five stalls, five keys" - eight people share five
 * stalls, and returning a sixth key is refused (Python's ValueError). */
#include <multitask.h>
#include <stdio.h>

static mt_sem_t *sem, *stalls;
static int inside, max_inside;
static mt_lock_t *print_lock;

static void *worker(void *arg) {
  mt_sem_acquire(sem, MT_FOREVER);
  int now = __atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
  int m = __atomic_load_n(&max_inside, __ATOMIC_SEQ_CST);
  while (now > m && !__atomic_compare_exchange_n(&max_inside, &m, now, 0, __ATOMIC_SEQ_CST,
                                                 __ATOMIC_SEQ_CST)) {
  }
  MT_WITH_LOCK(print_lock) { printf("worker %ld inside (%d inside now)\n", (long)arg, now); }
  for (volatile int spin = 0; spin < 200000; spin++) {
  }
  __atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
  mt_sem_release(sem, 1);
  return NULL;
}

static void *person(void *arg) {
  mt_sem_acquire(stalls, MT_FOREVER);
  MT_WITH_LOCK(print_lock) {
    printf("person %ld takes a key (%d keys left)\n", (long)arg, mt_sem_value(stalls));
  }
  mt_sem_release(stalls, 1);
  return NULL;
}

static void run(void *(*fn)(void *), int n) {
  mt_thread_t *t[10];
  for (int i = 0; i < n; i++) t[i] = mt_thread_spawn(fn, (void *)(long)i, NULL);
  for (int i = 0; i < n; i++) mt_thread_join(t[i], MT_FOREVER, NULL), mt_thread_free(t[i]);
}

int main(void) {
  print_lock = mt_lock_new(0);
  sem = mt_sem_new(3, 0);
  run(worker, 10);
  printf("Semaphore(3): at most %d workers were inside at once\n", max_inside);
  stalls = mt_sem_new_bounded(5, 0);
  run(person, 8);
  int r = mt_sem_release(stalls, 1);
  printf("returning a sixth key: %s (%s)\n", mt_err_name(r), mt_strerror(r));
  mt_sem_free(stalls);
  mt_sem_free(sem);
  mt_lock_free(print_lock);
  return max_inside <= 3 && r == MT_EOVERFLOW ? 0 : 1;
}
