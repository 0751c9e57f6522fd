/* MUST NOT COMPILE (-Werror): an items() callback written for a future's
 * value instead of a shared dict item (mt_shitem_t). */
#include <multitask.h>

static int cb(const char *key, const mt_value_t *v, void *arg) {
  (void)key; (void)v; (void)arg;
  return 0;
}

int main(void) {
  mt_shdict_t *d = mt_shdict_new(0, 0);
  long n = mt_shdict_items(d, cb, NULL);
  mt_shdict_free(d);
  return (int)n;
}
