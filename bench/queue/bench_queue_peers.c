/* In-process bounded queues against Concurrency Kit's ck_ring (libck-dev),
 * alternating run by run (harness.h), plus put->get latency under an
 * open-loop load.  oneTBB's concurrent_bounded_queue is in bench_queue_tbb.cpp.
 *
 * How ck_ring is made a fair peer.  ck_ring never blocks (enqueue fails when
 * full, dequeue when empty) and holds pointers.  Ours (mt_queue_t) blocks
 * with the policy of src/queue/queue.c park(): spin mt__spin_rounds() polls
 * (2000 `pause` rounds when spinning pays, else 0: one CPU or a cgroup CPU
 * quota below 1.9 CPUs, src/wait/wait.c) on a sequence word bumped by every
 * put/get, then sleep in the kernel until woken.  The wrapper below gives
 * ck_ring exactly that: a failed enqueue spins fp_spin_rounds() (which IS
 * mt__spin_rounds(), fairpeer.h) on
 * a "gets" sequence word, then sleeps on a pthread condition; a dequeue does
 * the same on a "puts" word.  A waker takes the mutex only when somebody
 * sleeps (a Dekker pair: waiter counts itself, then re-checks the word; waker
 * bumps the word, then reads the count; both sequentially consistent).
 *
 * Payloads, the same way on both sides: "8 B" is the item pointer itself
 * (value i+1 cast to a pointer); "1 KiB" is a malloc'd 1024-byte block the
 * producer fills (its index in the first word, a pattern after) and the
 * consumer checks, sums and frees.  Both queues carry pointers, as ours does
 * in-process (mt_queue_t items are void *).
 *
 * Rows: SPSC and MPMC 4 producers x 4 consumers (2 cores: oversubscribed,
 * which is where the park half of the policy matters), capacity 1024;
 * checksum = sum of the delivered values.  Latency: one producer issues items
 * on a fixed schedule (open loop: latency counted from the scheduled time, so
 * a stall is not hidden) at 50% and 90% of ours' measured SPSC capacity, the
 * same rate for both sides; the consumer records now - scheduled. */
#include <ck_ring.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <multitask.h>

#include "fairpeer.h"
#include "harness.h"

enum { CAP = 1024, BIG = 1024 };

/* ---- ck_ring with our spin-then-park policy ---------------------------- */

/* Cache lines (docs/benchmarks.md): ck_ring pads its consumer and
 * producer words apart; our sequence words get a line each, and the
 * sleepers, mutex and conditions (written only around a sleep) theirs, so
 * no word bumped at every operation shares a line with the ring's
 * read-only size/mask/buf. */
typedef struct {
  ck_ring_t ring;
  ck_ring_buffer_t *buf;
  bool mpmc;
  _Alignas(64) uint32_t puts; /* sequence words: bumped by every enqueue / dequeue */
  _Alignas(64) uint32_t gets;
  _Alignas(64) int sleep_put, sleep_get;
  pthread_mutex_t m;
  pthread_cond_t not_full, not_empty;
} ckq_t;

static int SPIN;

static void ckq_init(ckq_t *q, bool mpmc) {
  memset(q, 0, sizeof *q);
  q->buf = calloc(CAP, sizeof *q->buf);
  ck_ring_init(&q->ring, CAP);
  q->mpmc = mpmc;
  pthread_mutex_init(&q->m, NULL);
  pthread_cond_init(&q->not_full, NULL);
  pthread_cond_init(&q->not_empty, NULL);
}
static void ckq_destroy(ckq_t *q) {
  free(q->buf);
  pthread_mutex_destroy(&q->m);
  pthread_cond_destroy(&q->not_full);
  pthread_cond_destroy(&q->not_empty);
}

/* After a successful operation: bump our word, wake a sleeper if any. */
static void ckq_signal(ckq_t *q, uint32_t *word, int *sleepers, pthread_cond_t *c) {
  __atomic_add_fetch(word, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(sleepers, __ATOMIC_SEQ_CST)) {
    pthread_mutex_lock(&q->m);
    pthread_cond_broadcast(c);
    pthread_mutex_unlock(&q->m);
  }
}

/* The failed side: spin on the partner's word, then sleep until it moves. */
static void ckq_park(ckq_t *q, uint32_t *word, uint32_t seen, int *sleepers, pthread_cond_t *c) {
  if (fp_spin_changed(word, seen, SPIN)) return;
  pthread_mutex_lock(&q->m);
  __atomic_add_fetch(sleepers, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(word, __ATOMIC_SEQ_CST) == seen) pthread_cond_wait(c, &q->m);
  __atomic_sub_fetch(sleepers, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&q->m);
}

static void ckq_put(ckq_t *q, void *v) {
  for (;;) {
    uint32_t seen = __atomic_load_n(&q->gets, __ATOMIC_SEQ_CST);
    bool ok = q->mpmc ? ck_ring_enqueue_mpmc(&q->ring, q->buf, v)
                      : ck_ring_enqueue_spsc(&q->ring, q->buf, v);
    if (ok) return ckq_signal(q, &q->puts, &q->sleep_get, &q->not_empty);
    ckq_park(q, &q->gets, seen, &q->sleep_put, &q->not_full);
  }
}

static void *ckq_get(ckq_t *q) {
  for (;;) {
    uint32_t seen = __atomic_load_n(&q->puts, __ATOMIC_SEQ_CST);
    void *v;
    bool ok = q->mpmc ? ck_ring_dequeue_mpmc(&q->ring, q->buf, &v)
                      : ck_ring_dequeue_spsc(&q->ring, q->buf, &v);
    if (ok) {
      ckq_signal(q, &q->gets, &q->sleep_put, &q->not_full);
      return v;
    }
    ckq_park(q, &q->puts, seen, &q->sleep_get, &q->not_empty);
  }
}

/* ---- the work, shared by both sides ------------------------------------ */

typedef struct {
  bool big;        /* 1 KiB payloads */
  int producers;   /* consumers: the same number */
  long n;          /* items in all */
  const char *name;
} cfg_t;

typedef struct {
  const cfg_t *c;
  void *q;          /* mt_queue_t * or ckq_t * */
  bool ours;
  long from, to;    /* producer: item range */
  long count;       /* consumer: items to take */
  uint64_t sum;
} worker_t;

static void qput(worker_t *w, void *v) {
  if (w->ours) mt_queue_put(w->q, v, MT_FOREVER);
  else ckq_put(w->q, v);
}
static void *qget(worker_t *w) {
  if (!w->ours) return ckq_get(w->q);
  void *v = NULL;
  mt_queue_get(w->q, &v, MT_FOREVER);
  return v;
}

static void *make_item(bool big, long i) {
  if (!big) return (void *)(intptr_t)(i + 1);
  uint64_t *b = malloc(BIG);
  b[0] = (uint64_t)i + 1;
  memset(b + 1, (int)(i & 0xff), BIG - sizeof *b);
  return b;
}
static uint64_t take_item(bool big, void *v) {
  if (!big) return (uint64_t)(intptr_t)v;
  const uint64_t *b = v;
  const unsigned char *p = (const unsigned char *)(b + 1);
  uint64_t x = b[0];
  /* read the whole payload: a wrong byte breaks the checksum */
  if (p[0] != (unsigned char)((x - 1) & 0xff) || p[BIG - 9] != p[0]) x = 0;
  free(v);
  return x;
}

static void *producer(void *arg) {
  worker_t *w = arg;
  for (long i = w->from; i < w->to; i++) qput(w, make_item(w->c->big, i));
  return NULL;
}
static void *consumer(void *arg) {
  worker_t *w = arg;
  uint64_t sum = 0; /* stored once: the w[] slots share lines */
  for (long i = 0; i < w->count; i++) sum += take_item(w->c->big, qget(w));
  w->sum = sum;
  return NULL;
}

static void run_side(const cfg_t *c, bool ours, mtb_run_t *r) {
  mt_queue_t *mq = NULL;
  ckq_t ck;
  void *q;
  if (ours) q = mq = mt_queue_new(CAP);
  else ckq_init(&ck, c->producers > 1), q = &ck;
  int p = c->producers;
  worker_t w[16];
  pthread_t t[16];
  mtb_start(r);
  for (int i = 0; i < p; i++) {
    w[i] = (worker_t){c, q, ours, c->n * i / p, c->n * (i + 1) / p, 0, 0};
    w[p + i] = (worker_t){c, q, ours, 0, 0, c->n * (i + 1) / p - c->n * i / p, 0};
  }
  for (int i = 0; i < 2 * p; i++) pthread_create(&t[i], NULL, i < p ? producer : consumer, &w[i]);
  uint64_t sum = 0;
  for (int i = 0; i < 2 * p; i++) pthread_join(t[i], NULL), sum += w[i].sum;
  mtb_stop(r);
  if (ours) mt_queue_free(mq);
  else ckq_destroy(&ck);
  r->ops = c->n, r->sum = sum;
}
static void run_ours(void *arg, mtb_run_t *r) { run_side(arg, true, r); }
static void run_ck(void *arg, mtb_run_t *r) { run_side(arg, false, r); }

/* ---- open-loop latency ------------------------------------------------- */

typedef struct {
  bool ours;
  void *q;
  long n;
  double t0, period; /* ns: item i is due at t0 + i * period */
  double *lat;
  uint64_t sum;
} ol_t;

static void *ol_consumer(void *arg) {
  ol_t *o = arg;
  worker_t w = {.q = o->q, .ours = o->ours};
  double t0 = o->t0, period = o->period; /* read once (cache lines, as above) */
  uint64_t sum = 0;
  for (long k = 0; k < o->n; k++) {
    long i = (long)(intptr_t)qget(&w) - 1;
    o->lat[i] = mtb_now_ns() - (t0 + (double)i * period);
    sum += (uint64_t)i + 1;
  }
  o->sum = sum;
  return NULL;
}

static double ol_rate; /* items/s offered */
static long ol_n;

static void run_open_loop(bool ours, mtb_run_t *r) {
  mt_queue_t *mq = NULL;
  ckq_t ck;
  ol_t o = {.ours = ours, .n = ol_n, .period = 1e9 / ol_rate};
  if (ours) o.q = mq = mt_queue_new(CAP);
  else ckq_init(&ck, false), o.q = &ck;
  o.lat = malloc(sizeof *o.lat * (size_t)ol_n);
  worker_t w = {.q = o.q, .ours = ours};
  pthread_t t;
  mtb_start(r);
  o.t0 = mtb_now_ns() + 1e6; /* first item due in 1 ms: the consumer is up by then */
  pthread_create(&t, NULL, ol_consumer, &o);
  double t0 = o.t0, period = o.period; /* locals: the consumer writes o's line */
  for (long i = 0; i < ol_n; i++) {
    double due = t0 + (double)i * period;
    while (mtb_now_ns() < due) fp_pause(); /* open loop: never wait for the consumer */
    qput(&w, (void *)(intptr_t)(i + 1));
  }
  pthread_join(t, NULL);
  mtb_stop(r);
  mtb_latency(r, o.lat, ol_n);
  free(o.lat);
  if (ours) mt_queue_free(mq);
  else ckq_destroy(&ck);
  r->ops = ol_n, r->sum = o.sum;
}
static void ol_ours(void *a, mtb_run_t *r) { (void)a, run_open_loop(true, r); }
static void ol_ck(void *a, mtb_run_t *r) { (void)a, run_open_loop(false, r); }

int main(void) {
  SPIN = fp_spin_rounds();
  double s = mtb_scale();
  /* Time budget (make bench: <= 90 s per program): 10^6 8 B items, 2 x 10^5
   * 1 KiB items and 7 repetitions of the open-loop rows took 102 s at a load
   * of 7-12 on the 2 cores (ck_ring's 1 KiB SPSC ran at 1.1e5 items/s, and an
   * open-loop run lasts ~1 s when the consumer falls behind).  So 10^5 1 KiB
   * items, and the open-loop rows run 5 repetitions. */
  long n = (long)(1000000 * s), nb = (long)(100000 * s);
  const cfg_t cfgs[] = {
      {false, 1, n, "queue SPSC 8B cap 1024"},
      {true, 1, nb, "queue SPSC 1KiB cap 1024"},
      {false, 4, n, "queue MPMC 4x4 8B cap 1024"},
      {true, 4, nb, "queue MPMC 4x4 1KiB cap 1024"},
  };
  double spsc_capacity = 0;
  for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++) {
    const cfg_t *c = &cfgs[i];
    mtb_row_t row = {c->name, "items/s", true, 0, (uint64_t)c->n * (uint64_t)(c->n + 1) / 2};
    mtb_side_t sides[] = {{"ours", run_ours, (void *)c},
                          {"ck_ring + spin-then-park", run_ck, (void *)c}};
    mtb_compare(&row, sides, 2);
    if (i == 0) spsc_capacity = mtb_last_ours();
  }
  /* Open loop at 50% and 90% of ours' SPSC capacity, capped at 2e6/s: the
   * producer's clock reads (~20 ns each) must stay small beside the period.
   * With the SPSC row filtered out (MT_BENCH_ROWS) its capacity comes from
   * one unrecorded run of ours (an offered rate of 0 never ended). */
  for (int pct = 50; pct <= 90; pct += 40) {
    char name[96];
    snprintf(name, sizeof name, "queue put->get open loop %d%% of capacity", pct);
    if (spsc_capacity <= 0 && mtb_wanted(name)) {
      mtb_run_t one = {0};
      run_ours((void *)&cfgs[0], &one);
      if (one.sum != (uint64_t)cfgs[0].n * (uint64_t)(cfgs[0].n + 1) / 2) {
        fprintf(stderr, "queue peers: the capacity run summed %llu: items lost\n",
                (unsigned long long)one.sum);
        exit(1);
      }
      spsc_capacity = one.wall > 0 ? (double)one.ops / one.wall : 1e6;
    }
    ol_rate = spsc_capacity * pct / 100;
    if (ol_rate > 2e6) ol_rate = 2e6;
    ol_n = (long)(ol_rate * 0.5 * s); /* 0.5 s of load */
    if (ol_n < 1000) ol_n = 1000;
    mtb_row_t row = {name, "ns p99", false, 1e9, (uint64_t)ol_n * (uint64_t)(ol_n + 1) / 2};
    mtb_side_t sides[] = {{"ours", ol_ours, NULL}, {"ck_ring + spin-then-park", ol_ck, NULL}};
    if (mtb_wanted(name)) printf("(open loop: %.3g items/s offered, %ld items)\n", ol_rate, ol_n);
    mtb_cap_reps(5); /* the time budget (above) */
    mtb_compare_p99(&row, sides, 2);
    mtb_cap_reps(0);
  }
  return 0;
}
