/* Array('i', [11, 22, 33, 44]) shared by processes; an RLock and an Array
 * shared by 20 processes.
 *
 * Seeds (/work/shared/seeds):
 *   004_5c065b13d5e62cce.txt, "多进程的queue队列" #方法一,Array (and "进程 Array
 *     进程之间数据共享"): temp = Array('i', [11,22,33,44]); two processes
 *     Foo(i) set temp[i] = 100+i and print every item.  Here the two run
 *     one after the other so the output is stable: the second sees the
 *     first's change (in Python they run at once and the lines interleave).
 *   004_5c065b13d5e62cce.txt, "多进程LOCK": lock = RLock(); temp =
 *     Array('i', [11, 22, 33, 44]); 20 processes Foo(lock, temp, i), each
 *     taking the lock and setting temp[0] = 100+i.  Here each ADDS 100+i
 *     to temp[0] (and 1 to temp[1] in a nested, re-entrant `with`), with a
 *     yield between the read and the write so that an unlocked version
 *     would lose updates: the final values are exact, 11 + sum(100+i) =
 *     2201 and 22 + 20 = 42, only because of the lock.
 *
 * C: mt_sharray_new_from_i64 is Array(typecode, [values]); an MT_SHARED
 * RLock and MT_WITH_RLOCK are `lock = RLock()` and `with lock:`. */
#include <multitask.h>

#include <sched.h>
#include <stdio.h>

static mt_sharray_t *temp;
static mt_rlock_t *lock;

static void print_items(const char *who) {
  printf("%s ----->", who);
  for (long k = 0; k < (long)mt_sharray_len(temp); k++) {
    int64_t x;
    mt_sharray_get_i64(temp, k, &x);
    printf(" %lld", (long long)x);
  }
  printf("\n");
}

/* def Foo(i): temp[i] = 100+i; for item in temp: print(i, '----->', item) */
static int foo(void *arg) {
  int i = (int)(intptr_t)arg;
  mt_sharray_set_i64(temp, i, 100 + i);
  char who[16];
  snprintf(who, sizeof who, "%d", i);
  print_items(who);
  return 0;
}

/* Foo(lock, temp, i) adding under the lock */
static int foo_locked(void *arg) {
  int i = (int)(intptr_t)arg;
  MT_WITH_RLOCK(lock) {
    int64_t x;
    mt_sharray_get_i64(temp, 0, &x);
    sched_yield(); /* deliberate: another process would run here unlocked */
    mt_sharray_set_i64(temp, 0, x + 100 + i);
    MT_WITH_RLOCK(lock) { /* an RLock re-enters in its owner */
      mt_sharray_get_i64(temp, 1, &x);
      mt_sharray_set_i64(temp, 1, x + 1);
    }
  }
  return 0;
}

/* Process(target=fn, args=(i,)).start(), then join. */
static int run(int (*fn)(void *), int i) {
  mt_process_t *p = mt_process_new(fn, (void *)(intptr_t)i, NULL);
  int r = p ? mt_process_start(p) : -1;
  if (r == 0) r = mt_process_join(p, MT_FOREVER);
  mt_process_free(p);
  return r;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  static const int64_t init[] = {11, 22, 33, 44};

  printf("Array('i', [11, 22, 33, 44]) seen and changed by two processes:\n");
  temp = mt_sharray_new_from_i64('i', init, 4, true);
  if (!temp) return 1;
  for (int i = 0; i < 2; i++)
    if (run(foo, i) != 0) return 1;
  print_items("parent");
  mt_sharray_free(temp);

  printf("RLock + Array('i', [11, 22, 33, 44]) shared by 20 processes, each adding under the lock:\n");
  temp = mt_sharray_new_from_i64('i', init, 4, false);
  lock = mt_rlock_new(MT_SHARED);
  if (!temp || !lock) return 1;
  enum { N = 20 };
  mt_process_t *ps[N];
  for (int i = 0; i < N; i++) {
    ps[i] = mt_process_new(foo_locked, (void *)(intptr_t)i, NULL);
    if (!ps[i] || mt_process_start(ps[i]) != 0) return 1;
  }
  for (int i = 0; i < N; i++) {
    mt_process_join(ps[i], MT_FOREVER);
    mt_process_free(ps[i]);
  }
  int64_t t0, t1;
  mt_sharray_get_i64(temp, 0, &t0);
  mt_sharray_get_i64(temp, 1, &t1);
  printf("temp[0] = %lld (11 + sum of 100+i for i < 20 = %d)\n", (long long)t0, 11 + 100 * N + N * (N - 1) / 2);
  printf("temp[1] = %lld (22 + %d)\n", (long long)t1, N);
  print_items("parent");
  mt_rlock_free(lock);
  mt_sharray_free(temp);
  return 0;
}
