/* The notes' 效率测试 (efficiency test) table, with a coroutine column
 * (seed 002_7c64b0e226ac7b39.txt, "效率测试", after "IO 密集型 / cpu密集型").
 *
 * The notes run 10 jobs one after another ("Line"), on 10 threads and in 10
 * processes, for a CPU-bound job and an I/O-bound one, and print the time
 * of each (in Python the threads do not help the CPU-bound job: the GIL).
 * Here the same three ways in C, plus 10 coroutine tasks on one hub, for
 * three jobs:
 *   cpu   - arithmetic (counting primes below 200,000);
 *   file  - writing and re-reading a 4 MiB temporary file (what the notes
 *           call I/O);
 *   sleep - waiting (0.1 s x MT_EXAMPLE_SCALE, as for a slow peer): the
 *           sleep-bound work.
 * Coroutines run on ONE thread: they help only where the work waits in a
 * call that parks the task (sleep, the library's queues, locks, pipes...).
 * A CPU job or plain file I/O never parks, so their coroutine column is the
 * "Line" time and is printed as "-" (not measured): the coroutine column is
 * the sleep-bound row.  C has no GIL, so threads help the CPU job here on
 * a machine with more than one core. */
#include <multitask.h>
#include "example.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { JOBS = 10, FILE_BYTES = 4 << 20 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cpu_job(void *arg) {
  (void)arg;
  volatile int primes = 0;
  for (int n = 2; n < 200000; n++) {
    int p = 1;
    for (int d = 2; d * d <= n; d++)
      if (n % d == 0) {
        p = 0;
        break;
      }
    primes += p;
  }
  return primes == 17984 ? 0 : 1;
}

static int file_job(void *arg) {
  (void)arg;
  char path[] = "/tmp/mt_efficiencyXXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  unlink(path);
  static _Thread_local char buf[64 * 1024];
  memset(buf, 'x', sizeof buf);
  long total = 0;
  for (int i = 0; i < FILE_BYTES / (int)sizeof buf; i++) total += write(fd, buf, sizeof buf);
  lseek(fd, 0, SEEK_SET);
  ssize_t k;
  while ((k = read(fd, buf, sizeof buf)) > 0) total -= k;
  close(fd);
  return total == 0 ? 0 : 1;
}

static int sleep_job(void *arg) {
  (void)arg;
  return mt_coro_sleep(0.1 * ex_scale()) == 0 ? 0 : 1; /* outside a hub: the thread sleeps */
}

typedef int (*job_fn)(void *);

static void *thread_main(void *arg) { return (void *)(intptr_t)((job_fn)arg)(NULL); }

static int task_main(void *arg, mt_value_t *out) {
  (void)out;
  return ((job_fn)arg)(NULL) == 0 ? 0 : MT_EINVAL;
}

static double run_line(job_fn f) {
  double t0 = now();
  for (int i = 0; i < JOBS; i++)
    if (f(NULL)) exit(1);
  return now() - t0;
}

static double run_threads(job_fn f) {
  mt_thread_t *t[JOBS];
  double t0 = now();
  for (int i = 0; i < JOBS; i++) t[i] = mt_thread_spawn(thread_main, (void *)f, NULL);
  for (int i = 0; i < JOBS; i++) {
    void *r;
    if (!t[i] || mt_thread_join(t[i], MT_FOREVER, &r) || r) exit(1);
    mt_thread_free(t[i]);
  }
  return now() - t0;
}

static double run_processes(job_fn f) {
  mt_process_t *p[JOBS];
  double t0 = now();
  for (int i = 0; i < JOBS; i++)
    if (!(p[i] = mt_process_new(f, NULL, NULL)) || mt_process_start(p[i])) exit(1);
  for (int i = 0; i < JOBS; i++) {
    int code = -1;
    if (mt_process_join(p[i], MT_FOREVER) || mt_process_exitcode(p[i], &code) != 0 || code != 0)
      exit(1);
    mt_process_free(p[i]);
  }
  return now() - t0;
}

static double run_tasks(job_fn f) {
  mt_hub_t *h = mt_hub_new();
  mt_taskgroup_t *g = mt_taskgroup_new();
  double t0 = now();
  for (int i = 0; i < JOBS; i++) mt_taskgroup_spawn(g, task_main, (void *)f, NULL);
  if (mt_taskgroup_wait(g, MT_FOREVER) != 0) exit(1);
  double t = now() - t0;
  mt_taskgroup_free(g);
  mt_hub_free(h);
  return t;
}

int main(void) {
  struct {
    const char *name;
    job_fn f;
    int coro;
  } rows[] = {{"cpu", cpu_job, 0}, {"file I/O", file_job, 0}, {"sleep", sleep_job, 1}};
  printf("%d jobs, seconds       Line   Thread  Process  Coroutine\n", JOBS);
  for (int i = 0; i < 3; i++) {
    double l = run_line(rows[i].f), t = run_threads(rows[i].f), p = run_processes(rows[i].f);
    printf("%-20s %7.2f  %7.2f  %7.2f", rows[i].name, l, t, p);
    if (rows[i].coro) {
      double c = run_tasks(rows[i].f);
      printf("  %9.2f\n", c);
    } else {
      printf("  %9s\n", "-");
    }
  }
  printf("sleep-bound: Thread, Process and Coroutine all wait once (~0.1 s); Line waits 10 times\n");
  return 0;
}
