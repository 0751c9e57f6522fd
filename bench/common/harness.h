/* harness.h - benchmark harness: every benchmark runs ours and the baselines
 * side by side in one run, repeats (MTB_REPS, >= 5), takes the median and
 * appends one JSON line per comparison to $MT_BENCH_OUT:
 *   {"bench","unit","ours","baseline","theirs","ratio"}   ratio > 1 = ours better
 */
#ifndef MT_BENCH_HARNESS_H
#define MT_BENCH_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#define MTB_REPS 5

/* Monotonic time in seconds. */
double mtb_now(void);
/* Runs fn(arg) `reps` times (each returns its figure) and returns the median. */
double mtb_median(double (*fn)(void *arg), void *arg, int reps);
/* Runs `/usr/bin/python3 bench/python/<script> <args>` (Debian's python3),
 * which prints the median of its own repetitions as a single number;
 * returns it, or -1 when Python is missing or failed. */
double mtb_python(const char *script, const char *args);
/* Appends one result line and prints it readably.  higher_is_better says
 * whether the unit is a rate (ops/s) or a cost (ns/op). */
void mtb_report(const char *bench, const char *unit, double ours,
                const char *baseline, double theirs, bool higher_is_better);
/* Scale of benchmark sizes: env MT_BENCH_SCALE (default 1). */
double mtb_scale(void);

#endif
