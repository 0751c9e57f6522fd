/* MUST NOT COMPILE (-Werror): a future's result value (mt_value_t) given to
 * the shared Value's getter (mt_shvalue_t).  Before issue 12 both types
 * were called mt_value_t, this compiled silently and returned 0. */
#include <multitask.h>

int main(void) {
  mt_value_t result = {0};
  int64_t x = 0;
  return mt_shvalue_get_i64(&result, &x);
}
