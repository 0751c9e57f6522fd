/* MUST NOT COMPILE (-Werror): a pool map item (mt_pool_result_t) where a
 * future's value (mt_value_t) is expected: the pool result wraps an
 * mt_value_t (.value) and is not one. */
#include <multitask.h>

int main(void) {
  mt_future_t *f = mt_future_new();
  mt_pool_result_t item = {0};
  int r = mt_future_result(f, 0, &item);
  mt_future_free(f);
  return r;
}
