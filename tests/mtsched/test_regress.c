/* Regression tests for simulator defects of issue 17 (each failed before
 * its fix): boost + allotment charging the stopped slice to the fresh
 * allotment (overlapping slices, the clock going back), a boost during a
 * context switch livelocking, the next-boost computation overflowing
 * (UBSan) and runs ending far below 2^63-1 reported as passing it. */
#include "sched_test.h"

#include <unistd.h>

/* The chart tiles [first arrival, last finish] with no overlap and every
 * process's slices sum to its CPU time. */
static void tiles(const run_t *x) {
  int64_t t = x->r.first_arrival;
  int64_t *ran = calloc(x->w.n, sizeof *ran);
  for (size_t i = 0; i < x->r.ngantt; i++) {
    const ms_slice_t *g = &x->r.gantt[i];
    if (g->start != t || g->end <= g->start) {
      char *s = run_gantt(x);
      fail_msg("slice %zu does not follow at %lld: %s", i, (long long)t, s);
    }
    t = g->end;
    if (g->proc >= 0) ran[g->proc] += g->end - g->start;
  }
  assert_int_equal(t, x->r.last_finish);
  for (size_t i = 0; i < x->w.n; i++) assert_int_equal(ran[i], x->w.procs[i].cpu_total);
  free(ran);
}

/* issue 17: `J0 0 20` -p mlfq --queues 2 --quanta 1,4 --allotment 1,4
 * --boost 6 printed |J0 0-6|J0 2-12|J0 3-18|J0 4-20|. */
static void boost_with_allotment(void **state) {
  (void)state;
  run_t *x = run_new("J0 0 20\n", "mlfq:queues=2:quanta=1,4:allotment=1,4:boost=6");
  char *g = run_gantt(x);
  assert_string_equal(g, "|J0 0-20|");
  free(g);
  tiles(x);
  run_free(x);
  /* two processes: the stopped slice is charged to the old level, then the
   * usage is reset (hand-computed) */
  x = run_new("A 0 9\nB 0 9\n", "mlfq:queues=2:quanta=1,4:allotment=2:boost=5");
  tiles(x);
  g = run_gantt(x);
  assert_string_equal(g, "|A 0-1|B 1-2|A 2-3|B 3-4|A 4-5|B 5-6|A 6-7|B 7-8|A 8-9|B 9-10|A 10-11|B 11-12|A 12-13|B 13-14|"
                      "A 14-15|B 15-16|A 16-17|B 17-18|");
  free(g);
  run_free(x);
}

/* issue 17: J0 0 7 + J1 0 5, mlfq --boost 3 --cs 3 never ended: the
 * process being switched in was boosted away before its first tick. */
static void boost_during_switch(void **state) {
  (void)state;
  alarm(20); /* the unfixed simulator loops forever (and grows memory) */
  run_t *x = run_new("J0 0 7\nJ1 0 5\n", "mlfq:boost=3:cs=3");
  tiles(x);
  char *g = run_gantt(x);
  /* hand-computed: the switch 1-4 spans the boost at 3, J1 keeps the CPU
   * at level 0; each switch is followed by one tick of work */
  assert_string_equal(g, "|J0 0-1|cs 1-4|J1 4-5|cs 5-8|J0 8-9|cs 9-12|J1 12-13|cs 13-16|J0 16-17|"
                         "cs 17-20|J1 20-21|cs 21-24|J0 24-25|cs 25-28|J1 28-29|cs 29-32|J0 32-33|"
                         "cs 33-36|J1 36-37|cs 37-40|J0 40-42|");
  free(g);
  run_free(x);
  alarm(0);
}

/* issue 17: arrival 2^62 with --boost 2^62 computed the next boost as
 * 2 * 2^62 (signed overflow, UBSan) and a run that ends at 2^62 + 5 was
 * reported as passing 2^63-1. */
static void boost_near_int64_max(void **state) {
  (void)state;
  run_t *x = run_new("A 4611686018427387904 5\n", "mlfq:boost=4611686018427387904");
  assert_int_equal(x->r.ps[0].finish, 4611686018427387909LL);
  tiles(x);
  run_free(x);
  x = run_new("A 0 5\nB 4611686018427387904 5\n", "mlfq:boost=4611686018427387904");
  assert_int_equal(x->r.ps[1].finish, 4611686018427387909LL);
  tiles(x);
  run_free(x);
  x = run_new("A 9223372036854775000 7\nB 0 3\n", "mlfq:boost=3074457345618258602:cs=1");
  assert_int_equal(x->r.ps[0].finish, 9223372036854775008LL /* after a 1-tick switch */);
  tiles(x);
  run_free(x);
}

/* --cpus: the notes' Pool(3) of ten tasks (examples/sched/pool3.txt) under
 * FCFS on 3 CPUs finishes in the notes' order 0,2,4,3,6,5,1,8,7,9. */
static void pool3_completion_order(void **state) {
  (void)state;
  size_t len;
  char *text = slurp(MTSCHED_TEST_DIR "/../../examples/sched/pool3.txt", &len);
  run_t *x = run_new(text, "fcfs:cpus=3");
  int order[10];
  for (int k = 0; k < 10; k++) order[k] = k;
  for (int a = 0; a < 10; a++) /* sort task numbers by finish time */
    for (int b = a + 1; b < 10; b++)
      if (x->r.ps[order[b]].finish < x->r.ps[order[a]].finish) {
        int t = order[a];
        order[a] = order[b];
        order[b] = t;
      }
  static const int notes[10] = {0, 2, 4, 3, 6, 5, 1, 8, 7, 9};
  assert_memory_equal(order, notes, sizeof notes);
  assert_int_equal(x->r.last_finish, 353);
  for (size_t i = 0; i < x->r.ngantt; i++) assert_true(x->r.gantt[i].cpu < 3);
  run_free(x);
  free(text);
}

/* --cpus preemption displaces the running process the policy ranks last,
 * ties to the lowest CPU number. */
static void cpus_preemption_victim(void **state) {
  (void)state;
  run_t *x = run_new("A 0 10\nB 0 8\nC 1 2\n", "srtf:cpus=2"); /* A has more left */
  assert_int_equal(x->r.ps[0].finish, 12);
  assert_int_equal(x->r.ps[1].finish, 8);
  assert_int_equal(x->r.ps[2].finish, 3);
  run_free(x);
  x = run_new("A 0 8\nB 0 10\nC 1 2\n", "srtf:cpus=2"); /* B (cpu 1) has more left */
  assert_int_equal(x->r.ps[0].finish, 8);
  assert_int_equal(x->r.ps[1].finish, 12);
  run_free(x);
  x = run_new("A 0 10\nB 0 10\nC 1 2\n", "srtf:cpus=2"); /* tie: cpu 0 (A) */
  assert_int_equal(x->r.ps[0].finish, 12);
  assert_int_equal(x->r.ps[1].finish, 10);
  run_free(x);
  x = run_new("A 0 5 3\nB 0 5 1\nC 1 5 2\n", "ppriority:cpus=2"); /* A (cpu 1) is worst: C takes cpu 1, A resumes on cpu 0 at 5 */
  assert_int_equal(x->r.ps[0].finish, 9);
  assert_int_equal(x->r.ps[1].finish, 5);
  assert_int_equal(x->r.ps[2].finish, 6);
  char *g = run_gantt(x);
  assert_string_equal(g, "|A 0-1|B 0-5|C 1-6|A 5-9|");
  free(g);
  run_free(x);
}

/* Random workloads on 2..4 CPUs under every policy: run_new checks the
 * per-CPU invariant (ms_check) after each run. */
static void cpus_invariants(void **state) {
  (void)state;
  static const char *const sp[] = {
      "fcfs:cpus=3", "sjf:cpus=2", "srtf:cpus=2:cs=1", "priority:cpus=3", "ppriority:aging=2:cpus=2",
      "hrrn:cpus=4", "rr:q=2:cpus=3:cs=1", "mlfq:boost=9:cpus=2:cs=1", "ppriority:cpus=3:cs=2",
      "mlfq:queues=2:quanta=1,4:allotment=1,4:boost=6:cpus=2", "mlfq:boost=3:cs=3:cpus=3"};
  long rounds = mt_test_scaled(200, 10);
  uint64_t rng = 7;
  for (long k = 0; k < rounds; k++) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ms_gen_opts_t o = {.n = 1 + (int64_t)(ms_splitmix64(&rng) % 20), .seed = k,
                       .max_arrival = k % 3 ? 30 : 0, .max_burst = 1 + k % 9, .io = k % 2};
    ms_gen(f, &o);
    fclose(f);
    for (size_t s = 0; s < sizeof sp / sizeof sp[0]; s++) run_free(run_new(buf, sp[s]));
    free(buf);
  }
}

/* --trace: replaying the log rebuilds the ready queues.  For the FIFO
 * policies (fcfs, rr, mlfq) every dispatch takes the head of the highest
 * non-empty queue of the replay, every process finishes once, and the
 * queues end empty; the text trace is capped. */
static void trace_replays(void **state) {
  (void)state;
  static const char *const sp[] = {"fcfs", "rr:q=2:cs=1", "mlfq:boost=5:cs=1",
                                   "mlfq:quanta=1,3:allotment=2,3:boost=7", "rr:q=3:cpus=2",
                                   "mlfq:boost=4:cpus=3:cs=2"};
  long rounds = mt_test_scaled(100, 5);
  for (long k = 0; k < rounds; k++) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ms_gen_opts_t o = {.n = 1 + k % 15, .seed = 100 + k, .max_arrival = 20, .max_burst = 8,
                       .io = k % 2};
    ms_gen(f, &o);
    fclose(f);
    for (size_t si = 0; si < sizeof sp / sizeof sp[0]; si++) {
      ms_workload_t w;
      ms_config_t c, base;
      ms_result_t r;
      char err[MS_ERRLEN];
      ms_config_init(&base);
      base.trace = true;
      assert_int_equal(ms_parse_workload(buf, len, "t", &w, err, sizeof err), 0);
      assert_int_equal(ms_config_from_spec(&base, sp[si], &c, err, sizeof err), 0);
      assert_int_equal(ms_simulate(&w, &c, &r, err, sizeof err), 0);
      assert_int_equal(ms_check(&r, err, sizeof err), 0);
      int32_t q[MS_MAX_QUEUES][16];
      int ql[MS_MAX_QUEUES] = {0}, levels = c.policy == MS_MLFQ ? c.queues : 1;
      size_t finished = 0;
      for (size_t i = 0; i < r.ntrace; i++) {
        const ms_trace_t *e = &r.trace[i];
        int l = e->level > 0 ? e->level : 0;
        if (i) assert_true(e->t >= r.trace[i - 1].t);
        switch (e->ev) {
        case MS_EV_ARRIVE: case MS_EV_IO_DONE: case MS_EV_EXPIRE: case MS_EV_PREEMPT:
          q[l][ql[l]++] = e->proc;
          break;
        case MS_EV_DISPATCH: {
          int top = 0;
          while (top < levels && !ql[top]) top++;
          assert_int_equal(top, l);
          assert_int_equal(q[l][0], e->proc);
          memmove(q[l], q[l] + 1, (size_t)--ql[l] * sizeof q[l][0]);
          break;
        }
        case MS_EV_BOOST:
          for (int m = 1; m < levels; m++) {
            memcpy(q[0] + ql[0], q[m], (size_t)ql[m] * sizeof q[0][0]);
            ql[0] += ql[m], ql[m] = 0;
          }
          break;
        case MS_EV_FINISH: finished++; break;
        default: break;
        }
      }
      assert_int_equal(finished, w.n);
      for (int m = 0; m < levels; m++) assert_int_equal(ql[m], 0);
      ms_result_free(&r);
      ms_workload_free(&w);
    }
    free(buf);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(boost_with_allotment),
      cmocka_unit_test(boost_during_switch),
      cmocka_unit_test(boost_near_int64_max),
      cmocka_unit_test(pool3_completion_order),
      cmocka_unit_test(cpus_preemption_victim),
      cmocka_unit_test(cpus_invariants),
      cmocka_unit_test(trace_replays),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
