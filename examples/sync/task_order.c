/* Three locks force Task1 -> Task2 -> Task3 -> Task1 ... order, as in the
 * notes: each task waits for its own lock and releases the next one.  (Any
 * thread may release an mt_lock_t, as with Python's Lock.) */
#include <multitask.h>
#include <stdio.h>

static mt_lock_t *locks[3];

static void *task(void *arg) {
  int me = (int)(long)arg;
  for (int round = 0; round < 3; round++) {
    mt_lock_acquire(locks[me], MT_FOREVER);
    printf("Task%d (round %d)\n", me + 1, round + 1);
    fflush(stdout);
    mt_lock_release(locks[(me + 1) % 3]);
  }
  return NULL;
}

int main(void) {
  for (int i = 0; i < 3; i++) locks[i] = mt_lock_new(0);
  mt_lock_acquire(locks[1], MT_FOREVER); /* Task2 and Task3 start blocked */
  mt_lock_acquire(locks[2], MT_FOREVER);
  mt_thread_t *t[3];
  for (int i = 2; i >= 0; i--) t[i] = mt_thread_spawn(task, (void *)(long)i, NULL);
  for (int i = 0; i < 3; i++) mt_thread_join(t[i], MT_FOREVER, NULL), mt_thread_free(t[i]);
  for (int i = 0; i < 3; i++) mt_lock_free(locks[i]);
  return 0;
}
