/* sched_job.h - one benchmark run of mtsched, shared by sched_rr.c and
 * sched_policies.c: what `mtsched run -p POLICY --format json -o OUT W`
 * does (read + parse + simulate + write the JSON), timed by the harness.
 * The checksum is the makespan, the context switches and the events of the
 * simulation: it is deterministic, so every repetition must agree with an
 * untimed first run. */
#ifndef MT_BENCH_SCHED_JOB_H
#define MT_BENCH_SCHED_JOB_H
#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

typedef struct sched_job {
  char wpath[64];     /* the workload (`mtsched gen` output) */
  char opath[80];     /* the JSON written by each run, removed after it */
  const char *policy; /* a policy spec, e.g. "rr:q=4" */
  bool ops_are_procs; /* run->ops: processes (rates) or 1 (seconds per run) */
  double cpu[MTB_MAX_REPS]; /* CPU seconds of each timed repetition */
  int ncpu;
} sched_job_t;

/* Writes `mtsched gen --seed 1 -n n --max-arrival max_arrival --max-burst 10`
 * (CPU only) to a temporary file; exits on failure. */
void sched_job_make(sched_job_t *j, int64_t n, int64_t max_arrival, const char *policy);
/* One repetition (an mtb_side_t run function; arg is a sched_job_t). */
void sched_job_run(void *arg, mtb_run_t *run);
/* Removes the files. */
void sched_job_cleanup(const sched_job_t *j);
#endif
