/* A worker is SIGKILLed in the middle of a task (the OOM killer, a crash):
 * Python's Pool hangs forever here (CPython gh-66587).  With multitask only
 * that task fails, with MT_EWORKERDIED and the signal; the worker is
 * replaced and the other tasks complete. */
#include <multitask.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int started[2];

static int slow_or_quick(const void *in, size_t len, mt_value_t *out) {
  int i;
  (void)len;
  memcpy(&i, in, sizeof i);
  if (i == 3) { /* this one hangs until somebody kills its worker */
    pid_t me = getpid();
    if (write(started[1], &me, sizeof me) != sizeof me) return MT_EIO;
    for (;;) pause();
  }
  out->ptr = (void *)(intptr_t)(i * 100);
  return 0;
}

int main(void) {
  if (pipe(started) != 0) return 1;
  mt_pool_opts_t popts = MT_POOL_OPTS_INIT;
  popts.processes = 2;
  mt_pool_t *p = mt_pool_new(&popts);
  mt_future_t *fs[8];
  for (int i = 0; i < 8; i++) mt_pool_apply_async(p, slow_or_quick, &i, sizeof i, NULL, &fs[i]);
  pid_t victim;
  if (read(started[0], &victim, sizeof victim) != sizeof victim) return 1;
  printf("killing worker %d while it runs task 3\n", (int)victim);
  kill(victim, SIGKILL);
  for (int i = 0; i < 8; i++) {
    mt_value_t v;
    int r = mt_future_result(fs[i], MT_FOREVER, &v), ec;
    if (r == 0)
      printf("task %d -> %ld\n", i, (long)(intptr_t)v.ptr);
    else if (mt_pool_died_exitcode(fs[i], &ec) == 0)
      printf("task %d -> %s (worker exitcode %d)\n", i, mt_err_name(r), ec);
    mt_future_free(fs[i]);
  }
  int more[4] = {10, 11, 12, 13}; /* the pool carries on */
  mt_bytes_t items[4];
  mt_pool_result_t res[4];
  for (int i = 0; i < 4; i++) items[i] = (mt_bytes_t){&more[i], sizeof more[i]};
  mt_pool_map(p, slow_or_quick, items, 4, 1, MT_FOREVER, res);
  printf("map afterwards:");
  for (int i = 0; i < 4; i++) printf(" %ld", (long)(intptr_t)res[i].value.ptr);
  printf("\n%ld workers started in all (the killed one was replaced)\n", mt_pool_workers_started(p));
  mt_pool_close(p);
  mt_pool_join(p, MT_FOREVER);
  mt_pool_free(p);
  return 0;
}
