/* bench/sched: round robin q=4 over `mtsched gen` workloads (seed 1,
 * CPU-only, arrivals over 0..5n, bursts 1..10, so the work per process is
 * the same at every n): read + parse + simulate + write the JSON document,
 * processes per second, median of the harness's repetitions, every run
 * checked against the first (makespan, context switches, events); a plain
 * Python event simulation of the same policy writing the same kind of JSON
 * (bench/python/sched_rr.py) is a reference only (no C peer yet).
 *
 * Python needs 2-6 s per 10^5 processes here (57 s at 10^6), so it runs
 * at 10^5 only (3 repetitions, median).  Lines (all procs/s):
 *   sched_rr_q4_json_<big>procs    ours at 10^6, printed only (no peer)
 *   sched_rr_q4_json_<small>procs  ours vs Python, both at 10^5 (reference row)
 *   sched_rr_q4_json_rate          ours at 10^6 vs Python at 10^5 (reference
 *                                  row; equal work per process)
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

/* What `mtsched run -p rr -q 4 --format json -o OUT WORKLOAD` does.
 * Checksum: makespan, context switches and events of the simulation. */
static void run_once(void *arg, mtb_run_t *run) {
  const job_t *j = arg;
  mtb_start(run);
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
  mtb_stop(run);
  run->ops = (long)w.n;
  run->sum = mtb_mix(mtb_mix(mtb_mix(0, (uint64_t)r.makespan), r.context_switches), r.events);
  ms_result_free(&r);
  ms_workload_free(&w);
  remove(j->opath); /* every repetition writes a new file, like a first run */
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
  /* No C peer: ours alone, validated against the checksum of an untimed
   * first run (the simulation is deterministic: every repetition must agree). */
  mtb_run_t first = {0};
  run_once(&jb, &first);
  mtb_row_t row = {"sched_rr_q4_json", "procs/s", true, 0, first.sum};
  mtb_side_t sb[] = {{"ours", run_once, &jb}};
  char name[64], base[64];
  snprintf(name, sizeof name, "sched_rr_q4_json_%lldprocs", (long long)big);
  row.bench = name;
  mtb_compare(&row, sb, 1);
  double ours_big = mtb_last_ours();
  run_once(&js, &first);
  row.expect = first.sum;
  snprintf(name, sizeof name, "sched_rr_q4_json_%lldprocs", (long long)small);
  sb[0].arg = &js;
  mtb_compare(&row, sb, 1);
  double ours_small = mtb_last_ours();

  char args[300];
  snprintf(args, sizeof args, "%s %s 3", js.wpath, js.opath);
  double py_small = mtb_python("sched_rr.py", args); /* seconds for `small`, ~6 s a run */
  if (py_small > 0) {
    mtb_reference_row(name, "procs/s", true, ours_small, "python event sim", (double)small / py_small);
    snprintf(base, sizeof base, "python event sim @%lld", (long long)small);
    mtb_reference_row("sched_rr_q4_json_rate", "procs/s", true, ours_big, base,
                      (double)small / py_small);
  }
  cleanup(&jb);
  cleanup(&js);
  return 0;
}
