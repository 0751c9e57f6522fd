/* The control for value_misuse.c: the same call with the right type
 * compiles with the same command line, so a refusal of value_misuse.c is
 * the type check and not a broken command. */
#include <multitask.h>

int main(void) {
  mt_shvalue_t *v = mt_shvalue_new('i', 7, false);
  mt_value_t result = {0};
  int64_t x = 0;
  int r = mt_shvalue_get_i64(v, &x);
  mt_shvalue_free(v);
  return r || result.ptr != NULL || x != 7;
}
