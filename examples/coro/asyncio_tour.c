/* asyncio in C (the notes' asyncio examples), on the thread's hub.
 *
 *   async def test(i):                     # 0: (the @asyncio.coroutine /
 *       print('test_1', i)                 #    yield from form is the same)
 *       await asyncio.sleep(1); print('test_2', i)
 *   loop.run_until_complete(asyncio.wait([test(i) for i in range(3)]))
 *   The notes print 2 1 0: asyncio.wait made a set of the coroutines and
 *   started them in the set's order.  Tasks start here in the order they
 *   were spawned; spawning 2, 1, 0 shows the notes' lines.
 *   async def demo():                      # 1: run_until_complete(demo())
 *       print('start'); await asyncio.sleep(1); print('end')
 *   loop.run_until_complete(asyncio.wait([demo(), demo(), demo()]))  # 2
 *   t1 = loop.create_task(demo()); t2 = ...  # 3: demo returns 123;
 *   loop.run_until_complete(asyncio.wait([t1, t2]))
 *   for t in tasks: print(t.result())        #    results in order
 *   async def demo(i): print('start'); await asyncio.sleep(10 - i)    # 4
 *       print('end'); return i, 123
 *   async def main():
 *       task_l = [asyncio.ensure_future(demo(i)) for i in range(10)]
 *       for ret in asyncio.as_completed(task_l): print(await ret)
 *   loop.run_until_complete(main())          #    completion order: 9 .. 0
 *
 * `await` is a plain call here: a blocking call inside a task parks the
 * task.  asyncio.wait / as_completed are the futures' mt_future_wait /
 * mt_as_completed_*, unchanged: tasks ARE futures.  A second of the notes
 * is 0.1 s here (example 4 would take 10 s). */
#include <multitask.h>

#include <stdint.h>
#include <stdio.h>

#define SECOND 0.1

static int demo(void *arg, mt_value_t *out) {
  (void)arg;
  printf("start\n");
  int r = mt_coro_sleep(1 * SECOND);
  if (r < 0) return r;
  printf("end\n");
  out->ptr = (void *)(intptr_t)123;
  return 0;
}

static int test_i(void *arg, mt_value_t *out) {
  (void)out;
  int i = (int)(intptr_t)arg;
  printf("test_1 %d\n", i);
  int r = mt_coro_sleep(1 * SECOND);
  if (r < 0) return r;
  printf("test_2 %d\n", i);
  return 0;
}

static int demo_i(void *arg, mt_value_t *out) {
  int i = (int)(intptr_t)arg;
  printf("start\n");
  int r = mt_coro_sleep((10 - i) * SECOND);
  if (r < 0) return r;
  printf("end\n");
  out->ptr = arg;
  return 0;
}

static int as_completed_main(void *arg, mt_value_t *out) {
  (void)arg, (void)out;
  mt_future_t *task_l[10];
  for (int i = 0; i < 10; i++) {
    task_l[i] = mt_coro_spawn(demo_i, (void *)(intptr_t)i, NULL);
    if (!task_l[i]) return -1;
  }
  mt_as_completed_t *it = mt_as_completed_new(task_l, 10, MT_FOREVER);
  mt_future_t *ret;
  int r;
  while ((r = mt_as_completed_next(it, &ret)) == 1) {
    mt_value_t v;
    if ((r = mt_future_result(ret, 0, &v)) < 0) break;
    printf("(%d, 123)\n", (int)(intptr_t)v.ptr);
  }
  mt_as_completed_free(it);
  for (int i = 0; i < 10; i++) mt_future_free(task_l[i]);
  return r < 0 ? r : 0;
}

int main(void) {
  int rc = 0;
  printf("-- 0: asyncio.wait([test(i) for i in range(3)])\n");
  mt_hub_t *first = mt_hub_new();
  if (!first) {
    perror("mt_hub_new");
    return 1;
  }
  mt_future_t *tt[3];
  for (int i = 0; i < 3; i++) tt[i] = mt_coro_spawn(test_i, (void *)(intptr_t)(2 - i), NULL);
  if (mt_future_wait(tt, 3, MT_FOREVER, MT_ALL_COMPLETED, NULL, NULL, NULL) != 3) rc = 1;
  for (int i = 0; i < 3; i++) mt_future_free(tt[i]);
  mt_hub_free(first);

  printf("-- 1: loop.run_until_complete(demo())\n");
  if (mt_hub_run(demo, NULL, NULL) < 0) rc = 1;

  mt_hub_t *loop = mt_hub_new(); /* asyncio.get_event_loop() */
  if (!loop) {
    perror("mt_hub_new");
    return 1;
  }
  printf("-- 2: asyncio.wait([demo(), demo(), demo()])\n");
  mt_future_t *t[3];
  for (int i = 0; i < 3; i++) t[i] = mt_coro_spawn(demo, NULL, NULL);
  if (mt_future_wait(t, 3, MT_FOREVER, MT_ALL_COMPLETED, NULL, NULL, NULL) != 3) rc = 1;
  for (int i = 0; i < 3; i++) mt_future_free(t[i]);

  printf("-- 3: create_task x2, wait, results in order\n");
  mt_future_t *tasks[2] = {mt_coro_spawn(demo, NULL, NULL), mt_coro_spawn(demo, NULL, NULL)};
  if (mt_future_wait(tasks, 2, MT_FOREVER, MT_ALL_COMPLETED, NULL, NULL, NULL) != 2) rc = 1;
  for (int i = 0; i < 2; i++) {
    mt_value_t v;
    if (mt_future_result(tasks[i], 0, &v) == 0) printf("%d\n", (int)(intptr_t)v.ptr);
    else rc = 1;
    mt_future_free(tasks[i]);
  }

  printf("-- 4: ensure_future x10 + as_completed: completion order\n");
  if (mt_hub_run(as_completed_main, NULL, NULL) < 0) rc = 1; /* on this loop */
  mt_hub_free(loop); /* loop.close() */
  return rc;
}
