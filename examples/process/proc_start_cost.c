/* The notes' experiment: start and join 500 processes, then 500 threads
 * (plain pthread_create: the library's Thread part lands separately), and
 * print the measured times. */
#include <multitask.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define N 500

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int proc_fn(void *arg) {
  (void)arg;
  return 0;
}
static void *thread_fn(void *arg) { return arg; }

int main(void) {
  static mt_process_t *ps[N];
  double t0 = now();
  for (int i = 0; i < N; i++) {
    ps[i] = mt_process_new(proc_fn, NULL, NULL);
    mt_process_start(ps[i]);
  }
  for (int i = 0; i < N; i++) {
    mt_process_join(ps[i], MT_FOREVER);
    mt_process_free(ps[i]);
  }
  double tp = now() - t0;
  static pthread_t ts[N];
  t0 = now();
  for (int i = 0; i < N; i++) pthread_create(&ts[i], NULL, thread_fn, NULL);
  for (int i = 0; i < N; i++) pthread_join(ts[i], NULL);
  double tt = now() - t0;
  printf("%d processes: %.1f ms (%.0f us each)\n", N, tp * 1e3, tp * 1e6 / N);
  printf("%d threads:   %.1f ms (%.1f us each)\n", N, tt * 1e3, tt * 1e6 / N);
  printf("a process costs %.0fx a thread to start here\n", tp / tt);
  return 0;
}
