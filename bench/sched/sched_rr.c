/* bench/sched: 10^6 processes (mtsched gen, seed 1, CPU-only, arrivals over
 * 0..5*10^6, bursts 1..10) under RR q=4: read + parse + simulate + write
 * the JSON document, in seconds (median of MTB_REPS), against a plain Python
 * event simulation of the same policy writing the same JSON
 * (bench/python/sched_rr.py).  MT_BENCH_SCALE scales the process count. */
#include "harness.h"
#include "mtsched.h"

#include <stdlib.h>
#include <string.h>

static char wpath[] = "/tmp/mtsched_bench_XXXXXX";
static char opath[600];

static double run_once(void *arg) {
  (void)arg;
  double t0 = mtb_now();
  FILE *f = fopen(wpath, "rb");
  fseek(f, 0, SEEK_END);
  size_t len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc(len);
  if (fread(buf, 1, len, f) != len) abort();
  fclose(f);
  ms_workload_t w;
  ms_config_t c;
  ms_result_t r;
  char err[MS_ERRLEN];
  ms_config_init(&c);
  if (ms_parse_workload(buf, len, wpath, &w, err, sizeof err) ||
      ms_config_from_spec(&c, "rr:q=4", &c, err, sizeof err) ||
      ms_simulate(&w, &c, &r, err, sizeof err)) {
    fprintf(stderr, "bench: %s\n", err);
    exit(1);
  }
  FILE *o = fopen(opath, "w");
  static char obuf[1 << 20];
  setvbuf(o, obuf, _IOFBF, sizeof obuf);
  if (ms_write_run(o, &r, MS_JSON) || fclose(o)) abort();
  ms_result_free(&r);
  ms_workload_free(&w);
  free(buf);
  return mtb_now() - t0;
}

int main(void) {
  int64_t n = (int64_t)(1000000 * mtb_scale());
  int fd = mkstemp(wpath);
  if (fd < 0) return 1;
  FILE *f = fdopen(fd, "w");
  ms_gen_opts_t g = {.n = n, .seed = 1, .max_arrival = 5 * n, .max_burst = 10, .io = false};
  if (ms_gen(f, &g) || fclose(f)) return 1;
  snprintf(opath, sizeof opath, "%s.json", wpath);
  double ours = mtb_median(run_once, NULL, MTB_REPS);
  char args[1400], name[64];
  snprintf(args, sizeof args, "%s %s 1", wpath, opath); /* ~30 s a run */
  double theirs = mtb_python("sched_rr.py", args);
  snprintf(name, sizeof name, "sched_rr_q4_json_%lldprocs", (long long)n);
  mtb_report(name, "s", ours, "python event sim", theirs, false);
  remove(wpath);
  remove(opath);
  return 0;
}
