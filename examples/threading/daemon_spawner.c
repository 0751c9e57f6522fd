/* The notes' daemon thread that starts ten threads: 004_5c065b13d5e62cce.txt,
 * section "守护线程脚本讲解".  main_thread (a daemon) prints "------running
 * main thread----------", starts ten threads run(0..9) and prints "------done
 * main thread----------"; run(num) sleeps 1 s unless num == 5, then prints
 * "hi i am thread num ...lalala".  The threads started by a daemon thread
 * are daemons too (as Python: daemon is inherited).  The real main thread
 * sleeps, prints "------->>>>>" and ends:
 *   daemon_spawner 1   main sleeps 2 s (the notes; here 0.2 s, and on a busy
 *                      machine up to 5 s more until the ten threads have
 *                      printed: the notes' sleep exists to let them finish):
 *                      all ten threads print before main's line;
 *   daemon_spawner 2   main does not sleep: it waits for main_thread to
 *                      end (it ends once it started the ten) and ends too:
 *                      the process exits at once without waiting for the
 *                      nine sleeping threads; only thread 5, which does not
 *                      sleep, may have printed by then (here the nine sleep
 *                      the notes' full 1 s, so that a busy machine cannot
 *                      let them finish before main's exit) ("once
 *                      main_thread ends, the others run as far as they
 *                      get", as the notes say).
 * Times are the notes' divided by 10 unless said otherwise (times
 * MT_EXAMPLE_SCALE). */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>

#include "example.h"

static double nap = 0.1; /* time.sleep(1), divided by 10 (variant 1) */

static int printed; /* threads that printed (variant 1 waits for ten) */

static void *run(void *arg) {
  long num = (long)arg;
  if (num != 5) ex_sleep(nap); /* time.sleep(1) */
  printf("hi i am thread %ld ...lalala\n", num);
  __atomic_add_fetch(&printed, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void *main_fn(void *arg) {
  long n = (long)arg, daemons = 0;
  printf("------running main thread----------\n");
  for (long i = 0; i < n; i++) {
    mt_thread_t *t = mt_thread_spawn(run, (void *)i, NULL); /* daemon: inherited */
    daemons += mt_thread_is_daemon(t) == 1;
    mt_thread_free(t); /* started and forgotten, as the notes' t */
  }
  printf("------done main thread---------- (%ld of %ld threads are daemons)\n", daemons, n);
  return NULL;
}

int main(int argc, char **argv) {
  ex_init();
  /* unbuffered: in variant 2 exit() flushes stdio while thread 5 may be
   * inside printf, and a line-buffered stream could print its line twice */
  setvbuf(stdout, NULL, _IONBF, 0);
  int variant = argc > 1 ? atoi(argv[1]) : 1;
  if (variant == 2) nap = 1.0;
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.name = "main_thread";
  o.daemon = true; /* main_thread.setDaemon(True) */
  o.daemon_set = true;
  mt_thread_t *main_thread = mt_thread_new(main_fn, (void *)10L, &o);
  mt_thread_start(main_thread);
  if (variant == 2)
    mt_thread_join(main_thread, MT_FOREVER, NULL);
  else {
    ex_sleep(0.2); /* time.sleep(2) */
    for (double give_up = ex_now() + 5; __atomic_load_n(&printed, __ATOMIC_SEQ_CST) < 10 &&
                                         ex_now() < give_up;)
      ex_sleep(0.01);
  }
  mt_thread_free(main_thread);
  printf("------->>>>>\n");
  return 0; /* daemon threads do not hold the exit */
}
