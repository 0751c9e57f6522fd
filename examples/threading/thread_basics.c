/* Thread basics (the notes' first threading example): 5 workers started
 * with a target, an argument and a name, then joined.
 * Python: t = threading.Thread(target=worker, args=(i,), name="t.%d" % i) */
#include <multitask.h>

#include <stdio.h>
#include <time.h>

static void *worker(void *arg) {
  int num = (int)(intptr_t)arg;
  struct timespec ts = {0, 100 * 1000 * 1000}; /* time.sleep(0.1) */
  nanosleep(&ts, NULL);
  printf("Thread %d (name %s, native id %d)\n", num,
         mt_thread_name(mt_thread_current()), (int)mt_thread_get_native_id());
  return (void *)(intptr_t)(num * num);
}

int main(void) {
  enum { N = 5 };
  mt_thread_t *ts[N];
  for (int i = 0; i < N; i++) {
    char name[16];
    snprintf(name, sizeof name, "t.%d", i);
    mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
    o.name = name;
    ts[i] = mt_thread_spawn(worker, (void *)(intptr_t)i, &o);
    if (!ts[i]) return 1;
  }
  for (int i = 0; i < N; i++) {
    void *r;
    if (mt_thread_join(ts[i], MT_FOREVER, &r) != 0) return 1;
    printf("joined %s: returned %d\n", mt_thread_name(ts[i]), (int)(intptr_t)r);
    mt_thread_free(ts[i]);
  }
  printf("main thread end!\n");
  return 0;
}
