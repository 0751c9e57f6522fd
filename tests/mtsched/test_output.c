/* Golden files for the text, json and csv output of one run and for the
 * compare table (tests/mtsched/golden/, produced by mtsched and checked by
 * hand once), and every bad-input message of the parser and of the policy
 * options: exact file:line text, MS_EINPUT, no result. */
#include "sched_test.h"

static char *render(const ms_result_t *rs, size_t n, ms_format_t fmt, bool compare) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (compare) assert_int_equal(ms_write_compare(f, rs, n, fmt), 0);
  else assert_int_equal(ms_write_run(f, rs, fmt), 0);
  fclose(f);
  return buf;
}

static void golden(const char *out, const char *file) {
  char path[512];
  snprintf(path, sizeof path, "%s/golden/%s", MTSCHED_TEST_DIR, file);
  if (getenv("MTSCHED_REGOLD")) { /* rewrite the golden files */
    FILE *f = fopen(path, "w");
    fputs(out, f);
    fclose(f);
  }
  char *want = slurp(path, NULL);
  assert_string_equal(out, want);
  free(want);
}

static char *workload(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/golden/workload.txt", MTSCHED_TEST_DIR);
  return slurp(path, NULL);
}

static void golden_run(void **state) {
  (void)state;
  char *text = workload();
  struct {
    const char *spec, *file;
    ms_format_t fmt;
  } g[] = {
      {"rr:q=2:cs=1", "rr_q2_cs1.txt", MS_TEXT}, {"rr:q=2:cs=1", "rr_q2_cs1.json", MS_JSON},
      {"mlfq", "mlfq.txt", MS_TEXT},             {"mlfq", "mlfq.json", MS_JSON},
      {"ppriority", "ppriority.csv", MS_CSV},    {"srtf", "srtf.txt", MS_TEXT},
  };
  for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
    run_t *x = run_new(text, g[i].spec);
    char *out = render(&x->r, 1, g[i].fmt, false);
    golden(out, g[i].file);
    free(out);
    run_free(x);
  }
  free(text);
}

static void golden_compare(void **state) {
  (void)state;
  char *text = workload();
  const char *sp[] = {"fcfs", "sjf", "srtf", "priority", "ppriority", "hrrn", "rr:q=2", "mlfq"};
  run_t *x[8];
  ms_result_t rs[8];
  for (int i = 0; i < 8; i++) {
    x[i] = run_new(text, sp[i]);
    rs[i] = x[i]->r;
  }
  char *out = render(rs, 8, MS_TEXT, true);
  golden(out, "compare.txt");
  free(out);
  out = render(rs, 2, MS_JSON, true);
  assert_non_null(strstr(out, "{\"results\": ["));
  free(out);
  for (int i = 0; i < 8; i++) run_free(x[i]);
  free(text);
}

static void bad_workloads(void **state) {
  (void)state;
  struct {
    const char *text, *msg;
  } t[] = {
      {"P1 0\n", "f.txt:1: missing BURSTS (expected NAME ARRIVAL BURSTS [PRIORITY])"},
      {"# c\nP1\n", "f.txt:2: missing ARRIVAL and BURSTS (expected NAME ARRIVAL BURSTS [PRIORITY])"},
      {"P1 -1 5\n", "f.txt:1: ARRIVAL '-1' must not be negative"},
      {"P1 x 5\n", "f.txt:1: ARRIVAL 'x' is not an integer"},
      {"P1 0 5\nP2 1 -3\n", "f.txt:2: bad burst list '-3': '-3' must not be negative"},
      {"P1 0 5,3\n", "f.txt:1: bad burst list '5,3': must end with a CPU burst (odd count)"},
      {"P1 0 5,,3\n", "f.txt:1: bad burst list '5,,3': empty item"},
      {"P1 0 5,x,3\n", "f.txt:1: bad burst list '5,x,3': 'x' is not an integer"},
      {"P1 0 0\n", "f.txt:1: bad burst list '0': CPU burst 1 is 0 (bursts are >= 1)"},
      {"P1 0 1 2 3\n", "f.txt:1: too many fields (expected NAME ARRIVAL BURSTS [PRIORITY])"},
      {"P1 0 1\n\nP1 2 3\n", "f.txt:3: duplicate name 'P1' (first on line 1)"},
      {"P1 0 1 high\n", "f.txt:1: PRIORITY 'high' is not an integer"},
      {"P1 99999999999999999999 1\n", "f.txt:1: ARRIVAL '99999999999999999999' is too large (max 2^63-1)"},
      {"P1 9223372036854775807 1\n", "f.txt:1: arrival plus bursts is more than 2^63-1 ticks"},
      {"P1 0 9223372036854775807,1,1\n", "f.txt:1: bursts add up to more than 2^63-1 ticks"},
      {"# only comments\n\n   \n", "f.txt: empty workload: no process lines (NAME ARRIVAL BURSTS [PRIORITY])"},
      {"", "f.txt: empty workload: no process lines (NAME ARRIVAL BURSTS [PRIORITY])"},
      /* names must be UTF-8 (JSON and SVG readers reject anything else) */
      {"P1 0 1\nA\xff 0 1\n", "f.txt:2: NAME is not valid UTF-8 (byte 0xff at position 2)"},
      {"\xc0\x80 0 1\n", "f.txt:1: NAME is not valid UTF-8 (byte 0xc0 at position 1)"},
      {"a\xe0\x80\x80 0 1\n", "f.txt:1: NAME is not valid UTF-8 (byte 0xe0 at position 2)"},
      {"\xed\xa0\x80 0 1\n", "f.txt:1: NAME is not valid UTF-8 (byte 0xed at position 1)"},
      {"\xf4\x90\x80\x80 0 1\n", "f.txt:1: NAME is not valid UTF-8 (byte 0xf4 at position 1)"},
      {"ab\xe2\x82 0 1\n", "f.txt:1: NAME is not valid UTF-8 (byte 0xe2 at position 3)"},
      {"\x80 0 1\n", "f.txt:1: NAME is not valid UTF-8 (byte 0x80 at position 1)"},
      {"P1 0 1\nP\0 0 1\n", "f.txt:2: NUL byte in line"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    ms_workload_t w;
    char err[MS_ERRLEN] = "";
    size_t len = strlen(t[i].text);
    if (i == sizeof t / sizeof t[0] - 1) len = 14;
    assert_int_equal(ms_parse_workload(t[i].text, len, "f.txt", &w, err, sizeof err), MS_EINPUT);
    assert_string_equal(err, t[i].msg);
    assert_null(w.procs);
  }
  /* good corner cases: CRLF, tabs, comments after fields, negative priority */
  const char *ok = "A\t0\t3\r\nB 1 2,1,1 -4 # x\n#\n";
  ms_workload_t w;
  char err[MS_ERRLEN];
  assert_int_equal(ms_parse_workload(ok, strlen(ok), "f", &w, err, sizeof err), 0);
  assert_int_equal(w.n, 2);
  assert_int_equal(w.procs[1].priority, -4);
  assert_int_equal(w.procs[1].io_total, 1);
  assert_int_equal(w.procs[1].line, 2);
  ms_workload_free(&w);
  /* well-formed UTF-8 of 2, 3 and 4 bytes is a name like any other */
  const char *utf = "\xc3\x9c" "ber 0 1\n\xe8\xbf\x9b\xe7\xa8\x8b 1 2\n\xf0\x9f\x98\x80 2 3\n\xf4\x8f\xbf\xbf 0 1\n";
  assert_int_equal(ms_parse_workload(utf, strlen(utf), "f", &w, err, sizeof err), 0);
  assert_int_equal(w.n, 4);
  assert_string_equal(w.procs[1].name, "\xe8\xbf\x9b\xe7\xa8\x8b");
  ms_workload_free(&w);
}

static void bad_options(void **state) {
  (void)state;
  struct {
    const char *spec, *msg;
  } t[] = {
      {"rr:q=0", "policy 'rr:q=0': q: '0' is not a positive integer (quantum must be >= 1)"},
      {"lottery", "unknown policy 'lottery' (fcfs, sjf, srtf, priority, ppriority, hrrn, rr, mlfq)"},
      {"rr:speed=2", "policy 'rr:speed=2': unknown option 'speed'"},
      {"rr:q", "policy option 'q' of 'rr:q' has no '='"},
      {"mlfq:queues=2:quanta=1,2,4", "mlfq: quanta has 3 values but queues is 2"},
      {"mlfq:quanta=1,0", "policy 'mlfq:quanta=1,0': quanta: '0' is not a positive integer"},
      {"mlfq:queues=65", "policy 'mlfq:queues=65': queues: at most 64"},
      {"fcfs:cs=-1", "policy 'fcfs:cs=-1': cs: '-1' is not a non-negative integer"},
      {"mlfq:allotment=1,2", "mlfq: allotment has 2 values but there are 3 queues"},
  };
  ms_config_t base, c;
  ms_config_init(&base);
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char err[MS_ERRLEN] = "";
    assert_int_equal(ms_config_from_spec(&base, t[i].spec, &c, err, sizeof err), MS_EINPUT);
    assert_string_equal(err, t[i].msg);
  }
  char err[MS_ERRLEN];
  assert_int_equal(ms_config_from_spec(&base, "mlfq:quanta=3,5", &c, err, sizeof err), 0);
  assert_int_equal(c.queues, 2);
  assert_string_equal(c.label, "mlfq:queues=2:quanta=3,5");
  ms_workload_t w;
  assert_int_equal(ms_jobs_workload("10,20,30", &w, err, sizeof err), 0);
  assert_int_equal(w.n, 3);
  assert_string_equal(w.procs[2].name, "J2");
  ms_workload_free(&w);
  assert_int_equal(ms_jobs_workload("10,,30", &w, err, sizeof err), MS_EINPUT);
  assert_int_equal(ms_jobs_workload("10,0", &w, err, sizeof err), MS_EINPUT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(golden_run),
      cmocka_unit_test(golden_compare),
      cmocka_unit_test(bad_workloads),
      cmocka_unit_test(bad_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
