/* sched_job.c - see sched_job.h. */
#include "sched_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mtsched.h"

void sched_job_make(sched_job_t *j, int64_t n, int64_t max_arrival, const char *policy) {
  memset(j, 0, sizeof *j);
  j->policy = policy;
  strcpy(j->wpath, "/tmp/mtsched_bench_XXXXXX");
  int fd = mkstemp(j->wpath);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  ms_gen_opts_t g = {.n = n, .seed = 1, .max_arrival = max_arrival, .max_burst = 10, .io = false};
  if (!f || ms_gen(f, &g) || fclose(f)) {
    fprintf(stderr, "bench: cannot write %s\n", j->wpath);
    exit(1);
  }
  snprintf(j->opath, sizeof j->opath, "%s.json", j->wpath);
}

void sched_job_run(void *arg, mtb_run_t *run) {
  sched_job_t *j = arg;
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
      ms_config_from_spec(&c, j->policy, &c, err, sizeof err) ||
      ms_simulate(&w, &c, &r, err, sizeof err)) {
    fprintf(stderr, "bench: %s\n", err);
    exit(1);
  }
  FILE *o = fopen(j->opath, "w");
  if (!o) abort();
  setvbuf(o, NULL, _IONBF, 0); /* ms_write_run buffers by itself */
  if (ms_write_run(o, &r, MS_JSON) || fclose(o)) abort();
  mtb_stop(run);
  run->ops = j->ops_are_procs ? (long)w.n : 1;
  run->sum = mtb_mix(mtb_mix(mtb_mix(0, (uint64_t)r.makespan), r.context_switches), r.events);
  if (j->ncpu < MTB_MAX_REPS) j->cpu[j->ncpu++] = run->cpu;
  ms_result_free(&r);
  ms_workload_free(&w);
  remove(j->opath); /* every repetition writes a new file, like a first run */
}

void sched_job_cleanup(const sched_job_t *j) {
  remove(j->wpath);
  remove(j->opath);
}
