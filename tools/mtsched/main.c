/* main.c - the mtsched command line (run / compare / gen).
 *
 * Everything is checked and simulated before the first byte of output is
 * written: bad input exits with status 2 and one message on stderr, an
 * output error with status 1. */
#include "mtsched.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: mtsched run -p POLICY [options] WORKLOAD\n"
    "       mtsched compare -p P1,P2,... [options] WORKLOAD\n"
    "       mtsched gen [-n N] [--seed S] [--max-arrival A] [--max-burst B] [--io]\n"
    "POLICY: fcfs sjf srtf priority ppriority hrrn rr mlfq, optionally with\n"
    "        options as in rr:q=4 or mlfq:queues=3:boost=50\n"
    "options: -q N (rr quantum, 4)  --cs N (context-switch ticks, 0)\n"
    "         --aging N (priority policies)  --priority-high (larger = higher)\n"
    "         --queues N  --quanta a,b,c  --boost S  --allotment N (mlfq)\n"
    "         --cpus N (running slots sharing one ready queue, 1)  --trace (decision log)\n"
    "         --format text|json|csv|svg  -o FILE  --jobs 10,20,30 (instead of WORKLOAD)\n"
    "WORKLOAD: file or - (stdin); lines NAME ARRIVAL BURSTS [PRIORITY], # comments,\n"
    "          BURSTS = CPU or CPU,IO,CPU,...   See docs/mtsched.md.\n";

static int die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("mtsched: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return 2;
}

typedef struct cli {
  const char *cmd;
  const char *policies;
  const char *workload;
  const char *jobs;
  const char *out;
  ms_format_t format;
  ms_config_t base;
  ms_gen_opts_t gen;
} cli_t;

/* Option table: long name, short name, takes a value, config key. */
typedef struct opt {
  const char *lng, *shrt;
  bool value;
  const char *key;
} opt_t;

static const opt_t opts[] = {
    {"--policy", "-p", true, NULL},    {"--quantum", "-q", true, "q"},
    {"--cs", NULL, true, "cs"},        {"--aging", NULL, true, "aging"},
    {"--queues", NULL, true, "queues"}, {"--quanta", NULL, true, "quanta"},
    {"--boost", NULL, true, "boost"},  {"--allotment", NULL, true, "allotment"},
    {"--format", NULL, true, NULL},    {"--output", "-o", true, NULL},
    {"--jobs", NULL, true, NULL},      {"--priority-high", NULL, false, NULL},
    {"--seed", NULL, true, NULL},      {"--max-arrival", NULL, true, NULL},
    {"--max-burst", NULL, true, NULL}, {"--io", NULL, false, NULL},
    {"--count", "-n", true, NULL},     {"--cpus", NULL, true, "cpus"},
    {"--trace", NULL, false, NULL},
};

static const opt_t *find_opt(const char *arg, const char **inline_val) {
  *inline_val = NULL;
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
    const opt_t *o = &opts[i];
    size_t l = strlen(o->lng);
    if (strncmp(arg, o->lng, l) == 0 && (arg[l] == '\0' || arg[l] == '=')) {
      if (arg[l] == '=') *inline_val = arg + l + 1;
      return o;
    }
    if (o->shrt && strncmp(arg, o->shrt, 2) == 0) {
      if (arg[2]) *inline_val = arg + 2;
      return o;
    }
  }
  return NULL;
}

static int gen_value(const char *name, const char *v, int64_t min, int64_t *out) {
  if (ms_parse_i64(v, strlen(v), min, out))
    return die("%s: '%s' is not an integer >= %lld", name, v, (long long)min);
  return 0;
}

static int set_opt(cli_t *c, const opt_t *o, const char *v) {
  char err[MS_ERRLEN];
  bool gen = strcmp(c->cmd, "gen") == 0;
  bool gen_opt = !strcmp(o->lng, "--seed") || !strcmp(o->lng, "--max-arrival") ||
                 !strcmp(o->lng, "--max-burst") || !strcmp(o->lng, "--io") ||
                 !strcmp(o->lng, "--count");
  if (gen != gen_opt && strcmp(o->lng, "--output")) return die("option %s is not valid with '%s'", o->lng, c->cmd);
  if (o->key) {
    if (ms_config_set(&c->base, o->key, v, err, sizeof err)) return die("%s", err);
  } else if (!strcmp(o->lng, "--policy")) c->policies = v;
  else if (!strcmp(o->lng, "--format")) {
    if (ms_format_from_name(v, &c->format))
      return die("--format: unknown format '%s' (text, json, csv, svg)", v);
  } else if (!strcmp(o->lng, "--output")) c->out = v;
  else if (!strcmp(o->lng, "--jobs")) c->jobs = v;
  else if (!strcmp(o->lng, "--priority-high")) c->base.priority_high = true;
  else if (!strcmp(o->lng, "--trace")) c->base.trace = true;
  else if (!strcmp(o->lng, "--io")) c->gen.io = true;
  else if (!strcmp(o->lng, "--seed")) return gen_value("--seed", v, INT64_MIN + 1, &c->gen.seed);
  else if (!strcmp(o->lng, "--max-arrival"))
    return gen_value("--max-arrival", v, 0, &c->gen.max_arrival);
  else if (!strcmp(o->lng, "--max-burst")) return gen_value("--max-burst", v, 1, &c->gen.max_burst);
  else if (!strcmp(o->lng, "--count")) return gen_value("-n", v, 1, &c->gen.n);
  return 0;
}

static int parse_args(cli_t *c, int argc, char **argv) {
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v;
    if (a[0] != '-' || strcmp(a, "-") == 0) {
      if (c->workload) return die("more than one WORKLOAD ('%s' and '%s')", c->workload, a);
      c->workload = a;
      continue;
    }
    const opt_t *o = find_opt(a, &v);
    if (!o) return die("unknown option '%s'", a);
    if (o->value && !v) {
      if (i + 1 == argc) return die("option %s needs a value", o->lng);
      v = argv[++i];
    } else if (!o->value && v) {
      return die("option %s takes no value", o->lng);
    }
    int rc = set_opt(c, o, v);
    if (rc) return rc;
  }
  return 0;
}

static int read_all(const char *path, char **buf, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) return die("%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  struct stat st; /* a regular file is read in one go into a buffer of its size */
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    cap = (size_t)st.st_size + 1;
  char *b = ms_big_alloc(cap, false);
  for (;;) {
    if (!b) break;
    size_t got = fread(b + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    char *nb = realloc(b, cap *= 2);
    if (!nb) free(b);
    b = nb;
  }
  int bad = ferror(f);
  if (f != stdin) fclose(f);
  if (!b) return die("%s: out of memory", path);
  if (bad) return free(b), die("%s: read error", path);
  *buf = b;
  *len = n;
  return 0;
}

/* Splits "rr:q=4,mlfq:quanta=1,2,4,fcfs": an item starting with a digit
 * continues the previous policy's option list. */
static int split_policies(const char *list, char ***out, size_t *n) {
  size_t cap = strlen(list) + 2, k = 0;
  char **v = calloc(cap, sizeof *v);
  char *copy = strdup(list);
  if (!v || !copy) return free(v), free(copy), die("out of memory");
  for (char *s = copy, *e; s; s = e) {
    e = strchr(s, ',');
    if (e) *e++ = '\0';
    if (k && s[0] >= '0' && s[0] <= '9') {
      size_t l = strlen(v[k - 1]) + strlen(s) + 2;
      char *m = malloc(l);
      if (!m) return die("out of memory");
      snprintf(m, l, "%s,%s", v[k - 1], s);
      free(v[k - 1]);
      v[k - 1] = m;
    } else {
      v[k++] = strdup(s);
    }
  }
  free(copy);
  *out = v;
  *n = k;
  return 0;
}

/* ---- the output file ----
 * -o FILE never removes or truncates a path this run did not create.  A
 * regular FILE (or a new one) is written to a temporary file in FILE's own
 * directory and renamed over FILE only once every byte is written: a
 * failure removes the temporary alone and FILE stays as it was.  The
 * temporary takes FILE's mode (and owner, where allowed); a symlink is
 * followed, so the link stays and its target is replaced.  Anything that is
 * not a regular file (a device such as /dev/full, a FIFO, /dev/stdout, a
 * dangling link) is written in place and never removed. */
typedef struct outfile {
  FILE *f;
  const char *path; /* as given, for messages */
  char *final;      /* regular file to rename onto, NULL when written in place */
  char *tmp;        /* the temporary beside it */
} outfile_t;

static int outfile_open(outfile_t *o, const char *path) {
  struct stat st, lst;
  *o = (outfile_t){.path = path};
  bool exists = stat(path, &st) == 0;
  if ((exists && !S_ISREG(st.st_mode)) || (!exists && lstat(path, &lst) == 0)) {
    o->f = fopen(path, "w");
    if (!o->f) fprintf(stderr, "mtsched: %s: cannot open: %s\n", path, strerror(errno));
    return o->f ? 0 : 1;
  }
  /* the rename must not overwrite what writing in place could not */
  if (exists && access(path, W_OK) != 0)
    return fprintf(stderr, "mtsched: %s: cannot open: %s\n", path, strerror(errno)), 1;
  o->final = exists ? realpath(path, NULL) : strdup(path);
  if (!o->final) return fprintf(stderr, "mtsched: %s: %s\n", path, strerror(errno)), 1;
  const char *slash = strrchr(o->final, '/');
  int dirlen = slash ? (int)(slash - o->final + 1) : 0;
  size_t n = strlen(o->final) + 16;
  o->tmp = malloc(n);
  if (!o->tmp) return free(o->final), fprintf(stderr, "mtsched: out of memory\n"), 1;
  snprintf(o->tmp, n, "%.*s.%s.XXXXXX", dirlen, o->final, o->final + dirlen);
  int fd = mkstemp(o->tmp);
  if (fd < 0) {
    fprintf(stderr, "mtsched: %s: cannot create a temporary file beside it: %s\n", path,
            strerror(errno));
    free(o->tmp), free(o->final);
    return 1;
  }
  if (exists) {
    if (fchown(fd, st.st_uid, st.st_gid)) { /* not permitted unless root: keep ours */
    }
    fchmod(fd, st.st_mode & 07777);
  } else {
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um); /* what fopen would have created */
  }
  o->f = fdopen(fd, "w");
  if (!o->f) {
    fprintf(stderr, "mtsched: %s: %s\n", path, strerror(errno));
    close(fd);
    unlink(o->tmp);
    free(o->tmp), free(o->final);
    return 1;
  }
  return 0;
}

/* Closes o; rc != 0 (with err its errno) means the writing already failed.
 * Returns the exit status: 0, or 1 after one message. */
static int outfile_close(outfile_t *o, int rc, int err) {
  if (!rc && fflush(o->f)) rc = 1, err = errno;
  if (fclose(o->f) && !rc) rc = 1, err = errno;
  if (!rc && o->tmp && rename(o->tmp, o->final)) rc = 1, err = errno;
  if (rc) {
    fprintf(stderr, "mtsched: %s: write error: %s\n", o->path, strerror(err));
    if (o->tmp) unlink(o->tmp); /* ours; FILE itself is untouched */
  }
  free(o->tmp);
  free(o->final);
  return rc ? 1 : 0;
}

static int write_output(const cli_t *c, ms_result_t *rs, size_t n) {
  outfile_t o = {.f = stdout, .path = "stdout"};
  if (c->out && outfile_open(&o, c->out)) return 1;
  setvbuf(o.f, NULL, _IONBF, 0); /* the writers buffer in 1 MiB chunks themselves */
  int rc = strcmp(c->cmd, "run") == 0 ? ms_write_run(o.f, rs, c->format)
                                      : ms_write_compare(o.f, rs, n, c->format);
  int err = errno;
  if (c->out) return outfile_close(&o, rc, err);
  if (!rc && fflush(stdout)) rc = 1, err = errno;
  if (rc) fprintf(stderr, "mtsched: stdout: write error: %s\n", strerror(err));
  return rc ? 1 : 0;
}

static int simulate(cli_t *c) {
  char err[MS_ERRLEN];
  if (!c->policies) return die("missing -p POLICY");
  if (c->jobs && c->workload) return die("give either --jobs or a WORKLOAD, not both");
  if (!c->jobs && !c->workload) return die("missing WORKLOAD (a file, - for stdin, or --jobs)");
  char **specs = NULL;
  size_t n = 0;
  if (split_policies(c->policies, &specs, &n)) return 2;
  int status = 0;
  if (strcmp(c->cmd, "run") == 0 && n != 1)
    status = die("run takes one policy (use compare for '%s')", c->policies);
  ms_config_t *cfg = calloc(n, sizeof *cfg);
  ms_result_t *rs = calloc(n, sizeof *rs);
  ms_workload_t w = {0};
  char *text = NULL;
  size_t len = 0;
  if (!status && (!cfg || !rs)) status = die("out of memory");
  for (size_t i = 0; !status && i < n; i++)
    if (ms_config_from_spec(&c->base, specs[i], &cfg[i], err, sizeof err))
      status = die("%s", err);
  if (!status && c->jobs && ms_jobs_workload(c->jobs, &w, err, sizeof err))
    status = die("%s", err);
  if (!status && !c->jobs && read_all(c->workload, &text, &len)) status = 2;
  if (!status && !c->jobs) {
    const char *name = strcmp(c->workload, "-") == 0 ? "<stdin>" : c->workload;
    int rc = ms_parse_workload_owned(text, len, name, &w, err, sizeof err);
    text = NULL; /* the workload owns it now */
    if (rc) status = rc == MS_EINPUT ? die("%s", err) : die("out of memory");
  }
  size_t done = 0;
  const char *src = c->jobs ? "--jobs" : strcmp(c->workload, "-") == 0 ? "<stdin>" : c->workload;
  for (; !status && done < n; done++) {
    int rc = ms_simulate(&w, &cfg[done], &rs[done], err, sizeof err);
    if (rc) status = die("%s: %s", src, err);
  }
  if (!status) status = write_output(c, rs, n);
  for (size_t i = 0; i < n; i++) {
    if (i < done && rs) ms_result_free(&rs[i]);
    free(specs[i]);
  }
  free(specs);
  free(cfg);
  free(rs);
  free(text);
  ms_workload_free(&w);
  return status;
}

int main(int argc, char **argv) {
  if (argc < 2) return fputs(usage, stderr), 2;
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
    return fputs(usage, stdout), 0;
  cli_t c = {.cmd = argv[1], .format = MS_TEXT};
  ms_config_init(&c.base);
  ms_gen_defaults(&c.gen);
  if (strcmp(c.cmd, "run") && strcmp(c.cmd, "compare") && strcmp(c.cmd, "gen"))
    return die("unknown command '%s' (run, compare, gen; --help)", c.cmd);
  int rc = parse_args(&c, argc, argv);
  if (rc) return rc;
  if (strcmp(c.cmd, "gen") == 0) {
    if (c.workload) return die("gen takes no WORKLOAD (it writes one)");
    outfile_t o = {.f = stdout, .path = "stdout"};
    if (c.out && outfile_open(&o, c.out)) return 1;
    int bad = ms_gen(o.f, &c.gen), err = errno;
    if (c.out) return outfile_close(&o, bad, err);
    if (bad || fflush(stdout)) return fprintf(stderr, "mtsched: stdout: write error\n"), 1;
    return 0;
  }
  return simulate(&c);
}
