/* sched_test.h - helpers shared by the mtsched tests: parse a workload
 * string, simulate one policy spec, and read files. */
#ifndef SCHED_TEST_H
#define SCHED_TEST_H

#include "mt_test.h"
#include "mtsched.h"

#include <stdio.h>
#include <string.h>

typedef struct run {
  ms_workload_t w;
  ms_result_t r;
} run_t;

/* Parses text and simulates spec ("rr:q=4", "mlfq:boost=6"...); fails the
 * test on any error.  The caller frees with run_free. */
static inline run_t *run_new(const char *text, const char *spec) {
  run_t *x = calloc(1, sizeof *x);
  char err[MS_ERRLEN] = "";
  ms_config_t base, cfg;
  ms_config_init(&base);
  if (ms_parse_workload(text, strlen(text), "t", &x->w, err, sizeof err)) fail_msg("%s", err);
  if (ms_config_from_spec(&base, spec, &cfg, err, sizeof err)) fail_msg("%s", err);
  if (ms_simulate(&x->w, &cfg, &x->r, err, sizeof err)) fail_msg("%s", err);
  if (ms_check(&x->r, err, sizeof err)) fail_msg("%s: invariant: %s", spec, err); /* after every run */
  return x;
}

static inline void run_free(run_t *x) {
  ms_result_free(&x->r);
  ms_workload_free(&x->w);
  free(x);
}

/* Index of the process named name. */
static inline size_t run_idx(const run_t *x, const char *name) {
  for (size_t i = 0; i < x->w.n; i++)
    if (strcmp(x->w.procs[i].name, name) == 0) return i;
  fail_msg("no process %s", name);
  return 0;
}

/* The Gantt chart as "|A 0-3|B 3-9|" text. */
static inline char *run_gantt(const run_t *x) {
  size_t cap = 64 + x->r.ngantt * 64;
  char *s = malloc(cap), *p = s;
  *p++ = '|';
  for (size_t i = 0; i < x->r.ngantt; i++) {
    const ms_slice_t *g = &x->r.gantt[i];
    const char *n = g->proc == MS_IDLE ? "idle" : g->proc == MS_CS ? "cs" : x->w.procs[g->proc].name;
    p += sprintf(p, "%s %lld-%lld|", n, (long long)g->start, (long long)g->end);
  }
  *p = '\0';
  return s;
}

static inline char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (fread(b, 1, (size_t)n, f) != (size_t)n) fail_msg("read %s", path);
  b[n] = '\0';
  fclose(f);
  if (len) *len = (size_t)n;
  return b;
}

#endif
