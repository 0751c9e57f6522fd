/* The notes' Pool(3) example: 10 tasks with apply_async, then close() and
 * join().  Python:
 *   with Pool(3) as p:
 *       rs = [p.apply_async(work, (i,)) for i in range(10)]
 *       p.close(); p.join()
 */
#include <multitask.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* a task: gets an int, returns a line of text saying who did it */
static int work(const void *in, size_t len, mt_value_t *out) {
  static char line[64];
  int i;
  (void)len;
  memcpy(&i, in, sizeof i);
  out->len = (size_t)snprintf(line, sizeof line, "task %d done by worker pid %d", i,
                              (int)getpid());
  out->ptr = line;
  return 0;
}

int main(void) {
  mt_pool_opts_t popts = MT_POOL_OPTS_INIT;
  popts.processes = 3;
  mt_pool_t *p = mt_pool_new(&popts);
  mt_future_t *rs[10];
  for (int i = 0; i < 10; i++) mt_pool_apply_async(p, work, &i, sizeof i, NULL, &rs[i]);
  mt_pool_close(p);
  mt_pool_join(p, MT_FOREVER);
  for (int i = 0; i < 10; i++) {
    mt_value_t v;
    if (mt_future_result(rs[i], 0, &v) == 0) printf("%.*s\n", (int)v.len, (char *)v.ptr);
    mt_future_free(rs[i]);
  }
  mt_pool_free(p);
  printf("pool closed and joined\n");
  return 0;
}
