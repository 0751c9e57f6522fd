/* CPU-bound vs IO-bound work: one line, threads, processes, coroutines
 * (the notes, 002 "效率测试"; they print, for 10 jobs run in each way:
 *
 *   Line cpu 1.22    Thread cpu 0.70    Process cpu 0.64
 *   Line IO  4.14    Thread IO  3.46    Process IO  1.85
 *
 * and conclude that threads barely beat one line while processes do: the
 * GIL lets one Python thread compute at a time).
 *
 * Here 10 jobs run one after the other (Line), on 10 threads, in 10
 * processes, and as 10 tasks of one hub (Coroutine, the column the notes do
 * not have).  A cpu job mixes 2^21 numbers (xorshift, checked against the
 * same work done once up front); an IO job waits 10 times 5 ms (a stand-in
 * for a reply from a server: mt_coro_sleep parks the task inside a hub and
 * sleeps the thread elsewhere; waits scale with MT_EXAMPLE_SCALE).
 *
 * What it shows, unlike Python: C threads have no GIL, so threads compute
 * on every core at once, as processes do (without a process's start cost);
 * coroutines share one thread, so Coroutine cpu stays near Line cpu, while
 * their waits overlap, so Coroutine IO is about one job's waits, as with
 * threads and processes.  The times depend on the machine and its load;
 * the program checks every result and exits 1 on a wrong one. */
#include <multitask.h>

#include "../common/example.h"

#include <stdint.h>
#include <stdio.h>

#define JOBS 10
#define CPU_ROUNDS (1u << 21)
#define IO_WAITS 10
#define IO_WAIT 0.005

static uint64_t expected;

static uint64_t cpu_work(uint64_t seed) {
  uint64_t x = seed | 1, sum = 0;
  for (unsigned i = 0; i < CPU_ROUNDS; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    sum += x;
  }
  return sum;
}

static void io_work(void) {
  for (int i = 0; i < IO_WAITS; i++) mt_coro_sleep(IO_WAIT * ex_scale());
}

/* one job of either kind; 0 when its result is right */
static int job(int cpu) {
  if (!cpu) {
    io_work();
    return 0;
  }
  return cpu_work(42) == expected ? 0 : 1;
}

static void *thread_job(void *arg) { return (void *)(intptr_t)job((int)(intptr_t)arg); }
static int process_job(void *arg) { return job((int)(intptr_t)arg); }
static int task_job(void *arg, mt_value_t *out) {
  out->ptr = (void *)(intptr_t)job((int)(intptr_t)arg);
  return 0;
}

static int run_line(int cpu) {
  int bad = 0;
  for (int i = 0; i < JOBS; i++) bad += job(cpu);
  return bad;
}

static int run_threads(int cpu) {
  mt_thread_t *t[JOBS];
  int bad = 0;
  for (int i = 0; i < JOBS; i++) {
    t[i] = mt_thread_new(thread_job, (void *)(intptr_t)cpu, NULL);
    if (!t[i] || mt_thread_start(t[i]) != 0) return -1;
  }
  for (int i = 0; i < JOBS; i++) {
    void *r = (void *)1;
    if (mt_thread_join(t[i], MT_FOREVER, &r) != 0 || r) bad++;
    mt_thread_free(t[i]);
  }
  return bad;
}

static int run_processes(int cpu) {
  mt_process_t *p[JOBS];
  int bad = 0;
  for (int i = 0; i < JOBS; i++) {
    p[i] = mt_process_new(process_job, (void *)(intptr_t)cpu, NULL);
    if (!p[i] || mt_process_start(p[i]) != 0) return -1;
  }
  for (int i = 0; i < JOBS; i++) {
    int code = -1;
    if (mt_process_join(p[i], MT_FOREVER) != 0 || mt_process_exitcode(p[i], &code) != 0 || code)
      bad++;
    mt_process_free(p[i]);
  }
  return bad;
}

static int run_coroutines(int cpu) {
  mt_hub_t *hub = mt_hub_new();
  if (!hub) return -1;
  mt_future_t *t[JOBS];
  int bad = 0;
  for (int i = 0; i < JOBS; i++)
    if (!(t[i] = mt_coro_spawn(task_job, (void *)(intptr_t)cpu, NULL))) return -1;
  if (mt_coro_joinall(t, JOBS, MT_FOREVER) != JOBS) bad++;
  for (int i = 0; i < JOBS; i++) {
    mt_value_t v;
    if (mt_future_result(t[i], 0, &v) != 0 || v.ptr) bad++;
    mt_future_free(t[i]);
  }
  mt_hub_free(hub);
  return bad;
}

int main(void) {
  ex_init();
  expected = cpu_work(42);
  static const struct {
    const char *name;
    int (*run)(int cpu);
  } ways[] = {{"Line", run_line},
              {"Thread", run_threads},
              {"Process", run_processes},
              {"Coroutine", run_coroutines}};
  int rc = 0;
  for (int w = 0; w < 4; w++) {
    for (int cpu = 1; cpu >= 0; cpu--) {
      double t0 = ex_now();
      int bad = ways[w].run(cpu);
      double took = ex_now() - t0;
      printf("%s %s %.3f\n", ways[w].name, cpu ? "cpu" : "IO", took);
      if (bad) {
        fprintf(stderr, "%s %s: %d wrong results\n", ways[w].name, cpu ? "cpu" : "IO", bad);
        rc = 1;
      }
    }
  }
  return rc;
}
