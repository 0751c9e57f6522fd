/* Two threads add and subtract 1,000,000 times on one global, first with
 * no lock (the total drifts), then under an mt_lock_t (the total is 0). */
#include <multitask.h>
#include <stdio.h>

#define N 1000000
static volatile long total;
static mt_lock_t *lock;

static void *add(void *arg) {
  for (int i = 0; i < N; i++) {
    if (arg) mt_lock_acquire(lock, MT_FOREVER);
    total = total + 1;
    if (arg) mt_lock_release(lock);
  }
  return NULL;
}

static void *sub(void *arg) {
  for (int i = 0; i < N; i++) {
    if (arg) mt_lock_acquire(lock, MT_FOREVER);
    total = total - 1;
    if (arg) mt_lock_release(lock);
  }
  return NULL;
}

static long run(int with_lock) {
  total = 0;
  void *arg = with_lock ? (void *)1 : NULL;
  mt_thread_t *a = mt_thread_spawn(add, arg, NULL), *s = mt_thread_spawn(sub, arg, NULL);
  mt_thread_join(a, MT_FOREVER, NULL);
  mt_thread_join(s, MT_FOREVER, NULL);
  mt_thread_free(a);
  mt_thread_free(s);
  return total;
}

int main(void) {
  lock = mt_lock_new(0);
  printf("without a lock: total = %ld (a race: usually not 0)\n", run(0));
  long with = run(1);
  printf("with a lock:    total = %ld\n", with);
  mt_lock_free(lock);
  return with == 0 ? 0 : 1;
}
