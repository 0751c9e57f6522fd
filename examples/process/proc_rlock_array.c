/* The notes' process lock: 004_5c065b13d5e62cce.txt, section "多进程LOCK,
 * 如果不锁 屏幕抢占输出进程锁实例": temp = Array('i', [11, 22, 33, 44]) and an
 * RLock shared by 20 processes; Foo(lock, temp, i) takes the lock, sets
 * temp[0] = 100 + i and prints every item as "i -----> item", then releases
 * it.  Under the lock each process's four lines stay together (without it
 * the processes' lines would interleave on the screen). */
#include <multitask.h>
#include <stdio.h>

#include "example.h"

static mt_rlock_t *lock;
static mt_sharray_t *temp;

static int foo(void *arg) {
  long i = (long)arg;
  mt_rlock_acquire(lock, MT_FOREVER); /* lock.acquire() */
  mt_sharray_set_i64(temp, 0, 100 + i); /* temp[0] = 100 + i */
  for (size_t k = 0; k < mt_sharray_len(temp); k++) { /* for item in temp: */
    int64_t item = 0;
    mt_sharray_get_i64(temp, (long)k, &item);
    printf("%ld -----> %lld\n", i, (long long)item);
  }
  mt_rlock_release(lock); /* lock.release() */
  return 0;
}

int main(void) {
  ex_init();
  lock = mt_rlock_new(MT_SHARED); /* RLock() */
  temp = mt_sharray_new('i', 4, false); /* Array('i', [11, 22, 33, 44]) */
  const int init[4] = {11, 22, 33, 44};
  for (int k = 0; k < 4; k++) mt_sharray_set_i64(temp, k, init[k]);
  mt_process_t *p[20];
  for (long i = 0; i < 20; i++) {
    p[i] = mt_process_new(foo, (void *)i, NULL);
    mt_process_start(p[i]);
  }
  int failed = 0;
  for (int i = 0; i < 20; i++) {
    int code = -1;
    mt_process_join(p[i], MT_FOREVER);
    mt_process_exitcode(p[i], &code);
    failed += code != 0;
    mt_process_free(p[i]);
  }
  mt_sharray_free(temp);
  mt_rlock_free(lock);
  return failed == 0 ? 0 : 1;
}
