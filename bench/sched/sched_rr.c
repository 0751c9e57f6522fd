/* bench/sched: round robin q=4 over `mtsched gen` workloads (seed 1,
 * CPU-only, arrivals over 0..5n, bursts 1..10, so the work per process is
 * the same at every n): read + parse + simulate + write the JSON document,
 * processes per second, median of the harness's repetitions, every run
 * checked against the first (makespan, context switches, events); a plain
 * Python event simulation of the same policy writing the same kind of JSON
 * (bench/python/sched_rr.py) is a reference only (no C peer yet).
 *
 * Python needs 2-6 s per 10^5 processes on a light load (57 s at 10^6), but
 * 44 s at a load of ~17-24 on the 2 cores, where this program took 264 s
 * (ours at 10^6: 12.7 s a run, 1.4 s of CPU).  Time budget (make bench:
 * <= 90 s per program): Python runs at 10^4 (3 repetitions, median) and
 * ours at 10^6 runs 3 repetitions.  Lines (all procs/s):
 *   sched_rr_q4_json_<big>procs    ours at 10^6, printed only (no peer)
 *   sched_rr_q4_json_<small>procs  ours vs Python, both at 10^4 (reference row)
 *   sched_rr_q4_json_rate          ours at 10^6 vs Python at 10^4 (reference
 *                                  row; equal work per process)
 * MT_BENCH_SCALE scales both sizes. */
#include "harness.h"
#include "sched_job.h"

#include <stdio.h>
#include <stdlib.h>

int main(void) {
  int64_t big = (int64_t)(1000000 * mtb_scale()), small = (int64_t)(10000 * mtb_scale());
  if (big < 10) big = 10;
  if (small < 10) small = 10;
  sched_job_t jb, js;
  sched_job_make(&jb, big, 5 * big, "rr:q=4");
  sched_job_make(&js, small, 5 * small, "rr:q=4");
  jb.ops_are_procs = js.ops_are_procs = true;
  /* No C peer: ours alone, validated against the checksum of an untimed
   * first run (the simulation is deterministic: every repetition must agree). */
  mtb_run_t first = {0};
  sched_job_run(&jb, &first);
  mtb_row_t row = {"sched_rr_q4_json", "procs/s", true, 0, first.sum};
  mtb_side_t sb[] = {{"ours", sched_job_run, &jb}};
  char name[64], base[64];
  snprintf(name, sizeof name, "sched_rr_q4_json_%lldprocs", (long long)big);
  row.bench = name;
  mtb_cap_reps(3); /* the time budget (above) */
  mtb_compare(&row, sb, 1);
  mtb_cap_reps(0);
  double ours_big = mtb_last_ours();
  sched_job_run(&js, &first);
  row.expect = first.sum;
  snprintf(name, sizeof name, "sched_rr_q4_json_%lldprocs", (long long)small);
  sb[0].arg = &js;
  mtb_compare(&row, sb, 1);
  double ours_small = mtb_last_ours();

  char args[300];
  snprintf(args, sizeof args, "%s %s 3", js.wpath, js.opath);
  double py_small = mtb_python("sched_rr.py", args); /* seconds for `small` */
  if (py_small > 0) {
    mtb_reference_row(name, "procs/s", true, ours_small, "python event sim", (double)small / py_small);
    snprintf(base, sizeof base, "python event sim @%lld", (long long)small);
    mtb_reference_row("sched_rr_q4_json_rate", "procs/s", true, ours_big, base,
                      (double)small / py_small);
  }
  sched_job_cleanup(&jb);
  sched_job_cleanup(&js);
  return 0;
}
