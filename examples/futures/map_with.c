/* executor.map in input order, inside a `with` block.
 *   Python:  with ThreadPoolExecutor(4) as ex:
 *                for r in ex.map(square, range(10)): print(r) */
#include <multitask.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static int square(void *arg, mt_value_t *out) {
  intptr_t x = (intptr_t)arg;
  struct timespec ts = {0, (long)((10 - x) * 3 * 1000 * 1000)}; /* late ones finish first */
  nanosleep(&ts, NULL);
  out->ptr = (void *)(x * x);
  return 0;
}

int main(void) {
  void *args[10];
  mt_value_t results[10];
  for (intptr_t i = 0; i < 10; i++) args[i] = (void *)i;
  {
    mt_thread_pool_opts_t opts = MT_THREAD_POOL_OPTS_INIT;
    opts.max_workers = 4;
    mt_executor_t *ex MT_WITH_EXECUTOR = mt_executor_new_thread_pool(&opts);
    int r = mt_executor_map(ex, square, args, 10, MT_FOREVER, 1, results, NULL);
    printf("map returned %s; results in input order:", mt_err_name(r));
    for (int i = 0; i < 10; i++) printf(" %ld", (long)(intptr_t)results[i].ptr);
    printf("\n");
  } /* the executor shuts down here, waiting for its work */
  printf("left the with block: executor shut down\n");
  return 0;
}
