/* The notes' three daemon-thread experiments (times divided by 10):
 *   daemon_threads 1   non-daemon fun(): main ends, the process waits: "end fun"
 *   daemon_threads 2   daemon fun(): the process exits without "end fun"
 *   daemon_threads 3   daemon fun() + non-daemon foo(): waits for foo only
 * Python: t1.daemon = True (setDaemon(True)) before start. */
#include <multitask.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void nap(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

static void *fun(void *arg) {
  (void)arg;
  printf("start fun\n");
  nap(0.2);
  printf("end fun\n");
  return NULL;
}

static void *foo(void *arg) {
  (void)arg;
  printf("start foo\n");
  nap(0.1);
  printf("end foo\n");
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int variant = argc > 1 ? atoi(argv[1]) : 1;
  printf("main thread\n");
  mt_thread_t *t1 = mt_thread_new(fun, NULL, NULL);
  mt_thread_set_daemon(t1, variant != 1); /* t1.setDaemon(...) */
  mt_thread_start(t1);
  if (variant == 3) mt_thread_free(mt_thread_spawn(foo, NULL, NULL));
  nap(0.1);
  printf("main thread end\n");
  mt_thread_free(t1); /* does not stop it: the handle only */
  return 0; /* exit waits for the non-daemon threads, as Python */
}
