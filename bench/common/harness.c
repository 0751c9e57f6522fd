#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double mtb_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double mtb_median(double (*fn)(void *arg), void *arg, int reps) {
  double v[64];
  if (reps < 1) reps = 1;
  if (reps > 64) reps = 64;
  for (int i = 0; i < reps; i++) v[i] = fn(arg);
  qsort(v, (size_t)reps, sizeof v[0], cmp_double);
  return reps % 2 ? v[reps / 2] : (v[reps / 2 - 1] + v[reps / 2]) / 2;
}

double mtb_python(const char *script, const char *args) {
  const char *dir = getenv("MT_BENCH_PYDIR");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/%s %s", dir ? dir : "bench/python",
           script, args ? args : "");
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  double v = -1;
  if (fscanf(p, "%lf", &v) != 1) v = -1;
  if (pclose(p) != 0) v = -1;
  return v;
}

void mtb_report(const char *bench, const char *unit, double ours,
                const char *baseline, double theirs, bool higher_is_better) {
  double ratio = 0;
  if (ours > 0 && theirs > 0) ratio = higher_is_better ? ours / theirs : theirs / ours;
  printf("%-34s %-10s ours %12.4g  %-22s %12.4g  ratio %7.2f\n", bench, unit, ours,
         baseline, theirs, ratio);
  const char *out = getenv("MT_BENCH_OUT");
  if (!out || theirs <= 0) return; /* a missing baseline is not a result */
  FILE *f = fopen(out, "a");
  if (!f) return;
  fprintf(f,
          "{\"bench\": \"%s\", \"unit\": \"%s\", \"ours\": %.6g, \"baseline\": \"%s\", "
          "\"theirs\": %.6g, \"ratio\": %.4g}\n",
          bench, unit, ours, baseline, theirs, ratio);
  fclose(f);
}

double mtb_scale(void) {
  const char *s = getenv("MT_BENCH_SCALE");
  double f = s ? atof(s) : 1.0;
  return f > 0 ? f : 1.0;
}
