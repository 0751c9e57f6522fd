/* Timer and the notes' LoopTimer: a one-shot "hello timer!" after 0.3 s,
 * and a loop printing 123 at start and then every 0.1 s until cancelled.
 * Python: threading.Timer(0.3, func).start(); LoopTimer(0.1, f1).start() */
#include <multitask.h>

#include <stdio.h>
#include <time.h>

static double t0;
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void hello(void *arg) {
  (void)arg;
  printf("%.2fs hello timer!\n", now() - t0);
}

static void f1(void *arg) {
  (void)arg;
  printf("%.2fs 123\n", now() - t0);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  t0 = now();
  mt_timer_t *once = mt_timer_new(0.3, hello, NULL);
  mt_timer_t *loop = mt_timer_new_loop(0.1, f1, NULL);
  mt_timer_t *never = mt_timer_new(0.2, hello, NULL);
  mt_timer_start(once);
  mt_timer_start(loop);
  mt_timer_start(never);
  printf("cancel a pending timer: %s\n", mt_timer_cancel(never, MT_FOREVER) == 1 ? "stopped" : "too late");
  mt_timer_join(once, MT_FOREVER); /* Timer.join() */
  mt_timer_join(loop, 0.25);       /* let the loop tick a little longer */
  mt_timer_cancel(loop, MT_FOREVER);
  printf("loop ran %d times, one-shot %d time\n", mt_timer_is_fired(loop), mt_timer_is_fired(once));
  mt_timer_free(once);
  mt_timer_free(loop);
  mt_timer_free(never);
  return 0;
}
