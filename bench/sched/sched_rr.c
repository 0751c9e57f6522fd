/* bench/sched: round robin q=4 over `mtsched gen` workloads (seed 1,
 * CPU-only, arrivals over 0..5n, bursts 1..10, so the work per process is
 * the same at every n): read + parse + simulate + write the JSON document,
 * wall seconds, median of MTB_REPS, against a plain Python event simulation
 * of the same policy writing the same kind of JSON (bench/python/sched_rr.py).
 *
 * Python needs 2-6 s per 10^5 processes here (57 s at 10^6), so it runs
 * at 10^5 only (3 repetitions, median) and three lines are reported:
 *   sched_rr_q4_json_100000procs  both at n = 10^5, seconds (equal work)
 *   sched_rr_q4_json_rate         processes per second: ours at 10^6 against
 *                                 Python at 10^5 (equal work per process; the
 *                                 bigger n only costs ours more cache misses)
 *   sched_rr_q4_json_1000000procs ours at 10^6, seconds (the figure;
 *                                 no baseline is measured at that size, so the
 *                                 harness prints it without recording it: the
 *                                 rate line carries the same measurement)
 * MT_BENCH_SCALE scales both sizes. */
#include "harness.h"
#include "mtsched.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct job {
  char wpath[64];
  char opath[80];
} job_t;

static void make_workload(job_t *j, int64_t n) {
  strcpy(j->wpath, "/tmp/mtsched_bench_XXXXXX");
  int fd = mkstemp(j->wpath);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  ms_gen_opts_t g = {.n = n, .seed = 1, .max_arrival = 5 * n, .max_burst = 10, .io = false};
  if (!f || ms_gen(f, &g) || fclose(f)) {
    fprintf(stderr, "bench: cannot write %s\n", j->wpath);
    exit(1);
  }
  snprintf(j->opath, sizeof j->opath, "%s.json", j->wpath);
}

/* What `mtsched run -p rr -q 4 --format json -o OUT WORKLOAD` does. */
static double run_once(void *arg) {
  const job_t *j = arg;
  double t0 = mtb_now();
  FILE *f = fopen(j->wpath, "rb");
  struct stat st;
  if (!f || fstat(fileno(f), &st)) abort();
  size_t len = (size_t)st.st_size;
  char *buf = ms_big_alloc(len + 1, false);
  if (!buf || fread(buf, 1, len, f) != len) abort();
  fclose(f);
  ms_workload_t w;
  ms_config_t c;
  ms_result_t r;
  char err[MS_ERRLEN];
  ms_config_init(&c);
  if (ms_parse_workload_owned(buf, len, j->wpath, &w, err, sizeof err) ||
      ms_config_from_spec(&c, "rr:q=4", &c, err, sizeof err) ||
      ms_simulate(&w, &c, &r, err, sizeof err)) {
    fprintf(stderr, "bench: %s\n", err);
    exit(1);
  }
  FILE *o = fopen(j->opath, "w");
  if (!o) abort();
  setvbuf(o, NULL, _IONBF, 0); /* ms_write_run buffers by itself */
  if (ms_write_run(o, &r, MS_JSON) || fclose(o)) abort();
  ms_result_free(&r);
  ms_workload_free(&w);
  double t = mtb_now() - t0;
  remove(j->opath); /* every repetition writes a new file, like a first run */
  return t;
}

static void cleanup(const job_t *j) {
  remove(j->wpath);
  remove(j->opath);
}

int main(void) {
  int64_t big = (int64_t)(1000000 * mtb_scale()), small = (int64_t)(100000 * mtb_scale());
  if (big < 10) big = 10;
  if (small < 10) small = 10;
  job_t jb, js;
  make_workload(&jb, big);
  make_workload(&js, small);
  double ours_big = mtb_median(run_once, &jb, MTB_REPS);
  double ours_small = mtb_median(run_once, &js, MTB_REPS);
  char args[300];
  snprintf(args, sizeof args, "%s %s 3", js.wpath, js.opath);
  double py_small = mtb_python("sched_rr.py", args); /* ~6 s a run */
  char name[64], base[64];
  snprintf(name, sizeof name, "sched_rr_q4_json_%lldprocs", (long long)small);
  mtb_report(name, "s", ours_small, "python event sim", py_small, false);
  snprintf(base, sizeof base, "python event sim @%lld", (long long)small);
  mtb_report("sched_rr_q4_json_rate", "procs/s", (double)big / ours_big, base,
             py_small > 0 ? (double)small / py_small : -1, true);
  snprintf(name, sizeof name, "sched_rr_q4_json_%lldprocs", (long long)big);
  mtb_report(name, "s", ours_big, "(none measured)", -1, false);
  cleanup(&jb);
  cleanup(&js);
  return 0;
}
