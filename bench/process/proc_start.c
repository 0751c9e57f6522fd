/* Process start + join: ours vs raw fork/_exit/waitpid vs Python's
 * multiprocessing.Process (fork start method). */
#include <multitask.h>
#include <stdio.h>
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

int main(void) {
  n_procs = (int)(200 * mtb_scale());
  double raw = mtb_median(run_raw, NULL, MTB_REPS);
  double ours = mtb_median(run_ours, NULL, MTB_REPS);
  mtb_report("process start+join", "procs/s", ours, "raw fork+waitpid", raw, true);
  char args[32];
  snprintf(args, sizeof args, "%d", n_procs / 2);
  double py = mtb_python("proc_start.py", args);
  mtb_report("process start+join", "procs/s", ours, "Python Process", py, true);
  return 0;
}
