/* mtsched.h - the core of the CPU-scheduling simulator (no CLI here).
 *
 * The core is four small modules that the mtsched program, the tests, the
 * fuzzer and the benchmark link directly:
 *   parse.c   workload text -> ms_workload_t, policy options -> ms_config_t
 *   sim.c     one event-driven simulation: ms_workload_t x ms_config_t -> ms_result_t
 *   output.c  text / json / csv / svg of one run, and the compare table
 *   gen.c     the documented random workload generator (splitmix64)
 * Every function that can fail on input returns MS_EINPUT and writes a
 * human message ("file:line: what is wrong") into err; nothing is printed.
 * All times are int64 ticks; sums that could pass 2^63 are kept in 128 bits
 * and every time addition in the simulator is checked. */
#ifndef MTSCHED_H
#define MTSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

__extension__ typedef __int128 ms_i128;

enum { MS_OK = 0, MS_ENOMEM = -1, MS_EINPUT = -2, MS_EIO = -3 };

#define MS_ERRLEN 512
#define MS_MAX_QUEUES 64
#define MS_MAX_CPUS 1024
#define MS_IDLE (-1) /* gantt slice with no process */
#define MS_CS (-2)   /* gantt slice of a context switch */

/* ---- workload ---- */
typedef struct ms_proc { /* 56 bytes: the two int32 share one word */
  const char *name;   /* points into ms_workload_t.text */
  int64_t arrival;
  size_t burst_off;   /* first burst in ms_workload_t.bursts */
  int64_t priority;   /* as written (0 when missing) */
  int64_t cpu_total;  /* sum of CPU bursts */
  int64_t io_total;   /* sum of I/O bursts */
  int32_t nbursts;    /* odd: CPU, IO, CPU, ..., CPU */
  int32_t line;       /* 1-based line in the file (0 for --jobs) */
} ms_proc_t;

typedef struct ms_workload {
  ms_proc_t *procs;   /* file order */
  size_t n;
  int64_t *bursts;
  size_t nbursts;
  char *text;         /* owned copy of the input, names are NUL-cut in it */
} ms_workload_t;

/* Parses a workload (see docs/mtsched.md); fname names it in messages. */
int ms_parse_workload(const char *buf, size_t len, const char *fname,
                      ms_workload_t *w, char *err, size_t errlen);
/* The same on a malloc'ed buffer of at least len + 1 bytes, which the
 * workload takes over (freed with it, or at once on failure): no copy. */
int ms_parse_workload_owned(char *text, size_t len, const char *fname, ms_workload_t *w,
                            char *err, size_t errlen);
/* Builds the --jobs workload: J0, J1, ... of the given lengths, all at 0. */
int ms_jobs_workload(const char *list, ms_workload_t *w, char *err, size_t errlen);
void ms_workload_free(ms_workload_t *w);
static inline int64_t ms_burst(const ms_workload_t *w, const ms_proc_t *p, int k) {
  return w->bursts[p->burst_off + (size_t)k];
}

/* ---- policy and options ---- */
typedef enum ms_policy {
  MS_FCFS, MS_SJF, MS_SRTF, MS_PRIORITY, MS_PPRIORITY, MS_HRRN, MS_RR, MS_MLFQ,
  MS_NPOLICIES
} ms_policy_t;

typedef struct ms_config {
  ms_policy_t policy;
  int64_t quantum;                      /* rr, default 4 */
  int64_t cs;                           /* context-switch cost, default 0 */
  int64_t aging;                        /* 0 = off */
  int queues;                           /* mlfq, default 3 (0 = from quanta) */
  int nquanta;                          /* values given with quanta= */
  int64_t quanta[MS_MAX_QUEUES];
  int64_t boost;                        /* 0 = off */
  int nallot;                           /* 0 = notes' rule (per quantum) */
  int64_t allotment[MS_MAX_QUEUES];
  bool priority_high;                   /* larger number = higher priority */
  int cpus;                             /* --cpus: running slots sharing one ready set (1) */
  bool trace;                           /* --trace: record the decision events */
  char label[160];                      /* e.g. "rr:q=4" */
} ms_config_t;

const char *ms_policy_name(ms_policy_t p);
int ms_policy_from_name(const char *name, ms_policy_t *out);
void ms_config_init(ms_config_t *c);
/* Sets one option by its long name (q, cs, aging, queues, quanta, boost,
 * allotment); val is the text after '='. */
int ms_config_set(ms_config_t *c, const char *key, const char *val, char *err,
                  size_t errlen);
/* Checks the option combination, fills MLFQ defaults and the label. */
int ms_config_finish(ms_config_t *c, char *err, size_t errlen);
/* Parses "rr:q=4" / "mlfq:queues=3:boost=50" on top of base into out. */
int ms_config_from_spec(const ms_config_t *base, const char *spec, ms_config_t *out,
                        char *err, size_t errlen);
/* Parses a positive or non-negative int64 ("what" names it in messages). */
int ms_parse_i64(const char *s, size_t len, int64_t min, int64_t *out);

/* ---- simulation ---- */
typedef struct ms_slice { /* 24 bytes */
  int64_t start, end;
  int32_t proc; /* index into procs (file order), MS_IDLE or MS_CS */
  int32_t cpu;  /* 0 .. cpus-1 */
} ms_slice_t;

/* --trace: one decision event.  Replaying the log in order rebuilds the
 * ready queues at any instant: arrive, io_done, expire and preempt append
 * the process to the tail of queue `level` (0 without MLFQ), dispatch
 * removes it, boost moves every queue, in level order, to the tail of
 * queue 0. */
typedef enum ms_event {
  MS_EV_ARRIVE,   /* arrived, entered the ready set */
  MS_EV_IO_DONE,  /* back from I/O, entered the ready set */
  MS_EV_EXPIRE,   /* quantum or allotment used up: back to the ready set (level after demotion) */
  MS_EV_PREEMPT,  /* displaced by a better process or by a boost: back to the ready set */
  MS_EV_BOOST,    /* MLFQ boost: every process to queue 0 */
  MS_EV_DISPATCH, /* left the ready set for cpu (until = end of the context switch, if any) */
  MS_EV_RUN,      /* starts running on cpu (until = planned end of the slice) */
  MS_EV_IO_START, /* CPU burst done, I/O until `until` */
  MS_EV_FINISH,   /* last burst done */
  MS_NEVENTS
} ms_event_t;

typedef struct ms_trace { /* 40 bytes */
  int64_t t;
  int64_t left;   /* MLFQ with --allotment: allotment left at the level; else -1 */
  int64_t until;  /* see the events; -1 when none */
  int32_t proc;   /* file index; -1 for boost */
  int32_t ev;     /* ms_event_t */
  int16_t cpu;    /* -1 when none */
  int16_t level;  /* MLFQ level (the queue entered or left); -1 without MLFQ */
} ms_trace_t;

const char *ms_event_name(int ev);

typedef struct ms_pstat {
  int64_t start, finish, turnaround, waiting, response;
} ms_pstat_t;

typedef struct ms_result {
  ms_config_t cfg;
  const ms_workload_t *w;
  ms_pstat_t *ps;          /* file order */
  ms_slice_t *gantt;
  size_t ngantt, capgantt;
  ms_i128 sum_turnaround, sum_waiting, sum_response;
  double avg_turnaround, avg_waiting, avg_response;
  int64_t first_arrival, last_finish, makespan;
  int64_t busy, cs_time, idle_time;
  uint64_t context_switches;
  uint64_t events;         /* loop iterations: the cost measure */
  ms_trace_t *trace;       /* with cfg.trace: the decision log, in order */
  size_t ntrace, captrace;
  double throughput, utilization;
} ms_result_t;

int ms_simulate(const ms_workload_t *w, const ms_config_t *cfg, ms_result_t *r,
                char *err, size_t errlen);
void ms_result_free(ms_result_t *r);
/* The differential invariant of a finished run, O(slices + processes):
 * per CPU the slices follow each other with no overlap and no gap, time
 * never goes back, from the first arrival to the last finish; a process
 * never runs on two CPUs at once, never before its arrival or after its
 * finish; its slices sum to its CPU bursts; busy, idle and switch totals
 * match the chart.  Returns MS_OK, or MS_EINPUT with the first violation
 * in err.  The tests and the fuzz harness run it after every simulation. */
int ms_check(const ms_result_t *r, char *err, size_t errlen);

/* ---- output ---- */
typedef enum ms_format { MS_TEXT, MS_JSON, MS_CSV, MS_SVG } ms_format_t;
int ms_format_from_name(const char *name, ms_format_t *out);
int ms_write_run(FILE *f, const ms_result_t *r, ms_format_t fmt);
int ms_write_compare(FILE *f, const ms_result_t *rs, size_t n, ms_format_t fmt);

/* ---- memory ---- */
/* Hints transparent huge pages for a big array (>= 4 MiB; no-op otherwise). */
void ms_huge(void *p, size_t n);
/* malloc (or calloc when zero) + ms_huge: for arrays of one entry per process. */
void *ms_big_alloc(size_t n, bool zero);

/* ---- generator ---- */
typedef struct ms_gen_opts {
  int64_t n, seed, max_arrival, max_burst;
  bool io;
} ms_gen_opts_t;
void ms_gen_defaults(ms_gen_opts_t *o);
uint64_t ms_splitmix64(uint64_t *state);
int ms_gen(FILE *f, const ms_gen_opts_t *o);

#endif
