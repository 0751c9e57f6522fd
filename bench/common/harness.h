/* harness.h - benchmark harness (design note).
 *
 * A row compares ours with one or more baselines doing the SAME work.  The
 * sides alternate repetition by repetition (ours, base1, base2, ours, base1,
 * ...; ours always runs first in each round, recorded as "first"), so drift in
 * the machine's load lands on every side alike.  Each run brackets its timed
 * part with mtb_start()/mtb_stop(), which read the monotonic clock and the
 * process CPU time (getrusage RUSAGE_SELF: all threads, plus RUSAGE_CHILDREN:
 * reaped children).  Persistent worker processes are not reaped while timed:
 * the run adds their CPU with mtb_add_cpu(r, mtb_proc_cpu(pid) delta).
 *
 * Every run sets r->ops (operations done) and r->sum (a checksum of its
 * result: a sum, a count, an order hash); the harness compares r->sum with the
 * row's `expect` after EVERY run and exits non-zero on a mismatch, so a wrong
 * or short run can never become a figure.  Per baseline it appends one JSON
 * line to $MT_BENCH_OUT:
 *   bench, unit, ours, baseline, theirs, ratio       (medians; ratio > 1 = ours better)
 *   cpu_ours, cpu_theirs (CPU ns/op, medians), cpu_ratio (cpu_theirs/cpu_ours)
 *   minflt_ours, minflt_theirs (minor page faults per op, medians: getrusage
 *   RUSAGE_SELF; shows a side that makes the allocator give memory back to
 *   the kernel and fault it in again, docs/benchmarks.md "MPMC 1 KiB")
 *   spread {ours:[min,q1,q3,max], theirs:[...]}     (in the row's unit)
 *   samples {ours:[...], theirs:[...]}, cpu_samples (same, CPU ns/op)
 *   first ("ours"), reps, validated (true), checksum
 * Python rows (mtb_python_row) are a reference, never a goal: the script
 * reports its own median, so they carry "reference": true and null CPU.
 *
 * Env: MT_BENCH_SCALE scales sizes, MT_BENCH_REPS sets repetitions (default
 * MTB_REPS), MT_BENCH_QUICK=1 means 1 repetition at 1/100 of the sizes,
 * MT_BENCH_ROWS=<text> measures only the rows whose name contains <text>.
 */
#ifndef MT_BENCH_HARNESS_H
#define MT_BENCH_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define MTB_REPS 7
#define MTB_MAX_SIDES 6
#define MTB_MAX_REPS 64
#define MTB_MIN_REPS 3        /* the time budget never cuts a row below this */
#define MTB_BUDGET_SHARE 0.8  /* of MT_BENCH_BUDGET: rows stop adding rounds beyond it */

typedef struct mtb_run {
  long ops;     /* set by the run: operations in the timed part */
  uint64_t sum; /* set by the run: checksum of its result */
  /* filled by mtb_start/mtb_stop/mtb_add_cpu */
  double t0, c0, wall, cpu, extra_cpu;
  double f0, faults; /* minor page faults of the process in the timed part (mtb_start/stop) */
  int state; /* 0 fresh, 1 started, 2 stopped */
  double pct[4]; /* set by mtb_latency: p50, p99, p99.9 and max of this run (ns) */
  bool has_pct;
} mtb_run_t;

typedef struct {
  const char *label;                         /* "ours" or the baseline's name */
  void (*run)(void *arg, mtb_run_t *r);      /* one repetition */
  void *arg;
} mtb_side_t;

typedef struct {
  const char *bench;
  const char *unit;      /* e.g. "ns/op" (cost) or "items/s" (rate) */
  bool rate;             /* true: unit is ops per second; false: ns (or us) per op */
  double unit_scale;     /* cost units per second (1e9 for ns/op, 1e6 for us/op); rates ignore it */
  uint64_t expect;       /* checksum every run must produce */
} mtb_row_t;

/* Monotonic time in seconds. */
double mtb_now(void);
/* Process CPU seconds: self (all threads) + reaped children. */
double mtb_cpu(void);
/* CPU seconds (utime+stime) of a live process from /proc/<pid>/stat, or -1. */
double mtb_proc_cpu(pid_t pid);
/* Bracket the timed part of a run; add CPU burnt elsewhere (live workers). */
void mtb_start(mtb_run_t *r);
void mtb_stop(mtb_run_t *r);
void mtb_add_cpu(mtb_run_t *r, double seconds);
/* Latency percentiles of a run: sorts ns[0..n) in place and keeps p50, p99,
 * p99.9 and the maximum in r.  A row whose runs call it gets "p50", "p99",
 * "p999" and "max" fields ({"ours": median over runs, "theirs": ...}, in ns).  Every side of such a
 * row must call it (the harness fails the row otherwise). */
void mtb_latency(mtb_run_t *r, double *ns, long n);
/* Nanoseconds of the monotonic clock, for per-operation latency samples. */
static inline double mtb_now_ns(void);

/* Runs sides[0] (ours) and sides[1..n-1] (baselines) alternately, validates
 * every run, reports one row per baseline.  Exits(1) on a failed validation.
 * n == 1 measures and validates ours alone (printed, no row: a figure with
 * no peer is not a comparison; mtb_last_ours() then feeds a Python row). */
void mtb_compare(const mtb_row_t *row, const mtb_side_t *sides, int n);
/* The same, but the row's figure is each run's p99 latency (ns, a cost;
 * every run must call mtb_latency): for open-loop rows, whose rate is fixed
 * by design, so only their latency compares. */
void mtb_compare_p99(const mtb_row_t *row, const mtb_side_t *sides, int n);

/* Runs `/usr/bin/python3 bench/python/<script> <args>` which prints the median
 * of its own repetitions; reports it against ours' figure as a reference row. */
void mtb_python_row(const char *bench, const char *unit, bool rate, double ours,
                    const char *baseline, const char *script, const char *args);
/* The same for a reference figure the caller measured (Python). */
void mtb_reference_row(const char *bench, const char *unit, bool rate, double ours,
                       const char *baseline, double theirs);
/* A memory row (bench/memory): one figure per side, lower is better, ratio
 * theirs/ours (> 1 = ours smaller); "measure": "memory", no CPU figures.
 * The caller has validated the measurement (object counts) before. */
void mtb_memory_row(const char *bench, const char *unit, double ours, const char *baseline,
                    double theirs, uint64_t checksum);
/* The median figure (in the row's unit) of ours from the last mtb_compare. */
double mtb_last_ours(void);

/* Is the row named bench measured in this run (MT_BENCH_ROWS)?  For set-up
 * that only some rows need. */
bool mtb_wanted(const char *bench);

/* Scale of benchmark sizes: MT_BENCH_SCALE (default 1) x 0.01 when QUICK. */
double mtb_scale(void);
/* Repetitions per side: MT_BENCH_REPS, 1 when QUICK, else MTB_REPS. */
int mtb_reps(void);
/* At least n repetitions per side from now on (0: back to the default); not
 * in QUICK mode.  For goal rows that are judged on a median of >= n runs. */
void mtb_min_reps(int n);
/* At most n repetitions per side from now on (0: no cap), unless
 * MT_BENCH_REPS is set; mtb_min_reps still wins.  For rows whose runs are
 * long enough to break the time budget (docs/benchmarks.md); the row's
 * "reps" field records what ran. */
void mtb_cap_reps(int n);
/* The time budget (harness.c "time budget"): rows stop adding rounds,
 * never below MTB_MIN_REPS (or mtb_min_reps) per side, once a round more
 * would pass the program's soft budget (seconds since the program started;
 * MTB_BUDGET_SHARE x MT_BENCH_BUDGET, default 90 s) or the row's allowance
 * (half of what was left when it started).  mtb_budget() is 0 (no cut)
 * when MT_BENCH_BUDGET is 0 or MT_BENCH_REPS is set. */
double mtb_budget(void);
double mtb_elapsed(void);
static inline double mtb_now_ns(void) { return mtb_now() * 1e9; }
/* Fold a value into a checksum (order-sensitive). */
static inline uint64_t mtb_mix(uint64_t h, uint64_t v) {
  return (h ^ v) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
}



/* ---- legacy API (benches not yet converted): blocks of repetitions, no
 * CPU, no validation; their rows lack the new fields and QUICK mode fails
 * them on purpose until they are converted. ---- */
double mtb_median(double (*fn)(void *arg), void *arg, int reps);
double mtb_python(const char *script, const char *args);
void mtb_report(const char *bench, const char *unit, double ours, const char *baseline,
                double theirs, bool higher_is_better);
#endif
