/* Process start + join: ours vs raw fork/_exit/waitpid (Python's
 * multiprocessing.Process, fork start method, as a reference).  Sides
 * alternate run by run; each child exits with code 7 and every run checks
 * that each one did (checksum = 7 x children).  CPU includes the reaped
 * children (RUSAGE_CHILDREN). */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int n_procs;

static int seven(void *arg) {
  (void)arg;
  return 7;
}

static void run_ours(void *arg, mtb_run_t *r) {
  (void)arg;
  uint64_t sum = 0;
  mtb_start(r);
  for (int i = 0; i < n_procs; i++) {
    mt_process_t *p = mt_process_new(seven, NULL, NULL);
    mt_process_start(p);
    mt_process_join(p, MT_FOREVER);
    int code = -1;
    if (mt_process_exitcode(p, &code) == 0) sum += (uint64_t)code;
    mt_process_free(p);
  }
  mtb_stop(r);
  r->ops = n_procs, r->sum = sum;
}

static void run_raw(void *arg, mtb_run_t *r) {
  (void)arg;
  uint64_t sum = 0;
  mtb_start(r);
  for (int i = 0; i < n_procs; i++) {
    pid_t pid = fork();
    if (pid == 0) _exit(7);
    int st;
    if (waitpid(pid, &st, 0) == pid && WIFEXITED(st)) sum += (uint64_t)WEXITSTATUS(st);
  }
  mtb_stop(r);
  r->ops = n_procs, r->sum = sum;
}

int main(void) {
  n_procs = (int)(100 * mtb_scale());
  if (n_procs < 5) n_procs = 5;
  mtb_row_t row = {"process start+join", "procs/s", true, 0, 7u * (uint64_t)n_procs};
  mtb_side_t sides[] = {{"ours", run_ours, NULL}, {"raw fork+waitpid", run_raw, NULL}};
  mtb_compare(&row, sides, 2);
  char args[32];
  snprintf(args, sizeof args, "%d", n_procs / 2 > 0 ? n_procs / 2 : 1);
  mtb_python_row(row.bench, row.unit, true, mtb_last_ours(), "Python Process", "proc_start.py",
                 args);
  return 0;
}
