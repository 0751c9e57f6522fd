/* The notes' queue shared by Pool workers: 000_d8a1bcc7e9496ef7.txt, section
 * 5 "python实现多进程" (如果使用进程池pool创建进程的话，就需要使用
 * Manager().Queue()): q = Manager().Queue(); p = Pool(); p.apply(write, (q,))
 * puts A, B, C; p.apply(read, (q,)) gets qsize() items; close, join.
 *
 * Python needs a Manager's queue because a plain Queue cannot be pickled to
 * a pool worker.  Here the multiprocessing queue lives in shared memory and
 * is made BEFORE the pool, so every worker inherits it at fork: no manager
 * process is needed.  apply blocks until the task is done, so the reader
 * runs after the writer: the output is the notes' line for line (the pids
 * differ; the notes' one worker did both tasks, here any worker may). */
#include <multitask.h>
#include <stdio.h>
#include <unistd.h>

#include "example.h"

static mt_mpqueue_t *q;

static int write_task(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len, (void)out;
  printf("--start the writer process %d--\n", (int)getpid());
  const char *values[3] = {"A", "B", "C"};
  for (int i = 0; i < 3; i++) {
    printf("put %s into the queue\n", values[i]);
    if (mt_mpqueue_put(q, values[i], 1, MT_FOREVER) != 0) return -1;
  }
  return 0;
}

static int read_task(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len, (void)out;
  printf("--start the reader process %d--\n", (int)getpid());
  for (int i = 0, n = mt_mpqueue_qsize(q); i < n; i++) { /* range(q.qsize()) */
    char v[8];
    int got = mt_mpqueue_get(q, v, sizeof v, NULL, MT_FOREVER); /* q.get(True) */
    if (got < 0) return got;
    printf("read %.*s from the queue\n", got, v);
  }
  return 0;
}

int main(void) {
  ex_init();
  printf("--start the main process %d--\n", (int)getpid());
  q = mt_mpqueue_new(0, 64);                   /* Manager().Queue() */
  mt_pool_t *p = mt_pool_new(NULL);            /* Pool(): cpu_count() workers */
  int w = mt_pool_apply(p, write_task, NULL, 0, MT_FOREVER, &(mt_value_t){0}); /* blocks */
  int r = mt_pool_apply(p, read_task, NULL, 0, MT_FOREVER, &(mt_value_t){0});
  mt_pool_close(p); /* no more tasks */
  mt_pool_join(p, MT_FOREVER);
  mt_pool_free(p);
  printf("--the main process ends--\n");
  int left = mt_mpqueue_qsize(q);
  mt_mpqueue_free(q);
  return w == 0 && r == 0 && left == 0 ? 0 : 1;
}
