/* Tasks sharing a Queue with threads, in a task group, with a timeout scope.
 *
 * Two producer THREADS put 1..100 each into one mt_queue_t; three consumer
 * TASKS on the main thread's hub take items (a get parks only the task, the
 * hub runs the others) until a sentinel (NULL) each, in a task group
 * (asyncio.TaskGroup).  A fourth task waits for an item that never comes,
 * inside a 0.05 s timeout scope (asyncio.timeout): its get returns
 * MT_ECANCELLED and the scope reports MT_ETIMEDOUT.  The totals are exact
 * whatever the interleaving: 2 x 5050. */
#include <multitask.h>

#include <stdint.h>
#include <stdio.h>

static mt_queue_t *q, *never;

static void *producer(void *arg) {
  for (intptr_t i = 1; i <= 100; i++) mt_queue_put(q, (void *)i, MT_FOREVER);
  (void)arg;
  return NULL;
}

static int consumer(void *arg, mt_value_t *out) {
  long *sum = arg;
  int n = 0;
  for (;;) {
    void *item;
    int r = mt_queue_get(q, &item, MT_FOREVER);
    if (r < 0) return r;
    if (!item) break;
    *sum += (intptr_t)item;
    n++;
  }
  out->ptr = (void *)(intptr_t)n;
  return 0;
}

static int impatient(void *arg, mt_value_t *out) {
  (void)arg;
  (void)out;
  mt_timeout_t t;
  void *item;
  mt_timeout_scope_begin(&t, 0.05);
  int r = mt_queue_get(never, &item, MT_FOREVER);
  int e = mt_timeout_scope_end(&t);
  printf("impatient task: get returned %s, the scope %s\n", mt_err_name(r), mt_err_name(e));
  return 0;
}

int main(void) {
  q = mt_queue_new(8);
  never = mt_queue_new(0);
  mt_hub_t *hub = mt_hub_new();
  long sums[3] = {0, 0, 0};
  mt_taskgroup_t *g = mt_taskgroup_new();
  for (int i = 0; i < 3; i++) mt_taskgroup_spawn(g, consumer, &sums[i], NULL);
  mt_taskgroup_spawn(g, impatient, NULL, NULL);
  mt_thread_t *p1 = mt_thread_spawn(producer, NULL, NULL), *p2 = mt_thread_spawn(producer, NULL, NULL);
  mt_thread_join(p1, MT_FOREVER, NULL); /* parks the main code: the tasks run meanwhile */
  mt_thread_join(p2, MT_FOREVER, NULL);
  for (int i = 0; i < 3; i++) mt_queue_put(q, NULL, MT_FOREVER); /* one sentinel each */
  int r = mt_taskgroup_wait(g, MT_FOREVER);
  long total = 0;
  for (int i = 0; i < 3; i++) {
    mt_value_t v;
    mt_future_result(mt_taskgroup_task(g, i), 0, &v);
    printf("consumer %d: %ld items\n", i, (long)(intptr_t)v.ptr);
    total += sums[i];
  }
  printf("group: %s; total %ld (expected %d)\n", mt_err_name(r), total, 2 * 5050);
  mt_taskgroup_free(g);
  mt_thread_free(p1);
  mt_thread_free(p2);
  mt_hub_free(hub);
  mt_queue_free(q);
  mt_queue_free(never);
  return total == 2 * 5050 && r == 0 ? 0 : 1;
}
