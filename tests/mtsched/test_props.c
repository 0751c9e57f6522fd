/* Property tests on random workloads (mtsched gen's PRNG): every process
 * finishes, the Gantt chart tiles [first arrival, last finish] exactly, busy
 * time = sum of CPU bursts, waiting/response >= 0; SRTF <= SJF <= FCFS in
 * average waiting for CPU-only workloads arriving together; RR with a huge
 * quantum is FCFS; int64 extremes; cost grows with events, not ticks. */
#include "sched_test.h"

static char *gen_text(int64_t n, int64_t seed, int64_t max_arrival, int64_t max_burst, bool io) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ms_gen_opts_t o = {.n = n, .seed = seed, .max_arrival = max_arrival, .max_burst = max_burst,
                     .io = io};
  assert_int_equal(ms_gen(f, &o), 0);
  fclose(f);
  return buf;
}

static void check_invariants(const run_t *x) {
  const ms_workload_t *w = &x->w;
  const ms_result_t *r = &x->r;
  int64_t *ran = calloc(w->n, sizeof *ran);
  int64_t busy = 0, cs = 0, idle = 0, t = r->first_arrival;
  for (size_t i = 0; i < r->ngantt; i++) {
    const ms_slice_t *g = &r->gantt[i];
    assert_int_equal(g->start, t); /* contiguous, no overlap */
    assert_true(g->end > g->start);
    t = g->end;
    if (g->proc >= 0) {
      ran[g->proc] += g->end - g->start;
      busy += g->end - g->start;
      assert_true(g->start >= w->procs[g->proc].arrival);
      assert_true(g->end <= r->ps[g->proc].finish);
    } else if (g->proc == MS_CS) {
      cs += g->end - g->start;
    } else {
      idle += g->end - g->start;
    }
  }
  assert_int_equal(t, r->last_finish);
  assert_int_equal(busy, r->busy);
  assert_int_equal(cs, r->cs_time);
  assert_int_equal(idle, r->idle_time);
  assert_int_equal(busy + cs + idle, r->makespan);
  int64_t cpu = 0;
  for (size_t i = 0; i < w->n; i++) {
    const ms_proc_t *p = &w->procs[i];
    const ms_pstat_t *s = &r->ps[i];
    cpu += p->cpu_total;
    assert_int_equal(ran[i], p->cpu_total); /* every process finished its work */
    assert_true(s->finish >= p->arrival + p->cpu_total + p->io_total);
    assert_true(s->waiting >= 0);
    assert_true(s->response >= 0);
    assert_true(s->start >= p->arrival && s->start < s->finish);
    assert_int_equal(s->turnaround, s->finish - p->arrival);
  }
  assert_int_equal(busy, cpu);
  free(ran);
}

static const char *const specs[] = {
    "fcfs", "sjf", "srtf", "priority", "ppriority", "hrrn", "rr:q=1", "rr:q=3",
    "mlfq", "mlfq:queues=4:boost=17", "mlfq:quanta=2,3:allotment=5", "priority:aging=3",
    "ppriority:aging=2", "rr:q=2:cs=1", "srtf:cs=2", "mlfq:boost=9:cs=1",
    "ppriority:aging=1:cs=1", "hrrn:cs=3", "mlfq:queues=1", "mlfq:allotment=3:boost=20",
    "mlfq:queues=2:quanta=1,4:allotment=1,4:boost=6", "mlfq:boost=3:cs=3",
    "mlfq:quanta=2,3,5:allotment=4,6,1:boost=5:cs=1",
};

static void random_invariants(void **state) {
  (void)state;
  long rounds = mt_test_scaled(300, 10);
  for (long k = 0; k < rounds; k++) {
    char *text = gen_text(1 + k % 23, 1000 + k, k % 3 ? 30 : 0, 1 + k % 12, k % 2);
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
      run_t *x = run_new(text, specs[s]);
      check_invariants(x);
      run_free(x);
    }
    free(text);
  }
}

static void srtf_sjf_fcfs_order(void **state) {
  (void)state;
  long rounds = mt_test_scaled(500, 20);
  for (long k = 0; k < rounds; k++) {
    char *text = gen_text(2 + k % 30, 7 + k, 0, 1 + k % 50, false);
    run_t *f = run_new(text, "fcfs"), *j = run_new(text, "sjf"), *s = run_new(text, "srtf");
    assert_true(s->r.sum_waiting <= j->r.sum_waiting);
    assert_true(j->r.sum_waiting <= f->r.sum_waiting);
    run_free(f);
    run_free(j);
    run_free(s);
    free(text);
  }
}

static void rr_huge_quantum_is_fcfs(void **state) {
  (void)state;
  long rounds = mt_test_scaled(300, 10);
  for (long k = 0; k < rounds; k++) {
    char *text = gen_text(1 + k % 25, 99 + k, 40, 1 + k % 20, k % 2);
    const char *cs = k % 3 ? "" : ":cs=2";
    char a[64], b[64];
    snprintf(a, sizeof a, "fcfs%s", cs);
    snprintf(b, sizeof b, "rr:q=4611686018427387904%s", cs);
    run_t *f = run_new(text, a), *r = run_new(text, b);
    char *gf = run_gantt(f), *gr = run_gantt(r);
    assert_string_equal(gf, gr);
    assert_memory_equal(f->r.ps, r->r.ps, f->w.n * sizeof *f->r.ps);
    free(gf);
    free(gr);
    run_free(f);
    run_free(r);
    free(text);
  }
}

/* Times near 2^62: no overflow, exact sums, and the cost is a handful of
 * events even for RR q=1 over 2^62 ticks (lone quantum expiries skipped). */
static void huge_times(void **state) {
  (void)state;
  run_t *x = run_new("P1 0 4611686018427387904\nP2 4611686018427387904 4611686018427387903\n",
                     "rr:q=1");
  assert_int_equal(x->r.ps[1].finish, INT64_MAX);
  assert_true(x->r.sum_turnaround == (ms_i128)INT64_MAX);
  assert_true(x->r.events < 10);
  check_invariants(x);
  run_free(x);
  /* a lone process at the last MLFQ level runs until the next boost
   * (2^50 ticks apart): ~4 events per boost, 4096 boosts */
  x = run_new("A 0 4611686018427387904\n", "mlfq:boost=1125899906842624");
  assert_int_equal(x->r.ps[0].finish, 4611686018427387904LL);
  assert_true(x->r.events < 5 * 4096);
  check_invariants(x);
  run_free(x);
  /* three bursts of 2^62 pass 2^63-1: a clear error, not a wrap */
  const char *big = "A 0 4611686018427387904\nB 0 4611686018427387904\nC 0 4611686018427387904\n";
  ms_workload_t w;
  ms_config_t c;
  ms_result_t r;
  char err[MS_ERRLEN];
  assert_int_equal(ms_parse_workload(big, strlen(big), "big", &w, err, sizeof err), 0);
  ms_config_init(&c);
  assert_int_equal(ms_config_finish(&c, err, sizeof err), 0);
  assert_int_equal(ms_simulate(&w, &c, &r, err, sizeof err), MS_EINPUT);
  assert_non_null(strstr(err, "2^63-1"));
  ms_workload_free(&w);
}

/* 2000 processes of 10^15 ticks each: the loop runs O(processes) times. */
static void cost_is_events(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  for (int i = 0; i < 2000; i++) fprintf(f, "P%d %d 1000000000000000,7,5\n", i, i * 3);
  fclose(f);
  const char *const sp[] = {"fcfs", "sjf", "srtf", "priority", "hrrn", "ppriority", "rr:q=1000000000000000"};
  for (size_t s = 0; s < sizeof sp / sizeof sp[0]; s++) {
    run_t *x = run_new(buf, sp[s]);
    assert_true(x->r.events < 10 * 2000);
    run_free(x);
  }
  free(buf);
}

/* HRRN (a kinetic tournament in sim.c) against a plain O(n^2) reference
 * on CPU-only workloads: at each dispatch the largest (t - a + b) / b,
 * compared by exact cross-multiplication, ties to (arrival, line).  Times
 * up to 2^61 exercise the 128-bit certificate arithmetic. */
static void hrrn_matches_reference(void **state) {
  (void)state;
  long rounds = mt_test_scaled(400, 20);
  uint64_t rng = 42;
  for (long k = 0; k < rounds; k++) {
    int n = 1 + (int)(k % 60);
    int64_t scale = k % 4 == 3 ? (int64_t)1 << 52 : 1, maxa = 1 + (int64_t)(k % 7) * 20;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int64_t a[64], b[64], fin[64];
    for (int i = 0; i < n; i++) {
      a[i] = (int64_t)(ms_splitmix64(&rng) % (uint64_t)maxa) * scale;
      b[i] = (1 + (int64_t)(ms_splitmix64(&rng) % 12)) * scale + (int64_t)(ms_splitmix64(&rng) % 3);
      fprintf(f, "P%d %lld %lld\n", i, (long long)a[i], (long long)b[i]);
    }
    fclose(f);
    bool done[64] = {0};
    int64_t t = INT64_MAX;
    for (int i = 0; i < n; i++) t = a[i] < t ? a[i] : t;
    for (int left = n; left; left--) {
      int best = -1;
      for (int i = 0; i < n; i++) {
        if (done[i] || a[i] > t) continue;
        if (best < 0) { best = i; continue; }
        unsigned __int128 x = (unsigned __int128)(uint64_t)(t - a[i] + b[i]) * (uint64_t)b[best];
        unsigned __int128 y = (unsigned __int128)(uint64_t)(t - a[best] + b[best]) * (uint64_t)b[i];
        bool earlier = a[i] < a[best] || (a[i] == a[best] && i < best);
        if (x > y || (x == y && earlier)) best = i;
      }
      if (best < 0) { /* idle until the next arrival */
        int64_t nx = INT64_MAX;
        for (int i = 0; i < n; i++) if (!done[i] && a[i] < nx) nx = a[i];
        t = nx, left++;
        continue;
      }
      t += b[best];
      fin[best] = t;
      done[best] = true;
    }
    run_t *x = run_new(buf, "hrrn");
    for (int i = 0; i < n; i++) assert_int_equal(x->r.ps[i].finish, fin[i]);
    run_free(x);
    free(buf);
  }
}

/* Priority with aging (a min tree over deadlines in sim.c) against a plain
 * O(n^2) reference on CPU-only workloads: at each dispatch the smallest
 * p - floor((t - arrival) / A), ties to (arrival, line); priorities and
 * times up to 2^50 exercise the 128-bit deadlines. */
static void aging_matches_reference(void **state) {
  (void)state;
  long rounds = mt_test_scaled(400, 20);
  uint64_t rng = 4242;
  for (long k = 0; k < rounds; k++) {
    int n = 1 + (int)(k % 50);
    int64_t scale = k % 5 == 4 ? (int64_t)1 << 50 : 1, A = 1 + (int64_t)(k % 6);
    if (k % 7 == 6) A = (int64_t)1 << 40;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int64_t a[64], b[64], pr[64], fin[64];
    for (int i = 0; i < n; i++) {
      a[i] = (int64_t)(ms_splitmix64(&rng) % 40) * scale;
      b[i] = (1 + (int64_t)(ms_splitmix64(&rng) % 9)) * scale;
      pr[i] = (int64_t)(ms_splitmix64(&rng) % 12) - 3 - (k % 3 == 2 ? (int64_t)1 << 50 : 0);
      fprintf(f, "P%d %lld %lld %lld\n", i, (long long)a[i], (long long)b[i], (long long)pr[i]);
    }
    fclose(f);
    bool done[64] = {0};
    int64_t t = INT64_MAX;
    for (int i = 0; i < n; i++) t = a[i] < t ? a[i] : t;
    for (int left = n; left;) {
      int best = -1;
      ms_i128 be = 0;
      for (int i = 0; i < n; i++) {
        if (done[i] || a[i] > t) continue;
        ms_i128 e = (ms_i128)pr[i] - (t - a[i]) / A;
        bool earlier = best < 0 || a[i] < a[best] || (a[i] == a[best] && i < best);
        if (best < 0 || e < be || (e == be && earlier)) best = i, be = e;
      }
      if (best < 0) {
        int64_t nx = INT64_MAX;
        for (int i = 0; i < n; i++) if (!done[i] && a[i] < nx) nx = a[i];
        t = nx;
        continue;
      }
      t += b[best];
      fin[best] = t;
      done[best] = true;
      left--;
    }
    char spec[64];
    snprintf(spec, sizeof spec, "priority:aging=%lld", (long long)A);
    run_t *x = run_new(buf, spec);
    for (int i = 0; i < n; i++) assert_int_equal(x->r.ps[i].finish, fin[i]);
    run_free(x);
    free(buf);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(random_invariants),
      cmocka_unit_test(srtf_sjf_fcfs_order),
      cmocka_unit_test(rr_huge_quantum_is_fcfs),
      cmocka_unit_test(huge_times),
      cmocka_unit_test(cost_is_events),
      cmocka_unit_test(hrrn_matches_reference),
      cmocka_unit_test(aging_matches_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
