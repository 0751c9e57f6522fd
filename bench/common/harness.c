/* harness.c - alternating, validated, wall+CPU benchmark rows (see harness.h). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double mtb_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

double mtb_cpu(void) {
  struct rusage s, c;
  getrusage(RUSAGE_SELF, &s);
  getrusage(RUSAGE_CHILDREN, &c);
  return tv(s.ru_utime) + tv(s.ru_stime) + tv(c.ru_utime) + tv(c.ru_stime);
}

double mtb_proc_cpu(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  /* fields after the ")" closing comm (which may hold spaces): state is
   * field 3, utime 14, stime 15 */
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long ut, st;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Minor page faults of this process so far (all threads). */
static double minflt(void) {
  struct rusage s;
  getrusage(RUSAGE_SELF, &s);
  return (double)s.ru_minflt;
}

void mtb_start(mtb_run_t *r) {
  r->state = 1;
  r->f0 = minflt();
  r->c0 = mtb_cpu();
  r->t0 = mtb_now();
}

void mtb_stop(mtb_run_t *r) {
  r->wall = mtb_now() - r->t0;
  r->cpu = mtb_cpu() - r->c0;
  r->faults = minflt() - r->f0;
  r->state = 2;
}

void mtb_add_cpu(mtb_run_t *r, double seconds) {
  if (seconds > 0) r->extra_cpu += seconds;
}

static int cmp_double(const void *a, const void *b);

void mtb_latency(mtb_run_t *r, double *ns, long n) {
  if (n <= 0) return;
  qsort(ns, (size_t)n, sizeof *ns, cmp_double);
  const double q[3] = {0.50, 0.99, 0.999};
  for (int i = 0; i < 3; i++) {
    long k = (long)(q[i] * (double)(n - 1) + 0.5); /* nearest rank */
    r->pct[i] = ns[k];
  }
  r->pct[3] = ns[n - 1];
  r->has_pct = true;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Quantile q of n sorted values (linear interpolation). */
static double quantile(const double *s, int n, double q) {
  double pos = q * (n - 1);
  int i = (int)pos;
  if (i >= n - 1) return s[n - 1];
  return s[i] + (pos - i) * (s[i + 1] - s[i]);
}

static double median(const double *v, int n) {
  double s[MTB_MAX_REPS];
  memcpy(s, v, sizeof *v * (size_t)n);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  return quantile(s, n, 0.5);
}

static void put_spread(FILE *f, const double *v, int n) {
  double s[MTB_MAX_REPS];
  memcpy(s, v, sizeof *v * (size_t)n);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  fprintf(f, "[%.6g, %.6g, %.6g, %.6g]", s[0], quantile(s, n, 0.25), quantile(s, n, 0.75),
          s[n - 1]);
}

static void put_list(FILE *f, const double *v, int n) {
  fputc('[', f);
  for (int i = 0; i < n; i++) fprintf(f, "%s%.6g", i ? ", " : "", v[i]);
  fputc(']', f);
}

/* JSON string with quotes and backslashes escaped. */
static void put_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static double last_ours;
double mtb_last_ours(void) { return last_ours; }

static int min_reps, cap_reps;
void mtb_min_reps(int n) { min_reps = n; }
void mtb_cap_reps(int n) { cap_reps = n; }

int mtb_reps(void) {
  const char *q = getenv("MT_BENCH_QUICK");
  if (q && *q && strcmp(q, "0") != 0) return 1;
  const char *s = getenv("MT_BENCH_REPS");
  int n = s ? atoi(s) : MTB_REPS;
  if (!s && cap_reps > 0 && n > cap_reps) n = cap_reps; /* MT_BENCH_REPS wins over a cap */
  if (n < min_reps) n = min_reps;
  if (n < 1) n = 1;
  if (n > MTB_MAX_REPS) n = MTB_MAX_REPS;
  return n;
}

double mtb_scale(void) {
  const char *s = getenv("MT_BENCH_SCALE");
  double f = s ? atof(s) : 1.0;
  if (!(f > 0)) f = 1.0;
  const char *q = getenv("MT_BENCH_QUICK");
  if (q && *q && strcmp(q, "0") != 0) f *= 0.01;
  return f;
}

static _Noreturn void fail(const mtb_row_t *row, const char *label, int rep, const char *why,
                           const mtb_run_t *r) {
  fprintf(stderr,
          "*** BENCH NOT VALID: %s / %s, repetition %d: %s (ops %ld, checksum %llu, "
          "expected %llu)\n",
          row->bench, label, rep, why, r->ops, (unsigned long long)r->sum,
          (unsigned long long)row->expect);
  exit(1);
}

/* ---- time budget ----------------------------------------------------------
 * Issue 13: each program <= 90 s at its default size (scripts/bench.sh
 * checks it from outside).  On this shared machine a run's wall time
 * varies several-fold with the foreign load, so fixed repetition counts
 * cannot promise it.  So a row stops adding ROUNDS (a round = one run of
 * every side: alternation is kept) once it has done at least MTB_MIN_REPS
 * (3) per side, or mtb_min_reps() if higher (goal rows judged on more
 * runs), and one more round, timed like the last one, would go past
 *   - the program's soft budget: MTB_BUDGET_SHARE of MT_BENCH_BUDGET
 *     (default 90 s; 0 or MT_BENCH_REPS set = no cut) counted from the
 *     program's start, or
 *   - the row's allowance: half of what is left of the soft budget when the
 *     row starts (the program does not announce how many rows follow, so a
 *     row never takes all that is left).
 * The row's "reps" field records what ran, "budget_cut" says whether the
 * budget stopped it short of the planned count. */
static double prog_t0;
__attribute__((constructor)) static void mtb_start_clock(void) { prog_t0 = mtb_now(); }

double mtb_budget(void) {
  if (getenv("MT_BENCH_REPS")) return 0; /* an explicit count wins */
  const char *s = getenv("MT_BENCH_BUDGET");
  double b = s ? atof(s) : 90.0;
  return b > 0 ? b * MTB_BUDGET_SHARE : 0;
}

double mtb_elapsed(void) { return mtb_now() - prog_t0; }

static bool by_p99;

/* MT_BENCH_ROWS=<text>: only rows whose name contains <text> are measured and
 * recorded (a bench's set-up outside its rows still runs). */
bool mtb_wanted(const char *bench) {
  const char *only = getenv("MT_BENCH_ROWS");
  return !only || !*only || strstr(bench, only);
}

void mtb_compare_p99(const mtb_row_t *row, const mtb_side_t *sides, int n) {
  by_p99 = true;
  mtb_compare(row, sides, n);
  by_p99 = false;
}

void mtb_compare(const mtb_row_t *row, const mtb_side_t *sides, int n) {
  int reps = mtb_reps();
  static double fig[MTB_MAX_SIDES][MTB_MAX_REPS], cpu[MTB_MAX_SIDES][MTB_MAX_REPS];
  static double flt[MTB_MAX_SIDES][MTB_MAX_REPS];
  static double pct[4][MTB_MAX_SIDES][MTB_MAX_REPS];
  bool lat = false;
  if (!mtb_wanted(row->bench)) {
    last_ours = 0;
    return;
  }
  if (n < 1 || n > MTB_MAX_SIDES) {
    fprintf(stderr, "mtb_compare: %d sides\n", n);
    exit(1);
  }
  int planned = reps, floor = min_reps > MTB_MIN_REPS ? min_reps : MTB_MIN_REPS;
  double budget = mtb_budget(), row_t0 = mtb_now(), round_t = 0;
  double allowance = (budget - mtb_elapsed()) / 2;
  for (int k = 0; k < planned; k++) {
    if (budget > 0 && k >= floor &&
        (mtb_elapsed() + round_t > budget || mtb_now() - row_t0 + round_t > allowance)) {
      reps = k; /* the budget is spent: stop after whole rounds */
      break;
    }
    double round_start = mtb_now();
    for (int s = 0; s < n; s++) { /* A B A B ...: ours first in every round */
      mtb_run_t r = {0};
      sides[s].run(sides[s].arg, &r);
      if (r.state != 2) fail(row, sides[s].label, k, "run never called mtb_stop", &r);
      if (r.ops <= 0 || !(r.wall > 0)) fail(row, sides[s].label, k, "no operations timed", &r);
      if (r.sum != row->expect) fail(row, sides[s].label, k, "wrong checksum", &r);
      if (k == 0 && s == 0) lat = r.has_pct;
      if (r.has_pct != lat) fail(row, sides[s].label, k, "latency recorded on one side only", &r);
      for (int i = 0; i < 4; i++) pct[i][s][k] = r.pct[i];
      double c = r.cpu + r.extra_cpu;
      fig[s][k] = row->rate ? (double)r.ops / r.wall : r.wall * row->unit_scale / (double)r.ops;
      if (by_p99) {
        if (!r.has_pct) fail(row, sides[s].label, k, "p99 row without latency samples", &r);
        fig[s][k] = r.pct[1];
      }
      cpu[s][k] = c * 1e9 / (double)r.ops;
      flt[s][k] = r.faults / (double)r.ops;
    }
    round_t = mtb_now() - round_start;
  }
  bool cut = reps < planned;
  if (cut)
    printf("%-36s (time budget: %d of %d rounds, program at %.0f s of its %.0f s soft budget)\n",
           row->bench, reps, planned, mtb_elapsed(), budget);
  double o = median(fig[0], reps), co = median(cpu[0], reps);
  last_ours = o;
  const char *out = getenv("MT_BENCH_OUT");
  if (n == 1) /* ours alone (no C peer yet): printed, never recorded */
    printf("%-36s %-12s ours %10.4g  (no C peer; CPU ns/op %.4g; validated)\n", row->bench,
           row->unit, o, co);
  if (lat)
    for (int s = 0; s < n; s++)
      printf("%-36s   latency %-28s p50 %9.4g  p99 %9.4g  p99.9 %9.4g  max %9.4g ns\n",
             row->bench, sides[s].label, median(pct[0][s], reps), median(pct[1][s], reps),
             median(pct[2][s], reps), median(pct[3][s], reps));
  for (int s = 1; s < n; s++) {
    double t = median(fig[s], reps), ct = median(cpu[s], reps);
    double ratio = row->rate && !by_p99 ? o / t : t / o;
    double cratio = co > 0 ? ct / co : 0;
    printf("%-36s %-12s ours %10.4g  %-30s %10.4g  ratio %6.2f | CPU ns/op %9.4g vs %9.4g  "
           "cpu_ratio %6.2f\n",
           row->bench, row->unit, o, sides[s].label, t, ratio, co, ct, cratio);
    double fo = median(flt[0], reps), ft = median(flt[s], reps);
    if (fo >= 0.001 || ft >= 0.001) /* only where faults are a cost worth seeing */
      printf("%-36s   minor page faults per op: ours %.3g vs %.3g\n", row->bench, fo, ft);
    if (!out) continue;
    FILE *f = fopen(out, "a");
    if (!f) continue;
    fputs("{\"bench\": ", f), put_str(f, row->bench);
    fputs(", \"unit\": ", f), put_str(f, row->unit);
    fprintf(f, ", \"ours\": %.6g, \"baseline\": ", o), put_str(f, sides[s].label);
    fprintf(f, ", \"theirs\": %.6g, \"ratio\": %.4g", t, ratio);
    fprintf(f, ", \"cpu_unit\": \"ns/op\", \"cpu_ours\": %.6g, \"cpu_theirs\": %.6g, "
               "\"cpu_ratio\": %.4g", co, ct, cratio);
    fprintf(f, ", \"minflt_ours\": %.4g, \"minflt_theirs\": %.4g", fo, ft);
    fputs(", \"spread\": {\"ours\": ", f), put_spread(f, fig[0], reps);
    fputs(", \"theirs\": ", f), put_spread(f, fig[s], reps);
    fputs("}, \"samples\": {\"ours\": ", f), put_list(f, fig[0], reps);
    fputs(", \"theirs\": ", f), put_list(f, fig[s], reps);
    fputs("}, \"cpu_samples\": {\"ours\": ", f), put_list(f, cpu[0], reps);
    fputs(", \"theirs\": ", f), put_list(f, cpu[s], reps);
    static const char *pname[4] = {"p50", "p99", "p999", "max"};
    for (int i = 0; lat && i < 4; i++)
      fprintf(f, "}, \"%s\": {\"ours\": %.6g, \"theirs\": %.6g", pname[i],
              median(pct[i][0], reps), median(pct[i][s], reps));
    fprintf(f, "}, %s\"first\": \"ours\", \"reps\": %d, \"budget_cut\": %s, \"validated\": true, "
               "\"checksum\": %llu}\n",
            lat ? "\"lat_unit\": \"ns\", " : "", reps, cut ? "true" : "false",
            (unsigned long long)row->expect);
    fclose(f);
  }
}

void mtb_python_row(const char *bench, const char *unit, bool rate, double ours,
                    const char *baseline, const char *script, const char *args) {
  if (!mtb_wanted(bench)) return;
  double t = mtb_python(script, args);
  if (!(t > 0)) {
    printf("%-36s python reference %s failed or missing\n", bench, script);
    return; /* a missing reference is not a result */
  }
  mtb_reference_row(bench, unit, rate, ours, baseline, t);
}

void mtb_reference_row(const char *bench, const char *unit, bool rate, double ours,
                       const char *baseline, double t) {
  if (!mtb_wanted(bench)) return;
  double ratio = rate ? ours / t : t / ours;
  printf("%-36s %-12s ours %10.4g  %-30s %10.4g  ratio %6.2f (reference)\n", bench, unit, ours,
         baseline, t, ratio);
  const char *out = getenv("MT_BENCH_OUT");
  FILE *f = out ? fopen(out, "a") : NULL;
  if (!f) return;
  fputs("{\"bench\": ", f), put_str(f, bench);
  fputs(", \"unit\": ", f), put_str(f, unit);
  fprintf(f, ", \"ours\": %.6g, \"baseline\": ", ours), put_str(f, baseline);
  fprintf(f, ", \"theirs\": %.6g, \"ratio\": %.4g, \"reference\": true, \"cpu_ours\": null, "
             "\"cpu_theirs\": null, \"cpu_ratio\": null, \"spread\": null, \"samples\": null, "
             "\"first\": null, \"validated\": null}\n", t, ratio);
  fclose(f);
}

void mtb_memory_row(const char *bench, const char *unit, double ours, const char *baseline,
                    double t, uint64_t checksum) {
  if (!mtb_wanted(bench)) return;
  double ratio = ours > 0 ? t / ours : 0;
  printf("%-36s %-12s ours %10.4g  %-30s %10.4g  ratio %6.2f (memory)\n", bench, unit, ours,
         baseline, t, ratio);
  const char *out = getenv("MT_BENCH_OUT");
  FILE *f = out ? fopen(out, "a") : NULL;
  if (!f) return;
  fputs("{\"bench\": ", f), put_str(f, bench);
  fputs(", \"unit\": ", f), put_str(f, unit);
  fprintf(f, ", \"ours\": %.6g, \"baseline\": ", ours), put_str(f, baseline);
  fprintf(f, ", \"theirs\": %.6g, \"ratio\": %.4g, \"measure\": \"memory\", "
             "\"cpu_ours\": null, \"cpu_theirs\": null, \"cpu_ratio\": null, \"spread\": null, "
             "\"samples\": {\"ours\": [%.6g], \"theirs\": [%.6g]}, \"first\": \"ours\", "
             "\"reps\": 1, \"validated\": true, \"checksum\": %llu}\n",
          t, ratio, ours, t, (unsigned long long)checksum);
  fclose(f);
}

/* ---- legacy API ---- */
double mtb_median(double (*fn)(void *arg), void *arg, int reps) {
  double v[MTB_MAX_REPS];
  if (reps < 1) reps = 1;
  if (reps > MTB_MAX_REPS) reps = MTB_MAX_REPS;
  for (int i = 0; i < reps; i++) v[i] = fn(arg);
  return median(v, reps);
}

double mtb_python(const char *script, const char *args) {
  /* the scripts' directory: MT_BENCH_PYDIR, else the source tree this
   * binary was built from (so a bench run from any directory finds them) */
  const char *dir = getenv("MT_BENCH_PYDIR");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/%s %s", dir ? dir : MTB_PYDIR, script,
           args ? args : "");
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  double v = -1;
  if (fscanf(p, "%lf", &v) != 1) v = -1;
  if (pclose(p) != 0) v = -1;
  return v;
}

void mtb_report(const char *bench, const char *unit, double ours, const char *baseline,
                double theirs, bool higher_is_better) {
  if (!mtb_wanted(bench)) return;
  double ratio = 0;
  if (ours > 0 && theirs > 0) ratio = higher_is_better ? ours / theirs : theirs / ours;
  printf("%-36s %-12s ours %10.4g  %-30s %10.4g  ratio %6.2f (legacy row)\n", bench, unit, ours,
         baseline, theirs, ratio);
  const char *out = getenv("MT_BENCH_OUT");
  if (!out || theirs <= 0) return;
  FILE *f = fopen(out, "a");
  if (!f) return;
  fputs("{\"bench\": ", f), put_str(f, bench);
  fputs(", \"unit\": ", f), put_str(f, unit);
  fprintf(f, ", \"ours\": %.6g, \"baseline\": ", ours), put_str(f, baseline);
  fprintf(f, ", \"theirs\": %.6g, \"ratio\": %.4g}\n", theirs, ratio);
  fclose(f);
}
