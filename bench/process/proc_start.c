/* Process start + join: ours vs raw fork/_exit/waitpid vs Python's
 * multiprocessing.Process (fork start method). */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int n_procs;

static int nothing(void *arg) {
  (void)arg;
  return 0;
}

static double run_ours(void *arg) {
  (void)arg;
  double t0 = mtb_now();
  for (int i = 0; i < n_procs; i++) {
    mt_process_t *p = mt_process_new(nothing, NULL, NULL);
    mt_process_start(p);
    mt_process_join(p, MT_FOREVER);
    mt_process_free(p);
  }
  return n_procs / (mtb_now() - t0);
}

static double run_raw(void *arg) {
  (void)arg;
  double t0 = mtb_now();
  for (int i = 0; i < n_procs; i++) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    int st;
    waitpid(pid, &st, 0);
  }
  return n_procs / (mtb_now() - t0);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return v[n / 2];
}

int main(void) {
  n_procs = (int)(100 * mtb_scale());
  /* Interleaved (raw, ours, raw, ours, ...): on a shared machine the load
   * drifts, and fork's cost follows it. */
  enum { REPS = 9 };
  double r[REPS], o[REPS];
  for (int i = 0; i < REPS; i++) {
    r[i] = run_raw(NULL);
    o[i] = run_ours(NULL);
  }
  double raw = median(r, REPS), ours = median(o, REPS);
  mtb_report("process start+join", "procs/s", ours, "raw fork+waitpid", raw, true);
  char args[32];
  snprintf(args, sizeof args, "%d", n_procs / 2);
  double py = mtb_python("proc_start.py", args);
  mtb_report("process start+join", "procs/s", ours, "Python Process", py, true);
  return 0;
}
