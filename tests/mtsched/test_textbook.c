/* Textbook examples with known answers, one per policy, written by hand from
 * the books (cited at each test) and checked exactly: the Gantt chart, each
 * process's finish/waiting time and the exact integer sums behind the
 * averages.  Abbreviations:
 *   OSC    Silberschatz, Galvin, Gagne, Operating System Concepts, 10th ed.,
 *          chapter 5 (CPU scheduling), section named at the test.
 *   OSIDP  Stallings, Operating Systems: Internals and Design Principles,
 *          9th ed., Table 9.4 (process set) and Table 9.5 / Figure 9.5
 *          (finish and turnaround times per policy).
 *   notes  the study notes 000 section 17 (MLFQ rules), hand-computed. */
#include "sched_test.h"

static const char *const osidp =
    "A 0 3\nB 2 6\nC 4 4\nD 6 5\nE 8 2\n"; /* OSIDP Table 9.4 */

static void expect(const run_t *x, const char *gantt, const char *const *names,
                   const int64_t *finish, const int64_t *waiting) {
  char *g = run_gantt(x);
  assert_string_equal(g, gantt);
  free(g);
  for (size_t i = 0; names[i]; i++) {
    size_t k = run_idx(x, names[i]);
    assert_int_equal(x->r.ps[k].finish, finish[i]);
    if (waiting) assert_int_equal(x->r.ps[k].waiting, waiting[i]);
  }
}

static void expect_sums(const run_t *x, int64_t turnaround, int64_t waiting) {
  assert_true(x->r.sum_turnaround == turnaround);
  assert_true(x->r.sum_waiting == waiting);
}

/* OSC 5.3.1 FCFS: P1 24, P2 3, P3 3 at 0 -> waiting 0, 24, 27, average 17;
 * in the order P2, P3, P1 the average is 3. */
static void osc_fcfs(void **state) {
  (void)state;
  run_t *x = run_new("P1 0 24\nP2 0 3\nP3 0 3\n", "fcfs");
  expect(x, "|P1 0-24|P2 24-27|P3 27-30|", (const char *[]){"P1", "P2", "P3", NULL},
         (int64_t[]){24, 27, 30}, (int64_t[]){0, 24, 27});
  assert_true(x->r.avg_waiting == 17.0);
  run_free(x);
  x = run_new("P2 0 3\nP3 0 3\nP1 0 24\n", "fcfs");
  assert_true(x->r.avg_waiting == 3.0);
  run_free(x);
}

/* OSC 5.3.2 SJF: P1 6, P2 8, P3 7, P4 3 -> P4 P1 P3 P2, average waiting 7. */
static void osc_sjf(void **state) {
  (void)state;
  run_t *x = run_new("P1 0 6\nP2 0 8\nP3 0 7\nP4 0 3\n", "sjf");
  expect(x, "|P4 0-3|P1 3-9|P3 9-16|P2 16-24|", (const char *[]){"P1", "P2", "P3", "P4", NULL},
         (int64_t[]){9, 24, 16, 3}, (int64_t[]){3, 16, 9, 0});
  assert_true(x->r.avg_waiting == 7.0);
  run_free(x);
}

/* OSC 5.3.2 preemptive SJF (SRTF): arrivals 0,1,2,3, bursts 8,4,9,5 ->
 * |P1 0-1|P2 1-5|P4 5-10|P1 10-17|P3 17-26|, average waiting 6.5. */
static void osc_srtf(void **state) {
  (void)state;
  run_t *x = run_new("P1 0 8\nP2 1 4\nP3 2 9\nP4 3 5\n", "srtf");
  expect(x, "|P1 0-1|P2 1-5|P4 5-10|P1 10-17|P3 17-26|",
         (const char *[]){"P1", "P2", "P3", "P4", NULL}, (int64_t[]){17, 5, 26, 10},
         (int64_t[]){9, 0, 15, 2});
  assert_true(x->r.avg_waiting == 6.5);
  run_free(x);
}

/* OSC 5.3.3 RR q=4: P1 24, P2 3, P3 3 -> waiting 6, 4, 7 (17/3 = 5.66). */
static void osc_rr(void **state) {
  (void)state;
  run_t *x = run_new("P1 0 24\nP2 0 3\nP3 0 3\n", "rr:q=4");
  expect(x, "|P1 0-4|P2 4-7|P3 7-10|P1 10-30|", (const char *[]){"P1", "P2", "P3", NULL},
         (int64_t[]){30, 7, 10}, (int64_t[]){6, 4, 7});
  expect_sums(x, 47, 17);
  run_free(x);
}

/* OSC 5.3.4 priority: bursts 10,1,2,1,5 with priorities 3,1,4,5,2 ->
 * P2 P5 P1 P3 P4, average waiting 8.2. */
static void osc_priority(void **state) {
  (void)state;
  run_t *x = run_new("P1 0 10 3\nP2 0 1 1\nP3 0 2 4\nP4 0 1 5\nP5 0 5 2\n", "priority");
  expect(x, "|P2 0-1|P5 1-6|P1 6-16|P3 16-18|P4 18-19|",
         (const char *[]){"P1", "P2", "P3", "P4", "P5", NULL}, (int64_t[]){16, 1, 18, 19, 6},
         (int64_t[]){6, 0, 16, 18, 1});
  assert_true(x->r.avg_waiting == 8.2);
  run_free(x);
  /* --priority-high flips the order: P4 P3 P1 P5 P2 */
  ms_workload_t w;
  ms_config_t c;
  ms_result_t r;
  char err[MS_ERRLEN];
  const char *text = "P1 0 10 3\nP2 0 1 1\nP3 0 2 4\nP4 0 1 5\nP5 0 5 2\n";
  assert_int_equal(ms_parse_workload(text, strlen(text), "t", &w, err, sizeof err), 0);
  ms_config_init(&c);
  c.policy = MS_PRIORITY;
  c.priority_high = true;
  assert_int_equal(ms_config_finish(&c, err, sizeof err), 0);
  assert_int_equal(ms_simulate(&w, &c, &r, err, sizeof err), 0);
  assert_int_equal(r.gantt[0].proc, 3);
  assert_int_equal(r.gantt[4].proc, 1);
  assert_int_equal(r.ps[1].finish, 19);
  ms_result_free(&r);
  ms_workload_free(&w);
}

/* OSC 5.3.4's process set with staggered arrivals 0..4 under preemptive
 * priority (hand-computed): P2 and P5 preempt P1 on arrival. */
static void osc_ppriority(void **state) {
  (void)state;
  run_t *x = run_new("P1 0 10 3\nP2 1 1 1\nP3 2 2 4\nP4 3 1 5\nP5 4 5 2\n", "ppriority");
  expect(x, "|P1 0-1|P2 1-2|P1 2-4|P5 4-9|P1 9-16|P3 16-18|P4 18-19|",
         (const char *[]){"P1", "P2", "P3", "P4", "P5", NULL}, (int64_t[]){16, 2, 18, 19, 9},
         (int64_t[]){6, 0, 14, 15, 0});
  expect_sums(x, 54, 35);
  run_free(x);
}

/* OSIDP Table 9.5: FCFS, RR q=1, RR q=4, SPN, SRT and HRRN finish times and
 * mean turnaround 8.60, 10.80, 10.00, 7.60, 7.20, 8.00. */
static void osidp_table(void **state) {
  (void)state;
  const char *const names[] = {"A", "B", "C", "D", "E", NULL};
  struct {
    const char *spec;
    int64_t finish[5];
    int64_t sum_turnaround;
  } t[] = {
      {"fcfs", {3, 9, 13, 18, 20}, 43},   {"rr:q=1", {4, 18, 17, 20, 15}, 54},
      {"rr:q=4", {3, 17, 11, 20, 19}, 50}, {"sjf", {3, 9, 15, 20, 11}, 38},
      {"srtf", {3, 15, 8, 20, 10}, 36},   {"hrrn", {3, 9, 13, 20, 15}, 40},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    run_t *x = run_new(osidp, t[i].spec);
    for (int k = 0; names[k]; k++)
      assert_int_equal(x->r.ps[run_idx(x, names[k])].finish, t[i].finish[k]);
    assert_true(x->r.sum_turnaround == t[i].sum_turnaround);
    assert_int_equal(x->r.makespan, 20);
    run_free(x);
  }
  /* the RR q=1 chart of Figure 9.5: an arrival at t enters before the
   * process whose quantum expires at t */
  run_t *x = run_new(osidp, "rr:q=1");
  char *g = run_gantt(x);
  assert_true(strncmp(g, "|A 0-2|B 2-3|A 3-4|B 4-5|C 5-6|B 6-7|D 7-8|", 42) == 0);
  free(g);
  run_free(x);
}

/* notes 000 section 17 MLFQ, queues 3, quanta 1,2,4 (hand-computed):
 * A 0/5, B 1/3, C 2/1: each first quantum demotes, C finishes in queue 1,
 * B finishes exactly at its queue-2 quantum. */
static void notes_mlfq(void **state) {
  (void)state;
  run_t *x = run_new("A 0 5\nB 1 3\nC 2 1\n", "mlfq");
  expect(x, "|A 0-1|B 1-2|C 2-3|A 3-5|B 5-7|A 7-9|", (const char *[]){"A", "B", "C", NULL},
         (int64_t[]){9, 7, 3}, (int64_t[]){4, 3, 0});
  run_free(x);
  /* a new arrival in queue 1 preempts A (queue 3) at t=4; A goes back to
   * the tail of its own queue with a fresh quantum */
  x = run_new("A 0 6\nB 4 2\n", "mlfq");
  expect(x, "|A 0-4|B 4-6|A 6-8|", (const char *[]){"A", "B", NULL}, (int64_t[]){8, 6},
         (int64_t[]){2, 0});
  assert_int_equal(x->r.context_switches, 2);
  run_free(x);
  /* OSTEP rule 5 (boost every 6 ticks), hand-computed: the expired B is
   * queued at t=6 before the boost lifts both to queue 1 in order A, B */
  x = run_new("A 0 8\nB 0 8\n", "mlfq:boost=6");
  expect(x, "|A 0-1|B 1-2|A 2-4|B 4-6|A 6-7|B 7-8|A 8-10|B 10-12|A 12-13|B 13-14|A 14-15|B 15-16|",
         (const char *[]){"A", "B", NULL}, (int64_t[]){15, 16}, NULL);
  run_free(x);
  x = run_new("A 0 8\nB 0 8\n", "mlfq");
  expect(x, "|A 0-1|B 1-2|A 2-4|B 4-6|A 6-10|B 10-14|A 14-15|B 15-16|",
         (const char *[]){"A", "B", NULL}, (int64_t[]){15, 16}, NULL);
  run_free(x);
}

/* Context-switch cost (hand-computed on OSC 5.3.3's set, cs = 1): paid on
 * each change of process, not for the first dispatch nor when P1 continues
 * alone; it is waiting time of the incoming process and neither busy nor
 * idle time. */
static void switch_cost(void **state) {
  (void)state;
  run_t *x = run_new("P1 0 24\nP2 0 3\nP3 0 3\n", "rr:q=4:cs=1");
  expect(x, "|P1 0-4|cs 4-5|P2 5-8|cs 8-9|P3 9-12|cs 12-13|P1 13-33|",
         (const char *[]){"P1", "P2", "P3", NULL}, (int64_t[]){33, 8, 12}, (int64_t[]){9, 5, 9});
  assert_int_equal(x->r.context_switches, 3);
  assert_int_equal(x->r.cs_time, 3);
  assert_int_equal(x->r.busy, 30);
  assert_int_equal(x->r.idle_time, 0);
  assert_int_equal(x->r.ps[run_idx(x, "P2")].response, 5);
  run_free(x);
}

/* I/O bursts (hand-computed): P1 runs 2, does 3 ticks of I/O while P2 runs,
 * waits 1 tick for P2 to finish, runs 2; waiting excludes I/O time. */
static void io_bursts(void **state) {
  (void)state;
  run_t *x = run_new("P1 0 2,3,2\nP2 0 4\n", "fcfs");
  expect(x, "|P1 0-2|P2 2-6|P1 6-8|", (const char *[]){"P1", "P2", NULL}, (int64_t[]){8, 6},
         (int64_t[]){1, 2});
  run_free(x);
  /* everyone in I/O: the CPU idles */
  x = run_new("P1 0 1,5,1\nP2 0 1\n", "rr:q=2");
  expect(x, "|P1 0-1|P2 1-2|idle 2-6|P1 6-7|", (const char *[]){"P1", "P2", NULL},
         (int64_t[]){7, 2}, (int64_t[]){0, 1});
  assert_int_equal(x->r.idle_time, 4);
  assert_true(x->r.utilization == 3.0 / 7.0);
  run_free(x);
}

/* Aging (hand-computed, aging = 2): P2's priority 2 improves by 1 every 2
 * ticks of waiting; at t=10 it ties with P3 (-3) and wins on arrival. */
static void aging(void **state) {
  (void)state;
  run_t *x = run_new("P1 0 10 0\nP2 0 3 2\nP3 3 4 0\n", "priority");
  expect(x, "|P1 0-10|P3 10-14|P2 14-17|", (const char *[]){"P1", NULL}, (int64_t[]){10}, NULL);
  run_free(x);
  x = run_new("P1 0 10 0\nP2 0 3 2\nP3 3 4 0\n", "priority:aging=2");
  expect(x, "|P1 0-10|P2 10-13|P3 13-17|", (const char *[]){"P1", NULL}, (int64_t[]){10}, NULL);
  run_free(x);
  /* preemptive: P2 (3) waiting since 1 beats P1's 0 at t=9; P1, back at
   * its base priority, beats P2's frozen -1 at t=13 */
  x = run_new("P1 0 10 0\nP2 1 5 3\n", "ppriority:aging=2");
  expect(x, "|P1 0-9|P2 9-13|P1 13-14|P2 14-15|", (const char *[]){"P1", "P2", NULL},
         (int64_t[]){14, 15}, NULL);
  run_free(x);
}

/* Ties: equal keys go to the earlier arrival, then the earlier line. */
static void ties(void **state) {
  (void)state;
  run_t *x = run_new("L 1 5\nK 0 9\nM 1 5\nN 1 5\n", "sjf");
  expect(x, "|K 0-9|L 9-14|M 14-19|N 19-24|", (const char *[]){"K", NULL}, (int64_t[]){9}, NULL);
  run_free(x);
  x = run_new("B 0 3 1\nA 0 3 1\n", "priority");
  expect(x, "|B 0-3|A 3-6|", (const char *[]){"A", NULL}, (int64_t[]){6}, NULL);
  run_free(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(osc_fcfs),     cmocka_unit_test(osc_sjf),
      cmocka_unit_test(osc_srtf),     cmocka_unit_test(osc_rr),
      cmocka_unit_test(osc_priority), cmocka_unit_test(osc_ppriority),
      cmocka_unit_test(osidp_table),  cmocka_unit_test(notes_mlfq),
      cmocka_unit_test(switch_cost),  cmocka_unit_test(io_bursts),
      cmocka_unit_test(aging),        cmocka_unit_test(ties),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
