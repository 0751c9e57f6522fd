/* Ours against oneTBB (libtbb-dev), alternating run by run (harness.h):
 *   1. MPMC 4 producers x 4 consumers through a bounded queue of 1024,
 *      8 B and 1 KiB payloads: mt_queue_t vs tbb::concurrent_bounded_queue
 *      (push/pop block when full/empty; TBB's own waiting policy: it spins
 *      briefly with backoff, then sleeps on its concurrent monitor).
 *      Payloads as in bench_queue_peers.c: 8 B = the pointer itself (i+1),
 *      1 KiB = a malloc'd block filled by the producer, checked and freed by
 *      the consumer.  Checksum: the sum of the delivered values.
 *   2. Executor throughput: submit N trivial tasks (each stores 2i), then
 *      wait for all: our thread pool with 2 workers (collecting every future)
 *      vs tbb::task_group in a task_arena of concurrency 2.  Note: in TBB the
 *      waiting caller takes part in running tasks (it is one of the 2
 *      threads); ours' caller only collects results.
 * A C++ file because oneTBB is a C++ library; multitask.h is extern "C". */
#include <oneapi/tbb/concurrent_queue.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <thread>
#include <vector>

extern "C" {
#include <multitask.h>

#include "harness.h"
}

enum { CAP = 1024, BIG = 1024, P = 4 };

struct cfg_t {
  bool big;
  long n;
  const char *name;
};

static void *make_item(bool big, long i) {
  if (!big) return (void *)(intptr_t)(i + 1);
  uint64_t *b = (uint64_t *)malloc(BIG);
  b[0] = (uint64_t)i + 1;
  memset(b + 1, (int)(i & 0xff), BIG - sizeof *b);
  return b;
}
static uint64_t take_item(bool big, void *v) {
  if (!big) return (uint64_t)(intptr_t)v;
  const uint64_t *b = (const uint64_t *)v;
  const unsigned char *p = (const unsigned char *)(b + 1);
  uint64_t x = b[0];
  if (p[0] != (unsigned char)((x - 1) & 0xff) || p[BIG - 9] != p[0]) x = 0;
  free(v);
  return x;
}

template <class Put, class Get>
static uint64_t mpmc(const cfg_t *c, Put put, Get get) {
  std::vector<std::thread> t;
  uint64_t sums[P] = {0};
  for (int i = 0; i < P; i++) {
    long from = c->n * i / P, to = c->n * (i + 1) / P;
    t.emplace_back([=] {
      for (long k = from; k < to; k++) put(make_item(c->big, k));
    });
    t.emplace_back([=, &sums] {
      uint64_t s = 0;
      for (long k = from; k < to; k++) s += take_item(c->big, get());
      sums[i] = s;
    });
  }
  for (auto &x : t) x.join();
  uint64_t s = 0;
  for (int i = 0; i < P; i++) s += sums[i];
  return s;
}

static void ours_mpmc(void *arg, mtb_run_t *r) {
  const cfg_t *c = (const cfg_t *)arg;
  mt_queue_t *q = mt_queue_new(CAP);
  mtb_start(r);
  uint64_t s = mpmc(
      c, [q](void *v) { mt_queue_put(q, v, MT_FOREVER); },
      [q]() {
        void *v = NULL;
        mt_queue_get(q, &v, MT_FOREVER);
        return v;
      });
  mtb_stop(r);
  mt_queue_free(q);
  r->ops = c->n, r->sum = s;
}

static void tbb_mpmc(void *arg, mtb_run_t *r) {
  const cfg_t *c = (const cfg_t *)arg;
  tbb::concurrent_bounded_queue<void *> q;
  q.set_capacity(CAP);
  mtb_start(r);
  uint64_t s = mpmc(
      c, [&q](void *v) { q.push(v); },
      [&q]() {
        void *v = NULL;
        q.pop(v);
        return v;
      });
  mtb_stop(r);
  r->ops = c->n, r->sum = s;
}

/* ---- executor throughput ----------------------------------------------- */

static long N;

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * 2);
  return 0;
}

static void ours_exec(void *, mtb_run_t *r) {
  mt_thread_pool_opts_t o;
  memset(&o, 0, sizeof o); /* MT_THREAD_POOL_OPTS_INIT's effect (C++17 has no designated initializers) */
  o.size = sizeof o;
  o.max_workers = 2;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  std::vector<mt_future_t *> fs((size_t)N);
  uint64_t sum = 0;
  mtb_start(r);
  for (long i = 0; i < N; i++) mt_executor_submit(ex, twice, (void *)(intptr_t)i, &fs[(size_t)i]);
  for (long i = 0; i < N; i++) {
    mt_value_t v;
    if (mt_future_result(fs[(size_t)i], MT_FOREVER, &v) == 0) sum += (uint64_t)(intptr_t)v.ptr;
    mt_future_free(fs[(size_t)i]);
  }
  mtb_stop(r);
  mt_executor_free(ex);
  r->ops = N, r->sum = sum;
}

static void tbb_exec(void *, mtb_run_t *r) {
  tbb::task_arena arena(2);
  std::vector<intptr_t> res((size_t)N);
  arena.initialize();
  mtb_start(r);
  arena.execute([&] {
    tbb::task_group tg;
    for (long i = 0; i < N; i++) tg.run([&res, i] { res[(size_t)i] = 2 * i; });
    tg.wait();
  });
  uint64_t sum = 0;
  for (long i = 0; i < N; i++) sum += (uint64_t)res[(size_t)i];
  mtb_stop(r);
  r->ops = N, r->sum = sum;
}

int main(void) {
  double s = mtb_scale();
  /* Time budget (make bench: <= 90 s per program): at 10^6 8 B / 2 x 10^5
   * 1 KiB items the program took 136 s at a load of 12-23 on the 2 cores,
   * 86 s of it in the 8 B row (oneTBB's bounded queue ran at 8e4 items/s
   * with 8 threads on 2 cores there).  So 2.5 x 10^5 and 10^5 items. */
  long n = (long)(250000 * s), nb = (long)(100000 * s);
  const cfg_t cfgs[] = {{false, n, "queue MPMC 4x4 8B cap 1024"},
                        {true, nb, "queue MPMC 4x4 1KiB cap 1024"}};
  for (const cfg_t &c : cfgs) {
    mtb_row_t row = {c.name, "items/s", true, 0, (uint64_t)c.n * (uint64_t)(c.n + 1) / 2};
    mtb_side_t sides[] = {{"ours", ours_mpmc, (void *)&c},
                          {"oneTBB concurrent_bounded_queue", tbb_mpmc, (void *)&c}};
    mtb_compare(&row, sides, 2);
  }
  N = (long)(200000 * s);
  mtb_row_t row = {"executor submit-all+collect (2 threads)", "tasks/s", true, 0,
                   (uint64_t)N * (uint64_t)(N - 1)};
  mtb_side_t sides[] = {{"ours", ours_exec, NULL}, {"oneTBB task_group", tbb_exec, NULL}};
  mtb_compare(&row, sides, 2);
  return 0;
}
