/* The mtsched program itself: bad input exits with status 2, one message on
 * stderr naming file and line, and no output at all (not even with -o);
 * the SVG output is checked with a real renderer (rsvg-convert); gen is
 * deterministic.  Runs the built binary through /bin/sh (label fork). */
#include "sched_test.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

/* Runs "PRE mtsched ARGS" in dir (PRE: shell commands first, e.g. limits);
 * returns the exit status, stdout and stderr. */
static int sh_pre(const char *pre, const char *args, char **out, char **err) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "cd %s && %s %s %s >out.txt 2>err.txt", dir, pre, MTSCHED_BIN, args);
  int st = system(cmd);
  char p[512];
  snprintf(p, sizeof p, "%s/out.txt", dir);
  *out = slurp(p, NULL);
  snprintf(p, sizeof p, "%s/err.txt", dir);
  *err = slurp(p, NULL);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int sh(const char *args, char **out, char **err) { return sh_pre("", args, out, err); }

static void put(const char *name, const char *text) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  fputs(text, f);
  fclose(f);
}

static bool exists(const char *name) {
  char p[512];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return stat(p, &st) == 0;
}

static void expect_bad(const char *args, const char *msg) {
  char *out, *err;
  int st = sh(args, &out, &err);
  if (st != 2 || strcmp(err, msg) != 0)
    fail_msg("mtsched %s: status %d, stderr '%s', expected 2 and '%s'", args, st, err, msg);
  assert_string_equal(out, "");
  free(out);
  free(err);
}

static void bad_input(void **state) {
  (void)state;
  put("ok.txt", "A 0 3\nB 2 6\n");
  put("bad.txt", "A 0 3\nB 2 6,x\n");
  put("dup.txt", "A 0 3\nA 2 6\n");
  put("empty.txt", "# nothing\n");
  expect_bad("run -p fcfs bad.txt -o res.txt",
             "mtsched: bad.txt:2: bad burst list '6,x': 'x' is not an integer\n");
  assert_false(exists("res.txt"));
  expect_bad("compare -p fcfs,rr dup.txt", "mtsched: dup.txt:2: duplicate name 'A' (first on line 1)\n");
  expect_bad("run -p fcfs empty.txt",
             "mtsched: empty.txt: empty workload: no process lines (NAME ARRIVAL BURSTS [PRIORITY])\n");
  expect_bad("run -p rr -q 0 ok.txt",
             "mtsched: q: '0' is not a positive integer (quantum must be >= 1)\n");
  expect_bad("compare -p fcfs,rr:q=0 ok.txt",
             "mtsched: policy 'rr:q=0': q: '0' is not a positive integer (quantum must be >= 1)\n");
  expect_bad("run -p lottery ok.txt",
             "mtsched: unknown policy 'lottery' (fcfs, sjf, srtf, priority, ppriority, hrrn, rr, mlfq)\n");
  expect_bad("run -p fcfs --turbo ok.txt", "mtsched: unknown option '--turbo'\n");
  expect_bad("run -p fcfs --format pdf ok.txt",
             "mtsched: --format: unknown format 'pdf' (text, json, csv, svg)\n");
  expect_bad("run -p fcfs missing.txt", "mtsched: missing.txt: cannot open: No such file or directory\n");
  expect_bad("run -p fcfs", "mtsched: missing WORKLOAD (a file, - for stdin, or --jobs)\n");
  expect_bad("run -p fcfs,rr ok.txt", "mtsched: run takes one policy (use compare for 'fcfs,rr')\n");
  expect_bad("frobnicate", "mtsched: unknown command 'frobnicate' (run, compare, gen; --help)\n");
  expect_bad("run -p fcfs - < bad.txt",
             "mtsched: <stdin>:2: bad burst list '6,x': 'x' is not an integer\n");
  expect_bad("run -p mlfq --queues 2 --quanta 1,2,3 ok.txt",
             "mtsched: mlfq: quanta has 3 values but queues is 2\n");
  expect_bad("run -p rr --jobs 5,-1", "mtsched: --jobs '5,-1': bad burst list '-1': '-1' must not be negative\n");
  put("utf.txt", "A 0 3\nB\xff 2 6\n");
  expect_bad("run -p fcfs --format svg utf.txt -o res.txt",
             "mtsched: utf.txt:2: NAME is not valid UTF-8 (byte 0xff at position 2)\n");
  assert_false(exists("res.txt"));
  put("big.txt", "A 0 4611686018427387904\nB 0 4611686018427387904\nC 0 4611686018427387904\n");
  expect_bad("run -p fcfs big.txt -o res.txt",
             "mtsched: big.txt: simulated time passes 2^63-1 ticks (policy fcfs)\n");
  assert_false(exists("res.txt"));
}

static void good_runs(void **state) {
  (void)state;
  char *out, *err;
  assert_int_equal(sh("run -p rr --jobs 24,3,3", &out, &err), 0);
  assert_non_null(strstr(out, "|J0 0-4|J1 4-7|J2 7-10|J0 10-30|"));
  assert_non_null(strstr(out, "average turnaround 15.67  waiting 5.67  response 3.67"));
  assert_string_equal(err, "");
  free(out);
  free(err);
  assert_int_equal(sh("compare -p fcfs,sjf,rr:q=1,mlfq:quanta=1,2,4 --jobs 5,3,1", &out, &err), 0);
  assert_non_null(strstr(out, "mlfq:queues=3:quanta=1,2,4"));
  assert_non_null(strstr(out, "* = best value"));
  free(out);
  free(err);
  assert_int_equal(sh("gen -n 4 --seed 42 --io", &out, &err), 0);
  char *again, *err2;
  assert_int_equal(sh("gen -n 4 --seed 42 --io", &again, &err2), 0);
  assert_string_equal(out, again);
  /* gen's output is a valid workload */
  put("gen.txt", out);
  free(out);
  free(err);
  free(again);
  free(err2);
  assert_int_equal(sh("run -p srtf --format json gen.txt", &out, &err), 0);
  assert_true(strncmp(out, "{\"policy\": \"srtf\"", 17) == 0);
  free(out);
  free(err);
}

static void svg_renders(void **state) {
  (void)state;
  char *out, *err;
  put("svg.txt", "A 0 3\nB 2 6,2,1\nC 4 4\n<&> 6 5\nE 8 2\n");
  assert_int_equal(sh("run -p rr -q 2 --cs 1 --format svg -o one.svg svg.txt", &out, &err), 0);
  free(out);
  free(err);
  assert_int_equal(sh("compare -p fcfs,srtf,mlfq --format svg -o many.svg svg.txt", &out, &err), 0);
  free(out);
  free(err);
  if (system("command -v rsvg-convert >/dev/null 2>&1") != 0) {
    print_message("rsvg-convert missing: SVG not rendered\n");
    return;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "cd %s && rsvg-convert one.svg -o one.png 2>err.txt && rsvg-convert many.svg -o many.png "
           "2>>err.txt",
           dir);
  assert_int_equal(system(cmd), 0);
  size_t len;
  char p[512];
  snprintf(p, sizeof p, "%s/many.png", dir);
  char *png = slurp(p, &len);
  assert_true(len > 1000);
  assert_memory_equal(png, "\x89PNG", 4);
  /* width 960 in the IHDR chunk */
  assert_int_equal(((unsigned char)png[18] << 8) | (unsigned char)png[19], 960);
  free(png);
}

/* Counts the occurrences of needle in hay. */
static size_t count_of(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* Renders name.svg in dir with rsvg-convert; returns the PNG's height. */
static unsigned png_height(const char *name) {
  char cmd[1024], p[512];
  snprintf(cmd, sizeof cmd, "cd %s && rsvg-convert %s.svg -o %s.png 2>err.txt", dir, name, name);
  if (system(cmd) != 0) fail_msg("rsvg-convert %s.svg failed", name);
  snprintf(p, sizeof p, "%s/%s.png", dir, name);
  size_t len;
  char *png = slurp(p, &len);
  assert_true(len > 24);
  assert_memory_equal(png, "\x89PNG", 4);
  const unsigned char *h = (const unsigned char *)png + 20; /* IHDR height */
  unsigned v = (unsigned)h[0] << 24 | (unsigned)h[1] << 16 | (unsigned)h[2] << 8 | h[3];
  free(png);
  return v;
}

static char *file_text(const char *name) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return slurp(p, NULL);
}

/* Charts that stay readable: I/O has its own bars, context switches are
 * ticks in one strip (at most one per two pixel columns) and never lines
 * across the chart, and a run of more than 1,000 processes becomes rows of
 * groups that a real renderer accepts (under 32,767 pixels); when compare
 * stacks several charts the total height stays within 32,000. */
static void svg_readable(void **state) {
  (void)state;
  char *out, *err;
  put("io.txt", "A 0 3\nB 2 6,2,1\nC 4 4\n");
  assert_int_equal(sh("run -p rr -q 2 --cs 1 --format svg -o io.svg io.txt", &out, &err), 0);
  free(out);
  free(err);
  char *svg = file_text("io.svg");
  assert_non_null(strstr(svg, "fill=\"url(#io)\" stroke=\"#2a6fb0\" stroke-width=\"0.6\"><title>B I/O 19-21</title>"));
  free(svg);
  /* --cpus 3: one CPU row per CPU, each slice on its own CPU's row */
  put("p3.txt", "T0 0 9\nT1 0 195\nT2 0 10\nT3 0 20\n");
  assert_int_equal(sh("run -p fcfs --cpus 3 --format svg -o p3.svg p3.txt", &out, &err), 0);
  free(out);
  free(err);
  svg = file_text("p3.svg");
  assert_non_null(strstr(svg, "font-weight=\"bold\">CPU 0</text>"));
  assert_non_null(strstr(svg, "font-weight=\"bold\">CPU 2</text>"));
  assert_null(strstr(svg, "font-weight=\"bold\">CPU 3</text>"));
  assert_null(strstr(svg, "font-weight=\"bold\">CPU</text>"));
  free(svg);
  /* hundreds of switches: 732 switches, ticks thinned to pixel columns */
  assert_int_equal(sh("gen -n 40 --seed 3 --io --max-arrival 100 --max-burst 30 -o sw.txt", &out, &err), 0);
  free(out);
  free(err);
  assert_int_equal(sh("run -p rr -q 2 --cs 1 --format svg -o sw.svg sw.txt", &out, &err), 0);
  free(out);
  free(err);
  svg = file_text("sw.svg");
  assert_non_null(strstr(svg, "<title>732 context switches</title>"));
  const char *g = strstr(svg, "<title>732 context switches</title>");
  size_t ticks = 0;
  for (const char *p = g; (p = strstr(p, "width=\"1\" height=\"6\"/>")) && p < strstr(g, "</g>"); p++) ticks++;
  if (ticks < 100 || ticks > (960 - 150) / 2 + 1) fail_msg("%zu switch ticks", ticks);
  assert_int_equal(count_of(svg, "<line"), count_of(svg, "text-anchor=\"middle\"") + 1); /* axis only */
  free(svg);
  assert_true(png_height("sw") < 1200);
  /* thousands of processes: grouped rows, rendered */
  long n = mt_test_scaled(1500, 1100); /* rendering costs ~0.1 s CPU per 1,000 px of height */
  char args[256];
  snprintf(args, sizeof args, "gen -n %ld --seed 7 --io --max-arrival %ld -o big.txt", n, 4 * n);
  assert_int_equal(sh(args, &out, &err), 0);
  free(out);
  free(err);
  assert_int_equal(sh("run -p rr -q 3 --cs 1 --format svg -o big.svg big.txt", &out, &err), 0);
  free(out);
  free(err);
  svg = file_text("big.svg");
  assert_non_null(strstr(svg, "each row is a group of"));
  assert_true(count_of(svg, "<rect") < 200000);
  free(svg);
  unsigned h = png_height("big");
  if (h < 10000 || h > 32767) fail_msg("big.png is %u pixels high", h);
  assert_int_equal(sh("compare -p fcfs,srtf,hrrn,rr,mlfq --format svg -o bigc.svg big.txt", &out, &err), 0);
  free(out);
  free(err);
  svg = file_text("bigc.svg"); /* its height, without the cost of rendering it */
  const char *hp = strstr(svg, " height=\"");
  assert_non_null(hp);
  h = (unsigned)atoi(hp + 9);
  if (h < 10000 || h > 32000) fail_msg("bigc.svg is %u pixels high", h);
  free(svg);
}

/* The hidden names in dir (temporaries are ".FILE.XXXXXX"), space-separated. */
static char *hidden_names(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "cd %s && ls -A | grep '^[.]' | tr '\\n' ' ' >ls.txt", dir);
  system(cmd); /* grep fails when there is none */
  snprintf(cmd, sizeof cmd, "%s/ls.txt", dir);
  return slurp(cmd, NULL);
}

/* -o never removes or truncates a path the run did not create: output goes
 * to a temporary file beside FILE, renamed over it on success.  A write
 * error is made with a file-size limit (RLIMIT_FSIZE: EFBIG, it also holds
 * for root) and with a private copy of /dev/full (a device node made here,
 * never the system's). */
static void output_file_safety(void **state) {
  (void)state;
  char *out, *err, p[1200], jobs[2048] = "--jobs 1";
  for (int i = 2; i < 300; i++) snprintf(jobs + strlen(jobs), sizeof jobs - strlen(jobs), ",%d", i);
  char args[2300];
  snprintf(args, sizeof args, "run -p rr --format json -o keep.txt %s", jobs);
  snprintf(p, sizeof p, "rm -f %s/keep.txt %s/link.txt %s/full %s/ls.txt", dir, dir, dir, dir);
  assert_int_equal(system(p), 0);
  put("keep.txt", "precious\n");
  snprintf(p, sizeof p, "%s/keep.txt", dir);
  assert_int_equal(chmod(p, 0640), 0);
  /* 1. a write error leaves the existing file exactly as it was */
  int st = sh_pre("trap '' XFSZ; ulimit -f 1;", args, &out, &err);
  if (st != 1 || !strstr(err, "keep.txt: write error"))
    fail_msg("status %d, stderr '%s': expected 1 and a write error", st, err);
  free(out);
  free(err);
  char *kept = slurp(p, NULL);
  assert_string_equal(kept, "precious\n");
  free(kept);
  char *ls = hidden_names();
  assert_string_equal(ls, ""); /* and no temporary left behind */
  free(ls);
  /* 2. success replaces it, keeping its mode; through a symlink the link stays */
  assert_int_equal(sh(args, &out, &err), 0);
  free(out);
  free(err);
  struct stat sb;
  assert_int_equal(stat(p, &sb), 0);
  assert_int_equal(sb.st_mode & 07777, 0640);
  assert_true(sb.st_size > 1000);
  snprintf(p, sizeof p, "cd %s && ln -s keep.txt link.txt", dir);
  assert_int_equal(system(p), 0);
  assert_int_equal(sh("run -p fcfs --jobs 3 -o link.txt", &out, &err), 0);
  free(out);
  free(err);
  snprintf(p, sizeof p, "%s/link.txt", dir);
  assert_int_equal(lstat(p, &sb), 0);
  assert_true(S_ISLNK(sb.st_mode));
  snprintf(p, sizeof p, "%s/keep.txt", dir);
  kept = slurp(p, NULL);
  assert_true(strncmp(kept, "policy fcfs\n", 12) == 0);
  free(kept);
  /* 3. a device node is written in place and never removed */
  snprintf(p, sizeof p, "cd %s && mknod full c 1 7 2>/dev/null", dir);
  if (system(p) != 0) {
    print_message("mknod not permitted: the device-node case is not run\n");
  } else {
    snprintf(args, sizeof args, "run -p rr --format json -o full %s", jobs);
    st = sh(args, &out, &err);
    if (st != 1 || !strstr(err, "full: write error"))
      fail_msg("status %d, stderr '%s': expected 1 and a write error", st, err);
    free(out);
    free(err);
    snprintf(p, sizeof p, "%s/full", dir);
    assert_int_equal(lstat(p, &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
  }
  snprintf(p, sizeof p, "rm -f %s/keep.txt %s/link.txt %s/full %s/ls.txt", dir, dir, dir, dir);
  assert_int_equal(system(p), 0);
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/mtsched_cli_XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bad_input),
      cmocka_unit_test(good_runs),
      cmocka_unit_test(svg_renders),
      cmocka_unit_test(output_file_safety),
      cmocka_unit_test(svg_readable),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
