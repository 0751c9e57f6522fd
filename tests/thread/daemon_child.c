/* daemon_child VARIANT - the notes' three daemon-thread programs, run by
 * test_thread_fork.  main returns while threads still run:
 *   1: a non-daemon thread  -> its output completes ("end fun")
 *   2: a daemon thread      -> the process exits without it
 *   3: a daemon and a non-daemon thread -> only the non-daemon one ends.
 * The threads wait for main to be about to return, so what they print
 * after that only appears if exit waits for them. */
#include <multitask.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wait/wait.h"

static uint32_t main_returning;
static uint32_t printed; /* first lines written so far */

static void count_printed(void) {
  __atomic_add_fetch(&printed, 1, __ATOMIC_SEQ_CST);
  mt__wake_word(&printed, INT32_MAX, false);
}

static void say(const char *s) {
  ssize_t w = write(1, s, strlen(s));
  (void)w;
}

static void wait_main_returning(void) {
  while (!__atomic_load_n(&main_returning, __ATOMIC_ACQUIRE))
    mt__wait_word(&main_returning, 0, false, MT__NO_DEADLINE);
}

static void *fun(void *arg) { /* daemon in variants 2 and 3: never ends */
  say("start fun\n");
  count_printed();
  wait_main_returning();
  if (arg) { /* a daemon: blocks past the end of the process */
    uint32_t never = 0;
    for (;;) /* a wait may return spuriously (wait.h; every 20 ms under TSan) */
      mt__wait_word(&never, 0, false, MT__NO_DEADLINE);
  }
  say("end fun\n");
  return NULL;
}

static void *foo(void *arg) {
  (void)arg;
  say("start foo\n");
  count_printed();
  wait_main_returning();
  say("end foo\n");
  return NULL;
}

int main(int argc, char **argv) {
  int variant = argc > 1 ? atoi(argv[1]) : 1;
  say("main thread\n");
  mt_thread_opts_t daemon = MT_THREAD_OPTS_INIT;
  daemon.daemon = true;
  daemon.daemon_set = true;
  mt_thread_t *t1 = mt_thread_new(fun, variant == 1 ? NULL : (void *)1,
                                  variant == 1 ? NULL : &daemon);
  mt_thread_start(t1);
  mt_thread_t *t2 = NULL;
  if (variant == 3) {
    t2 = mt_thread_new(foo, NULL, NULL);
    mt_thread_start(t2);
  }
  /* let the threads print their first line, so the output is ordered */
  uint32_t want = variant == 3 ? 2 : 1, seen;
  while ((seen = __atomic_load_n(&printed, __ATOMIC_SEQ_CST)) < want)
    mt__wait_word(&printed, seen, false, MT__NO_DEADLINE);
  say("main thread end\n");
  __atomic_store_n(&main_returning, 1, __ATOMIC_RELEASE);
  mt__wake_word(&main_returning, INT32_MAX, false);
  mt_thread_free(t1); /* detached: they keep running */
  mt_thread_free(t2);
  return 0; /* exit joins the non-daemon threads */
}
