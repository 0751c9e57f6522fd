/* Futures and ThreadPoolExecutor against GLib's GThreadPool, a hand-written
 * pthread mutex/condvar work queue (plain, and with our spin-then-park policy:
 * the fair peer, bench/common/fairpeer.h) and Python's ThreadPoolExecutor (a
 * reference), all with the same number of workers (W = 2):
 *   1. throughput: submit N trivial tasks, then collect every result;
 *   2. latency: one task at a time, submit -> result.  Each run makes one
 *      call before its clock starts (every side: workers up), then N_LAT
 *      round trips with no clock read (their rate is the row's calls/s, as
 *      the 70 ns floor it is set against, two threads ping-ponging a line,
 *      has no clock read either), then N_PCT = N_LAT / 2 more with two
 *      clock reads each, for p50/p99/p99.9 (~60-100 ns of the clock per
 *      call here, which the rate used to include); all sides alike;
 *   3. map over N items;
 *   4. open loop: one thread submits task i at t0 + i * period whatever
 *      happened to the earlier ones, at 50% and 90% of capacity: the rate
 *      of the slower side when the same loop submits with no pause (a
 *      flood, measured first, one run each); each task records how late it
 *      ran, from its scheduled time to the end of its body (p99 is the
 *      row's figure).
 *      Ours frees each future at once (the task still runs: a detached
 *      submit); the fair peer pushes preallocated jobs, as in row 1.
 *      Both sides start their W workers before the clock (ours_prestart):
 *      the peer creates its threads in pq_start, and our pool starts its
 *      workers lazily, at the first submits, which fell in the timed loop
 *      (the first task is due 1 ms after the start).  Measured under load
 *      (2026-11-30, perf sched timehist): each of our new workers waited
 *      0.001-6.8 ms (median 2.5 ms) for its first CPU, against 0.001-0.8
 *      ms (median 0.07 ms) for the peer's threads made outside the loop; the first task ran 0.1-35 ms late with the lazy start, against
 *      0.03-3.3 ms after a pre-start.  That was thread creation measured on
 *      one side only, not submit->run latency (docs/benchmarks.md, "open
 *      loop").
 * Sides alternate run by run (harness.h); every run returns the sum of its
 * results, checked against N(N-1) (each task doubles its index).
 * Time budget (make bench: <= 90 s per program): a one-at-a-time round trip
 * costs ~1 us on a quiet machine but 40-60 us under foreign load (each
 * wake-up waits for a core), and the row has 4 sides; at 10^5 round trips x
 * 7 repetitions the program took 190 s at a load of 4.5-8.8 on the 2 cores,
 * and 135 s at 5 x 50,000 at a load of 13-15 (ours 7.2e3 calls/s there).
 * So the row ran 5 x 30,000 round trips per side; with the harness's time
 * budget (3 rounds at least) it still took 64 s of a 120 s program at a load
 * of ~15 (2026-11-30; ours ~12 s a run there), so it ran 15,000 round trips
 * a run; split since into 10,000 timed + 5,000 for the percentiles (the same
 * total; p99.9 rests on 5 samples per run). */
#include <glib.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <multitask.h>

#include "fairpeer.h"
#include "harness.h"

#define W 2

static long N;     /* throughput / map items */
static long N_LAT; /* latency round trips, the timed pass (calls/s) */
static long N_PCT; /* latency round trips, the percentiles pass */
static double *LAT; /* per round trip ns, for p50/p99/p99.9 */
static int SPIN;   /* our spin budget, for the fair peer */

/* The percentiles pass of the latency row computes the same results as the
 * timed pass: checked here, as the harness checks the timed pass's sum. */
static void lat_pass_check(uint64_t sum) {
  uint64_t want = (uint64_t)N_PCT * (uint64_t)(N_PCT - 1);
  if (sum != want) {
    fprintf(stderr, "futures latency: the percentiles pass summed %llu, want %llu\n",
            (unsigned long long)sum, (unsigned long long)want);
    exit(1);
  }
}

/* ---- ours -------------------------------------------------------------- */

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * 2);
  return 0;
}

static mt_executor_t *ours_pool(void) {
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = W;
  return mt_executor_new_thread_pool(&o);
}

static void ours_throughput(void *unused, mtb_run_t *r) {
  (void)unused;
  mt_executor_t *ex = ours_pool();
  mt_future_t **fs = malloc(sizeof *fs * (size_t)N);
  uint64_t sum = 0;
  mtb_start(r);
  for (long i = 0; i < N; i++) mt_executor_submit(ex, twice, (void *)(intptr_t)i, &fs[i]);
  for (long i = 0; i < N; i++) {
    mt_value_t v;
    if (mt_future_result(fs[i], MT_FOREVER, &v) == 0) sum += (uint64_t)(intptr_t)v.ptr;
    mt_future_free(fs[i]);
  }
  mtb_stop(r);
  mt_executor_free(ex);
  free(fs);
  r->ops = N, r->sum = sum;
}

/* n round trips; lat == NULL: no clock reads (the timed pass, whose
 * calls/s is the row's figure), else two per call into lat (the percentiles
 * pass).  Returns the sum of the results.  Every side also makes one call
 * before its clock starts (its workers up and warm). */
static uint64_t ours_calls(mt_executor_t *ex, long n, double *lat) {
  uint64_t sum = 0;
  for (long i = 0; i < n; i++) {
    double t0 = lat ? mtb_now_ns() : 0;
    mt_future_t *f;
    mt_value_t v;
    mt_executor_submit(ex, twice, (void *)(intptr_t)i, &f);
    if (mt_future_result(f, MT_FOREVER, &v) == 0) sum += (uint64_t)(intptr_t)v.ptr;
    mt_future_free(f);
    if (lat) lat[i] = mtb_now_ns() - t0;
  }
  return sum;
}

static void ours_latency(void *unused, mtb_run_t *r) {
  (void)unused;
  mt_executor_t *ex = ours_pool();
  ours_calls(ex, 1, NULL); /* start the worker */
  mtb_start(r);
  uint64_t sum = ours_calls(ex, N_LAT, NULL);
  mtb_stop(r);
  lat_pass_check(ours_calls(ex, N_PCT, LAT));
  mtb_latency(r, LAT, N_PCT);
  mt_executor_free(ex);
  r->ops = N_LAT, r->sum = sum;
}

static void ours_map(void *unused, mtb_run_t *r) {
  (void)unused;
  mt_executor_t *ex = ours_pool();
  void **args = malloc(sizeof *args * (size_t)N);
  mt_value_t *res = malloc(sizeof *res * (size_t)N);
  for (long i = 0; i < N; i++) args[i] = (void *)(intptr_t)i;
  mtb_start(r);
  int rc = mt_executor_map(ex, twice, args, (size_t)N, MT_FOREVER, 0, res, NULL);
  mtb_stop(r);
  uint64_t sum = 0; /* order matters for map: a misplaced result breaks the sum */
  for (long i = 0; i < N && rc == 0; i++) sum += (intptr_t)res[i].ptr == 2 * i ? (uint64_t)(2 * i) : 1;
  mt_executor_free(ex);
  free(args);
  free(res);
  r->ops = N, r->sum = rc == 0 ? sum : 0;
}

/* ---- GLib GThreadPool -------------------------------------------------- */

/* results: dense, as a GThreadPool user writes them (the row's product,
 * not bookkeeping: docs/benchmarks.md, "Cache lines of the cross-thread
 * rows"). */
typedef struct {
  intptr_t *results;
  GMutex lock; /* latency: completion signal */
  GCond cond;
  gint done;
} gstate_t;

static void g_task(gpointer data, gpointer user) {
  gstate_t *s = user;
  intptr_t i = (intptr_t)data - 1; /* GLib refuses NULL items */
  s->results[i] = 2 * i;
}

static void glib_throughput(void *unused, mtb_run_t *r) {
  (void)unused;
  gstate_t s = {.results = calloc((size_t)N, sizeof(intptr_t))};
  GThreadPool *p = g_thread_pool_new(g_task, &s, W, FALSE, NULL);
  mtb_start(r);
  for (long i = 0; i < N; i++) g_thread_pool_push(p, (gpointer)(intptr_t)(i + 1), NULL);
  g_thread_pool_free(p, FALSE, TRUE); /* waits for every task */
  mtb_stop(r);
  uint64_t sum = 0;
  for (long i = 0; i < N; i++) sum += (uint64_t)s.results[i];
  free(s.results);
  r->ops = N, r->sum = sum;
}

static void g_lat_task(gpointer data, gpointer user) {
  gstate_t *s = user;
  intptr_t i = (intptr_t)data - 1;
  g_mutex_lock(&s->lock);
  s->results[0] = 2 * i;
  s->done = 1;
  g_cond_signal(&s->cond);
  g_mutex_unlock(&s->lock);
}

static uint64_t glib_calls(GThreadPool *p, gstate_t *s, long n, double *lat) {
  uint64_t sum = 0;
  for (long i = 0; i < n; i++) {
    double t0 = lat ? mtb_now_ns() : 0;
    g_thread_pool_push(p, (gpointer)(intptr_t)(i + 1), NULL);
    g_mutex_lock(&s->lock);
    while (!s->done) g_cond_wait(&s->cond, &s->lock);
    s->done = 0;
    sum += (uint64_t)s->results[0];
    g_mutex_unlock(&s->lock);
    if (lat) lat[i] = mtb_now_ns() - t0;
  }
  return sum;
}

static void glib_latency(void *unused, mtb_run_t *r) {
  (void)unused;
  gstate_t s = {.results = calloc(1, sizeof(intptr_t))};
  g_mutex_init(&s.lock);
  g_cond_init(&s.cond);
  GThreadPool *p = g_thread_pool_new(g_lat_task, &s, W, FALSE, NULL);
  glib_calls(p, &s, 1, NULL); /* start a worker */
  mtb_start(r);
  uint64_t sum = glib_calls(p, &s, N_LAT, NULL);
  mtb_stop(r);
  lat_pass_check(glib_calls(p, &s, N_PCT, LAT));
  mtb_latency(r, LAT, N_PCT);
  g_thread_pool_free(p, FALSE, TRUE);
  g_mutex_clear(&s.lock);
  g_cond_clear(&s.cond);
  free(s.results);
  r->ops = N_LAT, r->sum = sum;
}

/* ---- hand-written pthread mutex/condvar work queue ---------------------
 * spin == 0: plain (sleep at once).  spin > 0: the fair peer, with our
 * policy: an idle worker spins on the queue head, a caller waiting for a
 * result spins on the job's done flag, each up to `spin` pause rounds,
 * before they sleep on the condition variable.  The budget adapts per
 * thread as ours does (future.c / thread_pool.c adapt_spin): spin >> shift,
 * the shift lowered by a spin that paid and raised by one that did not,
 * unless (timed) the event came within what the full budget would have
 * spun.  And as ours (future.c tl_near_cpu, thread_pool.c spin_for_news):
 * no spin while the partner runs on our CPU: a waiter whose last job was
 * completed on its own CPU, or a worker whose last pusher runs on its CPU,
 * goes straight to its sleep, and that wait leaves the shift alone. */
static _Thread_local uint32_t pq_shift;
static _Thread_local int pq_near_cpu = -1;

static void pq_adapt(uint32_t shift, bool paid) {
  if (paid ? shift > 0 : shift < 5) pq_shift = paid ? shift - 1 : shift + 1;
}

/* Cache lines (docs/benchmarks.md): a job on a line of its own, as ours'
 * futures are 64-byte slots, and the queue struct starting a line, so no
 * job shares a line with the queue's lock by the stack's or the heap's
 * chance.  jobs_new zeroes before the timed part on purpose: recycled
 * memory holding the last run's results would hide a lost task. */
typedef struct job {
  _Alignas(64) intptr_t arg;
  intptr_t result;
  uint32_t done;
  int done_cpu;
  struct job *next;
} job_t;

typedef struct {
  _Alignas(64) pthread_mutex_t lock;
  pthread_cond_t work, finished;
  job_t *head, *tail;
  int waiting, stop, result_waiters, spin;
  void (*on_run)(intptr_t arg); /* open loop: the task's body (row 4) */
  int sub_cpu; /* the last pusher's CPU */
  pthread_t th[W];
} pq_t;

static void *pq_worker(void *arg) {
  pq_t *q = arg;
  pthread_mutex_lock(&q->lock);
  for (;;) {
    uint32_t shift = pq_shift;
    int64_t t0 = 0, parked = 0;
    bool spun = false;
    int cpu = sched_getcpu();
    bool near = cpu >= 0 && cpu == __atomic_load_n(&q->sub_cpu, __ATOMIC_RELAXED);
    if (!q->head && !q->stop && q->spin && !near) { /* spin for work, unlocked */
      pthread_mutex_unlock(&q->lock);
      t0 = shift ? fp_now_ns() : 0;
      bool found = false;
      for (int i = 0; i < q->spin >> shift && !found; i++) {
        found = __atomic_load_n(&q->head, __ATOMIC_RELAXED) || __atomic_load_n(&q->stop, __ATOMIC_RELAXED);
        if (!found) fp_pause();
      }
      if (found) pq_adapt(shift, true);
      else spun = true, parked = t0 ? fp_now_ns() : 0;
      pthread_mutex_lock(&q->lock);
    }
    while (!q->head && !q->stop) {
      q->waiting++;
      pthread_cond_wait(&q->work, &q->lock);
      q->waiting--;
    }
    if (spun) pq_adapt(shift, t0 && fp_now_ns() - t0 < (parked - t0) << shift);
    if (!q->head) break;
    job_t *j = q->head;
    __atomic_store_n(&q->head, j->next, __ATOMIC_RELAXED);
    if (!q->head) q->tail = NULL;
    pthread_mutex_unlock(&q->lock);
    j->result = j->arg * 2;
    if (q->on_run) q->on_run(j->arg);
    j->done_cpu = sched_getcpu();
    __atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&q->lock);
    if (q->result_waiters) pthread_cond_broadcast(&q->finished);
  }
  pthread_mutex_unlock(&q->lock);
  return NULL;
}

static void pq_start(pq_t *q, int spin) {
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->work, NULL);
  pthread_cond_init(&q->finished, NULL);
  q->spin = spin;
  q->sub_cpu = -1;
  for (int i = 0; i < W; i++) pthread_create(&q->th[i], NULL, pq_worker, q);
}

static void pq_push(pq_t *q, job_t *j) {
  pthread_mutex_lock(&q->lock);
  j->next = NULL;
  if (q->tail)
    q->tail->next = j;
  else
    __atomic_store_n(&q->head, j, __ATOMIC_RELEASE);
  q->tail = j;
  __atomic_store_n(&q->sub_cpu, sched_getcpu(), __ATOMIC_RELAXED);
  if (q->waiting) pthread_cond_signal(&q->work);
  pthread_mutex_unlock(&q->lock);
}

static void pq_note_partner(const job_t *j) {
  int cpu = sched_getcpu();
  pq_near_cpu = cpu >= 0 && cpu == j->done_cpu ? cpu : -1;
}

static void pq_wait(pq_t *q, job_t *j) {
  uint32_t shift = pq_shift;
  bool spin = q->spin && !(pq_near_cpu >= 0 && sched_getcpu() == pq_near_cpu);
  int64_t t0 = spin && shift ? fp_now_ns() : 0;
  if (fp_spin_changed(&j->done, 0, spin ? q->spin >> shift : 0)) {
    if (spin) pq_adapt(shift, true);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (q->spin) pq_note_partner(j);
    return;
  }
  int64_t parked = t0 ? fp_now_ns() : 0;
  pthread_mutex_lock(&q->lock);
  q->result_waiters++; /* the worker broadcasts under this mutex: no lost wake-up */
  while (!__atomic_load_n(&j->done, __ATOMIC_ACQUIRE)) pthread_cond_wait(&q->finished, &q->lock);
  q->result_waiters--;
  pthread_mutex_unlock(&q->lock);
  if (spin) pq_adapt(shift, t0 && fp_now_ns() - t0 < (parked - t0) << shift);
  if (q->spin) pq_note_partner(j);
}

static void pq_stop(pq_t *q) {
  pthread_mutex_lock(&q->lock);
  __atomic_store_n(&q->stop, 1, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&q->work);
  pthread_mutex_unlock(&q->lock);
  for (int i = 0; i < W; i++) pthread_join(q->th[i], NULL);
}

/* Zeroed, 64-byte aligned (calloc aligns to 16 only). */
static job_t *jobs_new(size_t n) {
  job_t *j = aligned_alloc(64, n * sizeof *j);
  if (!j) abort();
  memset(j, 0, n * sizeof *j);
  return j;
}

static void pq_throughput(void *spin, mtb_run_t *r) {
  pq_t q = {0};
  pq_start(&q, (int)(intptr_t)spin);
  job_t *jobs = jobs_new((size_t)N);
  uint64_t sum = 0;
  mtb_start(r);
  for (long i = 0; i < N; i++) {
    jobs[i].arg = i;
    pq_push(&q, &jobs[i]);
  }
  for (long i = 0; i < N; i++) {
    pq_wait(&q, &jobs[i]);
    sum += (uint64_t)jobs[i].result;
  }
  mtb_stop(r);
  pq_stop(&q);
  free(jobs);
  r->ops = N, r->sum = sum;
}

static uint64_t pq_calls(pq_t *q, long n, double *lat) {
  uint64_t sum = 0;
  job_t j;
  for (long i = 0; i < n; i++) {
    double t0 = lat ? mtb_now_ns() : 0;
    j = (job_t){.arg = i};
    pq_push(q, &j);
    pq_wait(q, &j);
    sum += (uint64_t)j.result;
    if (lat) lat[i] = mtb_now_ns() - t0;
  }
  return sum;
}

static void pq_latency(void *spin, mtb_run_t *r) {
  pq_t q = {0};
  pq_start(&q, (int)(intptr_t)spin);
  pq_calls(&q, 1, NULL); /* as the others */
  mtb_start(r);
  uint64_t sum = pq_calls(&q, N_LAT, NULL);
  mtb_stop(r);
  lat_pass_check(pq_calls(&q, N_PCT, LAT));
  mtb_latency(r, LAT, N_PCT);
  pq_stop(&q);
  r->ops = N_LAT, r->sum = sum;
}

/* ---- open loop (row 4) -------------------------------------------------- */

static struct {
  double t0, period; /* ns: task i is due at t0 + i * period */
  long n;
  double rate;       /* tasks/s offered */
  double *lat;       /* per task: end of its body - its due time (ns) */
  intptr_t *res;     /* per task: 2i, for the checksum */
} OL;

static void ol_body(intptr_t i) {
  OL.res[i] = 2 * i;
  OL.lat[i] = mtb_now_ns() - (OL.t0 + (double)i * OL.period);
}

static int ol_task(void *arg, mt_value_t *out) {
  (void)out;
  ol_body((intptr_t)arg);
  return 0;
}

/* Waits for each task's due time, spinning: never for a worker. */
static void ol_wait_due(long i) {
  double due = OL.t0 + (double)i * OL.period;
  while (mtb_now_ns() < due) fp_pause();
}

static void ol_finish(mtb_run_t *r) {
  mtb_latency(r, OL.lat, OL.n);
  uint64_t sum = 0;
  for (long i = 0; i < OL.n; i++) sum += (uint64_t)OL.res[i];
  r->ops = OL.n, r->sum = sum;
}

/* Starts the pool's W workers (W tasks that wait for each other: a busy
 * worker offers no idle token, so each submit starts a new one), as
 * pq_start starts the peer's threads: neither side creates threads inside
 * the timed loop.  Exits if the pool does not have W workers then. */
static int PRESTART_N;

static int meet(void *arg, mt_value_t *out) {
  (void)arg, (void)out;
  __atomic_add_fetch(&PRESTART_N, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&PRESTART_N, __ATOMIC_SEQ_CST) < W) fp_pause();
  return 0;
}

static void ours_prestart(mt_executor_t *ex) {
  mt_future_t *fs[W];
  __atomic_store_n(&PRESTART_N, 0, __ATOMIC_SEQ_CST);
  for (int i = 0; i < W; i++)
    if (mt_executor_submit(ex, meet, NULL, &fs[i]) != 0) {
      fprintf(stderr, "bench_futures: a pre-start submit failed\n");
      exit(1);
    }
  for (int i = 0; i < W; i++) {
    mt_future_result(fs[i], MT_FOREVER, NULL);
    mt_future_free(fs[i]);
  }
  if (mt_executor_thread_count(ex) != W) {
    fprintf(stderr, "bench_futures: the pool has %d workers after the pre-start, not %d\n",
            mt_executor_thread_count(ex), W);
    exit(1);
  }
}

static void ours_open_loop(void *unused, mtb_run_t *r) {
  (void)unused;
  mt_executor_t *ex = ours_pool();
  ours_prestart(ex);
  memset(OL.res, 0, sizeof *OL.res * (size_t)OL.n);
  mtb_start(r);
  OL.t0 = mtb_now_ns() + 1e6; /* first task due in 1 ms */
  for (long i = 0; i < OL.n; i++) {
    mt_future_t *f;
    ol_wait_due(i);
    if (mt_executor_submit(ex, ol_task, (void *)(intptr_t)i, &f) == 0) mt_future_free(f);
  }
  mt_executor_shutdown(ex, true, false, MT_FOREVER); /* every task has run */
  mtb_stop(r);
  mt_executor_free(ex);
  ol_finish(r);
}

static void pq_open_loop(void *spin, mtb_run_t *r) {
  pq_t q = {.on_run = ol_body};
  job_t *jobs = jobs_new((size_t)OL.n);
  memset(OL.res, 0, sizeof *OL.res * (size_t)OL.n);
  pq_start(&q, (int)(intptr_t)spin);
  mtb_start(r);
  OL.t0 = mtb_now_ns() + 1e6;
  for (long i = 0; i < OL.n; i++) {
    ol_wait_due(i);
    jobs[i].arg = i;
    pq_push(&q, &jobs[i]);
  }
  pq_stop(&q); /* the workers drain the queue before they stop */
  mtb_stop(r);
  free(jobs);
  ol_finish(r);
}

int main(void) {
  N = (long)(1000000 * mtb_scale());
  N_LAT = (long)(10000 * mtb_scale());
  N_PCT = N_LAT / 2;
  LAT = malloc(sizeof *LAT * (size_t)N_PCT);
  SPIN = fp_spin_rounds();
  void *spin = (void *)(intptr_t)SPIN;
  char args[64];

  mtb_row_t row = {"futures submit-all+collect", "tasks/s", true, 0,
                   (uint64_t)N * (uint64_t)(N - 1)};
  mtb_side_t tp[] = {{"ours", ours_throughput, NULL},
                     {"GThreadPool(2)", glib_throughput, NULL},
                     {"pthread mutex/cond queue", pq_throughput, NULL},
                     {"pthread queue + our spin policy", pq_throughput, spin}};
  mtb_compare(&row, tp, 4);
  snprintf(args, sizeof args, "submit %ld %d", N / 20, W);
  mtb_python_row(row.bench, row.unit, true, mtb_last_ours(), "Python TPE(2), N/20",
                 "futures_pool.py", args);

  row = (mtb_row_t){"futures submit->result one at a time", "calls/s", true, 0,
                    (uint64_t)N_LAT * (uint64_t)(N_LAT - 1)};
  mtb_side_t lat[] = {{"ours", ours_latency, NULL},
                      {"GThreadPool(2)+GCond", glib_latency, NULL},
                      {"pthread mutex/cond queue", pq_latency, NULL},
                      {"pthread queue + our spin policy", pq_latency, spin}};
  mtb_cap_reps(5); /* the time budget (above) */
  mtb_compare(&row, lat, 4);
  mtb_cap_reps(0);
  snprintf(args, sizeof args, "latency %ld %d", N_LAT / 10, W);
  mtb_python_row(row.bench, row.unit, true, mtb_last_ours(), "Python TPE(2), N/10",
                 "futures_pool.py", args);

  /* map: the same N doubled, in order, vs submitting them all to GThreadPool */
  row = (mtb_row_t){"futures map", "items/s", true, 0, (uint64_t)N * (uint64_t)(N - 1)};
  mtb_side_t map[] = {{"ours", ours_map, NULL}, {"GThreadPool(2) push all", glib_throughput, NULL}};
  mtb_compare(&row, map, 2);
  snprintf(args, sizeof args, "map %ld %d", N / 20, W);
  mtb_python_row(row.bench, row.unit, true, mtb_last_ours(), "Python executor.map, N/20",
                 "futures_pool.py", args);

  /* Open loop at 50% and 90% of capacity: the slower side's rate in a
   * flood of the same loop (period 0: every task due at once, 1 ms after
   * the start); 0.25 s of load, 5 repetitions (the time budget). */
  if (!mtb_wanted("futures submit->run open loop 50% of capacity") &&
      !mtb_wanted("futures submit->run open loop 90% of capacity"))
    return 0;
  double capacity = 0;
  OL.period = 0;
  OL.n = (long)(200000 * mtb_scale());
  if (OL.n < 1000) OL.n = 1000;
  OL.lat = malloc(sizeof *OL.lat * (size_t)OL.n);
  OL.res = malloc(sizeof *OL.res * (size_t)OL.n);
  for (int side = 0; side < 2; side++) {
    mtb_run_t fr = {0};
    if (side == 0) ours_open_loop(NULL, &fr);
    else pq_open_loop(spin, &fr);
    double rate = fr.wall > 1e-3 ? (double)OL.n / (fr.wall - 1e-3) : 0;
    if (fr.sum != (uint64_t)OL.n * (uint64_t)(OL.n - 1)) rate = 0; /* a wrong result: no figure */
    printf("(open loop capacity, flood of %ld tasks: %s %.3g tasks/s)\n", OL.n,
           side == 0 ? "ours" : "pthread queue + our spin policy", rate);
    if (side == 0 || rate < capacity) capacity = rate;
  }
  free(OL.lat);
  free(OL.res);
  for (int pct = 50; pct <= 90; pct += 40) {
    OL.rate = capacity * pct / 100;
    if (OL.rate < 1e3) OL.rate = 1e3;
    OL.period = 1e9 / OL.rate;
    OL.n = (long)(OL.rate * 0.25 * mtb_scale());
    if (OL.n < 1000) OL.n = 1000;
    OL.lat = malloc(sizeof *OL.lat * (size_t)OL.n);
    OL.res = malloc(sizeof *OL.res * (size_t)OL.n);
    char name[96];
    snprintf(name, sizeof name, "futures submit->run open loop %d%% of capacity", pct);
    row = (mtb_row_t){name, "ns p99", false, 1e9, (uint64_t)OL.n * (uint64_t)(OL.n - 1)};
    mtb_side_t ol[] = {{"ours", ours_open_loop, NULL},
                       {"pthread queue + our spin policy", pq_open_loop, spin}};
    printf("(open loop: %.3g tasks/s offered, %ld tasks)\n", OL.rate, OL.n);
    mtb_cap_reps(5);
    mtb_compare_p99(&row, ol, 2);
    mtb_cap_reps(0);
    free(OL.lat);
    free(OL.res);
  }
  return 0;
}
