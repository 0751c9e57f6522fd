/* The control for the *_misuse.c files: the same calls with the right
 * types compile with the same command line, so a refusal of a misuse file
 * is the type check and not a broken command. */
#include <multitask.h>

static int cb(const char *key, const mt_shitem_t *v, void *arg) {
  (void)key; (void)v; (void)arg;
  return 0;
}

int main(void) {
  mt_shvalue_t *v = mt_shvalue_new('i', 7, false);
  int64_t x = 0;
  int r = mt_shvalue_get_i64(v, &x);
  mt_shvalue_free(v);

  mt_future_t *f = mt_future_new();
  mt_pool_result_t item = {0};
  r |= mt_future_result(f, 0, &item.value) != MT_ETIMEDOUT;
  mt_future_free(f);

  mt_shdict_t *d = mt_shdict_new(0, 0);
  long n = mt_shdict_items(d, cb, NULL);
  mt_shdict_free(d);
  return r || x != 7 || n != 0;
}
