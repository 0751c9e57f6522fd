/* fuzz_target.h - one fuzz input: parse it as a workload; when it parses and
 * is small, simulate it under every policy and check the invariants (abort
 * on a violation so that both libFuzzer and the mutation test notice). */
#ifndef FUZZ_TARGET_H
#define FUZZ_TARGET_H

#include "mtsched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fuzz_specs[] = {
    "fcfs", "sjf", "srtf", "priority:aging=2", "ppriority:aging=1:cs=1", "hrrn",
    "rr:q=2:cs=1", "mlfq:boost=7", "mlfq:allotment=2:quanta=1,3", "ppriority",
    "mlfq:queues=2:quanta=1,4:allotment=1,4:boost=6", "mlfq:boost=3:cs=3",
    "mlfq:quanta=2,3,5:allotment=4,6,1:boost=5:cs=1"};

static void fuzz_check(const ms_workload_t *w, const ms_result_t *r) {
  char err[MS_ERRLEN];
  if (ms_check(r, err, sizeof err)) {
    fprintf(stderr, "invariant: %s\n", err);
    abort();
  }
  int64_t busy = 0, t = r->first_arrival, cpu = 0;
  for (size_t i = 0; i < r->ngantt; i++) {
    if (r->gantt[i].start != t || r->gantt[i].end <= t) abort();
    t = r->gantt[i].end;
    if (r->gantt[i].proc >= 0) busy += r->gantt[i].end - r->gantt[i].start;
  }
  for (size_t i = 0; i < w->n; i++) {
    cpu += w->procs[i].cpu_total;
    if (r->ps[i].waiting < 0 || r->ps[i].response < 0) abort();
  }
  if (t != r->last_finish || busy != cpu || busy != r->busy) abort();
}

static int fuzz_one(const uint8_t *data, size_t size) {
  ms_workload_t w;
  char err[MS_ERRLEN];
  if (ms_parse_workload((const char *)data, size, "fuzz", &w, err, sizeof err)) {
    if (strncmp(err, "fuzz", 4) != 0) abort(); /* every message names the file */
    return 0;
  }
  int64_t span = 0;
  bool small = w.n <= 40;
  for (size_t i = 0; small && i < w.n; i++) {
    span += w.procs[i].cpu_total + w.procs[i].io_total;
    small = w.procs[i].arrival < 100000 && span < 100000;
  }
  for (size_t s = 0; small && s < sizeof fuzz_specs / sizeof fuzz_specs[0]; s++) {
    ms_config_t base, c;
    ms_result_t r;
    ms_config_init(&base);
    if (ms_config_from_spec(&base, fuzz_specs[s], &c, err, sizeof err)) abort();
    if (ms_simulate(&w, &c, &r, err, sizeof err)) abort();
    fuzz_check(&w, &r);
    FILE *f = fopen("/dev/null", "w");
    if (f) {
      ms_write_run(f, &r, (ms_format_t)(s % 4));
      fclose(f);
    }
    ms_result_free(&r);
  }
  ms_workload_free(&w);
  return 0;
}

#endif
