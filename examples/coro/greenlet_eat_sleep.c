/* greenlet switching by hand between eat and sleep (the notes, 001 9.5.3):
 *
 *   def eat():   print('wusir is eating'); time.sleep(0.5); g2.switch()
 *                print('wusir finished eat')
 *   def sleep(): print('小马哥 is sleeping'); time.sleep(0.5)
 *                print('小马哥 finished sleep'); g1.switch()
 *   g1 = greenlet(eat); g2 = greenlet(sleep); g1.switch()
 *
 * Greenlets switch only where the code says so: the sleeps are not switch
 * points.  Without a hub mt_coro_sleep sleeps the thread, as an unpatched
 * time.sleep does, so the two half-second sleeps run one after the other
 * and the whole takes about one second (gevent_tour shows the hub, where a
 * sleep parks one task and lets the others run). */
#include <multitask.h>

#include <stdio.h>
#include <time.h>

static mt_greenlet_t *g1, *g2;

static void *eat(void *arg, void *value) {
  (void)arg, (void)value;
  printf("wusir is eating\n");
  mt_coro_sleep(0.5);
  mt_greenlet_switch(g2, NULL, NULL);
  printf("wusir finished eat\n");
  return NULL; /* back to the parent: main's g1.switch() returns */
}

static void *sleep_fn(void *arg, void *value) {
  (void)arg, (void)value;
  printf("小马哥 is sleeping\n");
  mt_coro_sleep(0.5);
  printf("小马哥 finished sleep\n");
  mt_greenlet_switch(g1, NULL, NULL);
  return NULL; /* never reached: g1 ends first and main frees g2 */
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
  g1 = mt_greenlet_new(eat, NULL, NULL, NULL);
  g2 = mt_greenlet_new(sleep_fn, NULL, NULL, NULL);
  if (!g1 || !g2) {
    perror("mt_greenlet_new");
    return 1;
  }
  double t0 = now();
  int r = mt_greenlet_switch(g1, NULL, NULL);
  double took = now() - t0;
  printf("g1 %s, g2 %s; took %.1f s: the sleeps ran one after the other\n",
         mt_greenlet_is_dead(g1) ? "dead" : "suspended",
         mt_greenlet_is_dead(g2) ? "dead" : "suspended", took);
  mt_greenlet_free(g1);
  mt_greenlet_free(g2); /* suspended in its switch: killed, it unwinds */
  return r == 0 ? 0 : 1;
}
