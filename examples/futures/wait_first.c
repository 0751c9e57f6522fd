/* wait(fs, return_when=FIRST_COMPLETED): react to the first answer, then
 * collect the rest with ALL_COMPLETED. */
#include <multitask.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static int mirror(void *arg, mt_value_t *out) {
  intptr_t ms = (intptr_t)arg;
  struct timespec ts = {0, (long)ms * 1000 * 1000};
  nanosleep(&ts, NULL);
  out->ptr = arg;
  return 0;
}

int main(void) {
  intptr_t latency[] = {200, 40, 120}; /* three mirrors of the same file */
  mt_executor_t *ex = mt_executor_new_thread_pool(NULL);
  mt_future_t *fs[3], *done[3], *pending[3];
  for (int i = 0; i < 3; i++) mt_executor_submit(ex, mirror, (void *)latency[i], &fs[i]);
  int npending;
  int ndone = mt_future_wait(fs, 3, 5.0, MT_FIRST_COMPLETED, done, pending, &npending);
  mt_value_t v;
  mt_future_result(done[0], 0, &v);
  printf("FIRST_COMPLETED: %d done, %d not done; fastest mirror answered in %ld ms\n", ndone,
         npending, (long)(intptr_t)v.ptr);
  ndone = mt_future_wait(fs, 3, 5.0, MT_ALL_COMPLETED, done, pending, &npending);
  printf("ALL_COMPLETED: %d done, %d not done\n", ndone, npending);
  for (int i = 0; i < 3; i++) mt_future_free(fs[i]);
  mt_executor_free(ex);
  return 0;
}
