/* The notes' Manager example: 100 processes each take a lock and decrement
 * dic["count"].  No manager process: the dict lives in shared memory. */
#include <multitask.h>
#include <stdio.h>

static mt_shdict_t *dic;
static mt_lock_t *lock;

static int work(void *arg) {
  (void)arg;
  mt_lock_acquire(lock, MT_FOREVER);
  int64_t c;
  mt_shdict_get_int(dic, "count", &c);
  mt_shdict_set_int(dic, "count", c - 1);
  mt_lock_release(lock);
  return 0;
}

int main(void) {
  dic = mt_shdict_new(0, 0);
  lock = mt_lock_new(MT_SHARED);
  mt_shdict_set_int(dic, "count", 100);
  mt_process_t *ps[100];
  for (int i = 0; i < 100; i++) {
    ps[i] = mt_process_new(work, NULL, NULL);
    mt_process_start(ps[i]);
  }
  for (int i = 0; i < 100; i++) {
    mt_process_join(ps[i], MT_FOREVER);
    mt_process_free(ps[i]);
  }
  int64_t c;
  mt_shdict_get_int(dic, "count", &c);
  printf("dic[\"count\"] = %lld after 100 processes\n", (long long)c);
  mt_lock_free(lock);
  mt_shdict_free(dic);
  return c == 0 ? 0 : 1;
}
