/* gevent in C (the notes' three gevent examples): spawn + join, explicit
 * switching with sleep(0), joinall and g.value.
 *
 *   def test(n):                        # 1: without a switch each greenlet
 *       for i in range(n):              #    runs to its end: A 0 1 2, B ...
 *           print(gevent.getcurrent(), i)
 *   g1, g2, g3 = (gevent.spawn(test, 3) for _ in range(3)); g1.join() ...
 *
 *   def foo(): print('Running in foo'); gevent.sleep(0)          # 2
 *              print('Explicit context switch to foo again')
 *   def bar(): print('Explicit context to bar'); gevent.sleep(0)
 *              print('Implicit context switch back to bar')
 *   gevent.joinall([gevent.spawn(foo), gevent.spawn(bar)])
 *
 *   def eat(): print('wusir is eating'); time.sleep(1)            # 3
 *              print('wusir finished eat'); return 'wusir***'
 *   def sleep(): ... return '小马哥666'
 *   g1 = gevent.spawn(eat); g2 = gevent.spawn(sleep)
 *   gevent.joinall([g1, g2]); print(g1.value); print(g2.value)
 *
 * The hub is the thread's (mt_hub_new); the main code's join parks it and
 * the hub runs the tasks (gevent's main greenlet).  time.sleep(1) under
 * monkey.patch_all is mt_coro_sleep here (0.2 s, to keep the demo short). */
#include <multitask.h>

#include <stdint.h>
#include <stdio.h>

static int test(void *arg, mt_value_t *out) {
  (void)out;
  mt_future_t *self = mt_task_current();
  for (int i = 0; i < (int)(intptr_t)arg; i++) printf("<%s> %d\n", mt_coro_name(self), i);
  return 0;
}

static int test_switching(void *arg, mt_value_t *out) {
  (void)out;
  mt_future_t *self = mt_task_current();
  for (int i = 0; i < (int)(intptr_t)arg; i++) {
    printf("<%s> %d\n", mt_coro_name(self), i);
    mt_coro_sleep(0); /* "把3个greenlet依次运行改为交替运行" */
  }
  return 0;
}

static int foo(void *arg, mt_value_t *out) {
  (void)arg, (void)out;
  printf("Running in foo\n");
  mt_coro_sleep(0);
  printf("Explicit context switch to foo again\n");
  return 0;
}

static int bar(void *arg, mt_value_t *out) {
  (void)arg, (void)out;
  printf("Explicit context to bar\n");
  mt_coro_sleep(0);
  printf("Implicit context switch back to bar\n");
  return 0;
}

static int eat(void *arg, mt_value_t *out) {
  (void)arg;
  printf("wusir is eating\n");
  mt_coro_sleep(0.2);
  printf("wusir finished eat\n");
  out->ptr = "wusir***";
  return 0;
}

static int nap(void *arg, mt_value_t *out) {
  (void)arg;
  printf("小马哥 is sleeping\n");
  mt_coro_sleep(0.2);
  printf("小马哥 finished sleep\n");
  out->ptr = "小马哥666";
  return 0;
}

static int check(int r, const char *what) {
  if (r < 0) fprintf(stderr, "%s: %s\n", what, mt_strerror(r));
  return r;
}

int main(void) {
  mt_hub_t *hub = mt_hub_new();
  if (!hub) {
    perror("mt_hub_new");
    return 1;
  }
  int rc = 0;

  printf("-- spawn, join (no switch: each runs to its end)\n");
  for (int round = 0; round < 2; round++) {
    if (round == 1) printf("-- the same with gevent.sleep(0) in the loop: alternating\n");
    mt_future_t *g[3];
    for (int i = 0; i < 3; i++) {
      mt_coro_opts_t o = MT_CORO_OPTS_INIT;
      char name[16];
      snprintf(name, sizeof name, "Greenlet-%c", 'A' + i);
      o.name = name;
      g[i] = mt_coro_spawn(round ? test_switching : test, (void *)(intptr_t)3, &o);
    }
    for (int i = 0; i < 3; i++) {
      if (check(mt_coro_join(g[i], MT_FOREVER), "join") < 0) rc = 1;
      mt_future_free(g[i]);
    }
  }

  printf("-- gevent.sleep(0): explicit switching\n");
  mt_future_t *fb[2] = {mt_coro_spawn(foo, NULL, NULL), mt_coro_spawn(bar, NULL, NULL)};
  if (check(mt_coro_joinall(fb, 2, MT_FOREVER), "joinall") != 2) rc = 1;
  mt_future_free(fb[0]);
  mt_future_free(fb[1]);

  printf("-- joinall and g.value\n");
  mt_future_t *g2[2] = {mt_coro_spawn(eat, NULL, NULL), mt_coro_spawn(nap, NULL, NULL)};
  if (check(mt_coro_joinall(g2, 2, MT_FOREVER), "joinall") != 2) rc = 1;
  for (int i = 0; i < 2; i++) {
    mt_value_t v;
    if (check(mt_future_result(g2[i], 0, &v), "value") == 0) printf("%s\n", (char *)v.ptr);
    else rc = 1;
    mt_future_free(g2[i]);
  }
  mt_hub_free(hub);
  return rc;
}
