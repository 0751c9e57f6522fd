/* ProcessPoolExecutor(5): submit, result, shutdown.  Python:
 *   with ProcessPoolExecutor(5) as ex:
 *       fs = [ex.submit(is_prime, n) for n in numbers]
 *       for n, f in zip(numbers, fs): print(n, f.result())
 */
#include <multitask.h>
#include <stdint.h>
#include <stdio.h>

/* arg is passed by value (an integer): returns 1 if prime */
static int is_prime(void *arg, mt_value_t *out) {
  int64_t n = (int64_t)(intptr_t)arg, r = n > 1;
  for (int64_t d = 2; d * d <= n && r; d++) r = n % d != 0;
  out->ptr = (void *)(intptr_t)r;
  return 0;
}

int main(void) {
  static const int64_t numbers[] = {112272535095293, 112582705942171, 112272535095297,
                                    115280095190773, 115797848077099, 1099726899285419};
  enum { N = sizeof numbers / sizeof numbers[0] };
  mt_process_pool_opts_t ppopts = MT_PROCESS_POOL_OPTS_INIT;
  ppopts.max_workers = 5;
  mt_executor_t *ex = mt_executor_new_process_pool(&ppopts);
  mt_future_t *fs[N];
  for (int i = 0; i < N; i++)
    mt_executor_submit(ex, is_prime, (void *)(intptr_t)numbers[i], &fs[i]);
  for (int i = 0; i < N; i++) {
    mt_value_t v;
    if (mt_future_result(fs[i], MT_FOREVER, &v) == 0)
      printf("%lld is prime: %s\n", (long long)numbers[i], v.ptr ? "True" : "False");
    mt_future_free(fs[i]);
  }
  mt_executor_shutdown(ex, true, false, MT_FOREVER);
  mt_executor_free(ex);
  printf("executor shut down\n");
  return 0;
}
