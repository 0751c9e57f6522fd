/* The notes' join() / setDaemon() experiments: 004_5c065b13d5e62cce.txt,
 * section "关于python多线程编程中join()和setDaemon()的一点儿探究".  MyThread
 * runs print_func(num): print "I am threadN", sleep 1 s, forever; t1 and t2.
 *   join_daemon 1   both setDaemon(True), started, main prints "ok": the
 *                   process exits at once and the threads end with it (each
 *                   printed at most its first line; the notes show both).
 *   join_daemon 2   start and join inside the loop: t1 runs alone; the
 *                   notes' t1 never ends, so t2 never starts and "ok" never
 *                   comes.  Here print_func does 3 rounds so that it ends:
 *                   three "I am thread1", then three "I am thread2", then ok.
 *   join_daemon 3   start both, then join both: the two threads run at the
 *                   same time (their lines interleave); "ok" after both end
 *                   (never in the notes, whose threads run forever).
 * Sleeps are the notes' 1 s divided by 10 (times MT_EXAMPLE_SCALE), except
 * in experiment 1, where the threads sleep 10 s (the exit ends them long
 * before) so that even a starved machine cannot make them print twice
 * before main's exit.  In experiment 3 thread1's last line waits (up to
 * 30 s) for thread2's first: the sleep alone let a busy machine that
 * started thread2 late see thread1 end first; with the wait the lines
 * interleave whenever the threads run at the same time, and only a serial
 * run (thread2 started after thread1 ended) waits the 30 s out and prints
 * thread1's lines first. */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>

#include "example.h"

static int rounds = 3; /* the notes: while True */
static double nap = 0.1;
static mt_event_t *t2_printed; /* experiment 3: thread2 printed its first line */

static void *print_func(void *arg) {
  long num = (long)arg;
  for (int i = 0; rounds == 0 || i < rounds; i++) {
    if (t2_printed && num == 1 && i == rounds - 1) mt_event_wait(t2_printed, 30);
    printf("I am thread%ld\n", num);
    if (t2_printed && num == 2) mt_event_set(t2_printed);
    ex_sleep(nap); /* time.sleep(1) */
  }
  return NULL;
}

int main(int argc, char **argv) {
  ex_init();
  /* unbuffered: exit() flushes stdio while a daemon thread may be inside
   * printf, and a line-buffered stream could then print that line twice */
  setvbuf(stdout, NULL, _IONBF, 0);
  int variant = argc > 1 ? atoi(argv[1]) : 1;
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.name = "print_func"; /* MyThread(print_func, (n,), print_func.__name__) */
  if (variant == 3) t2_printed = mt_event_new(0);
  if (variant == 1) {
    rounds = 0; /* forever: the exit ends them */
    nap = 10.0;
    o.daemon = true, o.daemon_set = true; /* t.setDaemon(True) */
  }
  mt_thread_t *threads[2];
  for (long i = 0; i < 2; i++) threads[i] = mt_thread_new(print_func, (void *)(i + 1), &o);
  for (int i = 0; i < 2; i++) {
    mt_thread_start(threads[i]);
    if (variant == 2) mt_thread_join(threads[i], MT_FOREVER, NULL); /* join inside the loop */
  }
  if (variant == 3)
    for (int i = 0; i < 2; i++) mt_thread_join(threads[i], MT_FOREVER, NULL);
  printf("ok\n");
  for (int i = 0; i < 2; i++) mt_thread_free(threads[i]);
  if (t2_printed) mt_event_free(t2_printed); /* both threads were joined */
  return 0; /* variant 1: daemon threads do not hold the exit */
}
