/* as_completed yields futures as they finish, not in submission order.
 *   Python:  for f in as_completed(fs, timeout=5): print(f.result()) */
#include <multitask.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static int sleep_ms(void *arg, mt_value_t *out) {
  intptr_t ms = (intptr_t)arg;
  struct timespec ts = {0, (long)ms * 1000 * 1000};
  nanosleep(&ts, NULL);
  out->ptr = arg;
  return 0;
}

int main(void) {
  intptr_t delays[] = {300, 100, 250, 50, 150};
  enum { N = 5 };
  mt_executor_t *ex = mt_executor_new_thread_pool(NULL);
  mt_future_t *fs[N];
  for (int i = 0; i < N; i++) {
    mt_executor_submit(ex, sleep_ms, (void *)delays[i], &fs[i]);
    printf("submitted task %d (%ld ms)\n", i, (long)delays[i]);
  }
  mt_as_completed_t *it = mt_as_completed_new(fs, N, 5.0);
  mt_future_t *f;
  while (mt_as_completed_next(it, &f) == 1) {
    mt_value_t v;
    mt_future_result(f, 0, &v);
    printf("completed: the %ld ms task\n", (long)(intptr_t)v.ptr);
  }
  mt_as_completed_free(it);
  for (int i = 0; i < N; i++) mt_future_free(fs[i]);
  mt_executor_free(ex);
  return 0;
}
