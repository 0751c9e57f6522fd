/* The notes' join experiment: 004_5c065b13d5e62cce.txt, section "join 代码":
 * f2 sleeps 3 s, prints 4 + 5 and the time since the start; three threads
 * of f2, each started and joined at once, run one after the other: the
 * times printed are about 3, 6 and 9 s (join() waits for the thread, so a
 * start + join in a loop is serial, not parallel).  Times divided by 10
 * (times MT_EXAMPLE_SCALE): 0.3, 0.6, 0.9. */
#include <multitask.h>
#include <stdio.h>

#include "example.h"

static double a;

static void *f2(void *arg) {
  (void)arg;
  ex_sleep(0.3); /* time.sleep(3) */
  printf("%d\n", 4 + 5);
  double b = ex_now();
  printf("%.2f\n", b - a);
  return NULL;
}

int main(void) {
  ex_init();
  a = ex_now();
  for (int i = 0; i < 3; i++) {
    mt_thread_t *t = mt_thread_spawn(f2, NULL, NULL); /* t.start() */
    mt_thread_join(t, MT_FOREVER, NULL);              /* t.join() */
    mt_thread_free(t);
  }
  return 0;
}
