/* parse.c - workload files and policy options of mtsched.
 *
 * The parser copies the input once, cuts names in place (so a workload of a
 * million processes costs two allocations plus the burst array) and checks
 * every field before anything is simulated: a bad file produces exactly one
 * message "file:line: what is wrong" and no result.  Duplicate names are
 * found with an open-addressing hash set that grows as lines are read, so
 * the first offending line is the one reported. */
#include "mtsched.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && errlen) vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return MS_EINPUT;
}

/* 0 ok, -1 not a number, -2 too large, -3 below min. */
int ms_parse_i64(const char *s, size_t len, int64_t min, int64_t *out) {
  size_t i = 0;
  bool neg = false;
  if (len > 0 && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    i = 1;
  }
  if (i == len) return -1;
  uint64_t v = 0;
  if (len - i <= 18) { /* fewer than 19 digits cannot overflow: no checks */
    for (; i < len; i++) {
      unsigned d = (unsigned)(unsigned char)s[i] - '0';
      if (d > 9) return -1;
      v = v * 10 + d;
    }
    if (neg) {
      int64_t r = -(int64_t)v;
      if (r < min) return -3;
      *out = r;
      return 0;
    }
    if ((int64_t)v < min) return -3;
    *out = (int64_t)v;
    return 0;
  }
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return -2;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > (uint64_t)INT64_MAX) return min < 0 ? -2 : -3; /* no INT64_MIN */
    int64_t r = -(int64_t)v;
    if (r < min) return -3;
    *out = r;
    return 0;
  }
  if (v > (uint64_t)INT64_MAX) return -2;
  if ((int64_t)v < min) return -3;
  *out = (int64_t)v;
  return 0;
}

static const char *num_problem(int rc) {
  return rc == -1 ? "is not an integer" : rc == -2 ? "is too large (max 2^63-1)"
                                                   : "must not be negative";
}

/* ---- big arrays ----
 * A million-process run touches ~300 MB of fresh memory; with 4 KiB pages
 * the page faults alone (expensive under virtualisation) cost as much as
 * the simulation.  Asking for transparent huge pages on the big arrays
 * divides them by 512.  Only a hint: ignored where unsupported. */
void ms_huge(void *p, size_t n) {
#ifdef MADV_HUGEPAGE
  if (n < ((size_t)4 << 20)) return;
  uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, e = (uintptr_t)p + n;
  if (e > a) madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

void *ms_big_alloc(size_t n, bool zero) {
  void *p = zero ? calloc(1, n ? n : 1) : malloc(n ? n : 1);
  if (p) ms_huge(p, n);
  return p;
}

/* ---- name set ----
 * Slots hold (hash tag << 32 | proc index + 1): a probe compares tags and
 * reaches for the name itself (a cache miss) only on a likely match. */
typedef struct nameset {
  uint64_t *slot; /* 0 = empty */
  size_t cap;
} nameset_t;

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static uint64_t slot_of(uint64_t h, size_t i) { return (h & 0xffffffff00000000ULL) | (i + 1); }

static int nameset_grow(nameset_t *ns, const ms_proc_t *procs, size_t n, size_t want) {
  size_t cap = ns->cap ? ns->cap * 2 : 64;
  while (cap < want) cap *= 2;
  uint64_t *slot = ms_big_alloc(cap * sizeof *slot, true);
  if (!slot) return MS_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    uint64_t hv = hash_name(procs[i].name);
    size_t h = (size_t)hv & (cap - 1);
    while (slot[h]) h = (h + 1) & (cap - 1);
    slot[h] = slot_of(hv, i);
  }
  free(ns->slot);
  ns->slot = slot;
  ns->cap = cap;
  return MS_OK;
}

/* Adds procs[n] (procs[0..n-1] already in); returns the index of an equal
 * name already present, -1 when new, or MS_ENOMEM - 1 on failure. */
static long nameset_add(nameset_t *ns, const ms_proc_t *procs, size_t n, uint64_t hv) {
  if ((n + 1) * 2 > ns->cap && nameset_grow(ns, procs, n, 0) != MS_OK) return -3;
  uint64_t tag = hv & 0xffffffff00000000ULL;
  size_t h = (size_t)hv & (ns->cap - 1);
  while (ns->slot[h]) {
    size_t j = (size_t)(ns->slot[h] & 0xffffffffU) - 1;
    if ((ns->slot[h] & 0xffffffff00000000ULL) == tag && strcmp(procs[j].name, procs[n].name) == 0)
      return (long)j;
    h = (h + 1) & (ns->cap - 1);
  }
  ns->slot[h] = slot_of(hv, n);
  return -1;
}

/* ---- workload ----
 * Names enter the set in batches: a batch of lines is parsed first (their
 * hash slots prefetched), then inserted in line order, so the random probes
 * of a big table overlap instead of stalling one by one.  A parse error
 * inserts the batch before it first, so an earlier duplicate still wins. */
enum { NAME_BATCH = 16 };

typedef struct parser {
  ms_workload_t *w;
  nameset_t *ns;
  size_t pend;                 /* parsed procs w->n .. w->n + pend - 1, not in ns yet */
  uint64_t hash[NAME_BATCH];
  size_t capp, capb;
  const char *fname;
  char *err;
  size_t errlen;
  int line;
} parser_t;

/* One table lookup per character instead of five comparisons. */
enum { CH_TEXT, CH_BLANK, CH_HASH };
static const unsigned char char_class[256] = {
    [' '] = CH_BLANK,  ['\t'] = CH_BLANK, ['\r'] = CH_BLANK,
    ['\v'] = CH_BLANK, ['\f'] = CH_BLANK, ['#'] = CH_HASH};

static int push_burst(parser_t *ps, int64_t v) {
  ms_workload_t *w = ps->w;
  if (w->nbursts == ps->capb) {
    size_t cap = ps->capb ? ps->capb * 2 : 256;
    int64_t *b = realloc(w->bursts, cap * sizeof *b);
    if (!b) return MS_ENOMEM;
    w->bursts = b;
    ps->capb = cap;
  }
  w->bursts[w->nbursts++] = v;
  return MS_OK;
}

static int parse_bursts(parser_t *ps, const char *s, size_t len, ms_proc_t *p) {
  p->burst_off = ps->w->nbursts;
  p->nbursts = 0;
  p->cpu_total = p->io_total = 0;
  size_t i = 0;
  for (;;) {
    size_t j = i;
    while (j < len && s[j] != ',') j++;
    int64_t v;
    bool cpu = p->nbursts % 2 == 0;
    if (j == i)
      return fail(ps->err, ps->errlen, "%s:%d: bad burst list '%.*s': empty item",
                  ps->fname, ps->line, (int)len, s);
    int rc = ms_parse_i64(s + i, j - i, 0, &v);
    if (rc)
      return fail(ps->err, ps->errlen, "%s:%d: bad burst list '%.*s': '%.*s' %s",
                  ps->fname, ps->line, (int)len, s, (int)(j - i), s + i, num_problem(rc));
    if (v == 0)
      return fail(ps->err, ps->errlen,
                  "%s:%d: bad burst list '%.*s': %s burst %d is 0 (bursts are >= 1)",
                  ps->fname, ps->line, (int)len, s, cpu ? "CPU" : "I/O", p->nbursts + 1);
    int64_t *tot = cpu ? &p->cpu_total : &p->io_total;
    if (__builtin_add_overflow(*tot, v, tot) || p->nbursts == INT32_MAX - 1)
      return fail(ps->err, ps->errlen, "%s:%d: bursts add up to more than 2^63-1 ticks",
                  ps->fname, ps->line);
    if (push_burst(ps, v)) return MS_ENOMEM;
    p->nbursts++;
    if (j == len) break;
    i = j + 1;
  }
  if (p->nbursts % 2 == 0)
    return fail(ps->err, ps->errlen,
                "%s:%d: bad burst list '%.*s': must end with a CPU burst (odd count)",
                ps->fname, ps->line, (int)len, s);
  int64_t end;
  if (__builtin_add_overflow(p->cpu_total, p->io_total, &end) ||
      __builtin_add_overflow(end, p->arrival, &end))
    return fail(ps->err, ps->errlen,
                "%s:%d: arrival plus bursts is more than 2^63-1 ticks", ps->fname, ps->line);
  return MS_OK;
}

/* Inserts the pending names in order; the first duplicate is the error. */
static int flush_names(parser_t *ps) {
  ms_workload_t *w = ps->w;
  for (size_t k = 0; k < ps->pend; k++) {
    long dup = nameset_add(ps->ns, w->procs, w->n, ps->hash[k]);
    if (dup == -3) return ps->pend = 0, MS_ENOMEM;
    if (dup >= 0) {
      ps->pend = 0;
      return fail(ps->err, ps->errlen, "%s:%d: duplicate name '%s' (first on line %d)",
                  ps->fname, w->procs[w->n].line, w->procs[w->n].name, w->procs[dup].line);
    }
    w->n++;
  }
  ps->pend = 0;
  return MS_OK;
}

/* Offset of the first byte of s[0..len) that does not belong to
 * well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), or -1.  Names are checked because JSON and XML (SVG)
 * readers reject anything else; escaping would silently rename a process. */
static long utf8_bad(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || i + n > len) return (long)i;
    /* the second byte's range depends on the first (overlongs, surrogates, max) */
    unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (n > 1 && (s[i + 1] < lo || s[i + 1] > hi)) return (long)i;
    for (size_t k = 2; k < n; k++)
      if ((s[i + k] & 0xc0) != 0x80) return (long)i;
    i += n;
  }
  return -1;
}

static int parse_line(parser_t *ps, char *s, size_t len) {
  char *f[5];
  size_t fl[5];
  int nf = 0;
  size_t i = 0;
  while (i < len) {
    while (i < len && char_class[(unsigned char)s[i]] == CH_BLANK) i++;
    if (i == len || s[i] == '#') break; /* '#' ends the line */
    size_t j = i;
    while (j < len && char_class[(unsigned char)s[j]] == CH_TEXT) j++;
    if (j < len && s[j] == '#') len = j; /* a comment right after a field */
    if (nf == 4)
      return fail(ps->err, ps->errlen,
                  "%s:%d: too many fields (expected NAME ARRIVAL BURSTS [PRIORITY])",
                  ps->fname, ps->line);
    f[nf] = s + i;
    fl[nf++] = j - i;
    i = j;
  }
  if (nf == 0) return MS_OK;
  if (nf < 3)
    return fail(ps->err, ps->errlen, "%s:%d: missing %s (expected NAME ARRIVAL BURSTS [PRIORITY])",
                ps->fname, ps->line, nf == 1 ? "ARRIVAL and BURSTS" : "BURSTS");
  unsigned char high = 0; /* any byte >= 0x80: only then the full check */
  for (size_t k = 0; k < fl[0]; k++) high |= (unsigned char)f[0][k];
  long bad = high & 0x80 ? utf8_bad((const unsigned char *)f[0], fl[0]) : -1;
  if (bad >= 0)
    return fail(ps->err, ps->errlen, "%s:%d: NAME is not valid UTF-8 (byte 0x%02x at position %ld)",
                ps->fname, ps->line, (unsigned char)f[0][bad], bad + 1);
  ms_workload_t *w = ps->w;
  if (w->n + ps->pend == ps->capp) {
    size_t cap = ps->capp ? ps->capp * 2 : 64;
    if (cap > (size_t)INT32_MAX - 2)
      return fail(ps->err, ps->errlen, "%s:%d: too many processes", ps->fname, ps->line);
    ms_proc_t *p = realloc(w->procs, cap * sizeof *p);
    if (!p) return MS_ENOMEM;
    w->procs = p;
    ps->capp = cap;
  }
  ms_proc_t *p = &w->procs[w->n + ps->pend];
  memset(p, 0, sizeof *p);
  p->line = ps->line;
  int rc = ms_parse_i64(f[1], fl[1], 0, &p->arrival);
  if (rc)
    return fail(ps->err, ps->errlen, "%s:%d: ARRIVAL '%.*s' %s", ps->fname, ps->line,
                (int)fl[1], f[1], num_problem(rc));
  if (nf == 4) {
    rc = ms_parse_i64(f[3], fl[3], INT64_MIN + 1, &p->priority);
    if (rc)
      return fail(ps->err, ps->errlen, "%s:%d: PRIORITY '%.*s' %s", ps->fname, ps->line,
                  (int)fl[3], f[3], rc == -1 ? "is not an integer" : "is out of range");
  }
  rc = parse_bursts(ps, f[2], fl[2], p);
  if (rc) return rc;
  f[0][fl[0]] = '\0';
  p->name = f[0];
  uint64_t hv = hash_name(p->name);
  __builtin_prefetch(&ps->ns->slot[hv & (ps->ns->cap - 1)]);
  ps->hash[ps->pend++] = hv;
  return ps->pend == NAME_BATCH ? flush_names(ps) : MS_OK;
}

int ms_parse_workload(const char *buf, size_t len, const char *fname,
                      ms_workload_t *w, char *err, size_t errlen) {
  char *text = ms_big_alloc(len + 1, false);
  if (!text) {
    memset(w, 0, sizeof *w);
    return fail(err, errlen, "%s: out of memory", fname ? fname : "<workload>"), MS_ENOMEM;
  }
  memcpy(text, buf, len);
  return ms_parse_workload_owned(text, len, fname, w, err, errlen);
}

int ms_parse_workload_owned(char *text, size_t len, const char *fname, ms_workload_t *w,
                            char *err, size_t errlen) {
  memset(w, 0, sizeof *w);
  if (!fname) fname = "<workload>";
  w->text = text;
  w->text[len] = '\0';
  nameset_t ns = {0};
  parser_t ps = {.w = w, .ns = &ns, .fname = fname, .err = err, .errlen = errlen};
  int rc = MS_OK;
  /* Size the arrays from the line count once instead of growing them. */
  size_t lines = 1;
  for (const char *q = w->text, *e = w->text + len; (q = memchr(q, '\n', (size_t)(e - q))); q++)
    lines++;
  if (lines > ((size_t)1 << 30)) lines = (size_t)1 << 30;
  w->procs = ms_big_alloc(lines * sizeof *w->procs, false);
  w->bursts = ms_big_alloc(lines * sizeof *w->bursts, false);
  if (!w->procs || !w->bursts || nameset_grow(&ns, NULL, 0, 2 * lines) != MS_OK)
    rc = MS_ENOMEM;
  ps.capp = ps.capb = lines;
  char *s = w->text;
  size_t i = 0;
  while (rc == MS_OK && i < len) {
    ps.line++;
    const char *nl = memchr(s + i, '\n', len - i);
    size_t j = nl ? (size_t)(nl - s) : len;
    if (memchr(s + i, '\0', j - i))
      rc = fail(err, errlen, "%s:%d: NUL byte in line", fname, ps.line);
    else
      rc = parse_line(&ps, s + i, j - i);
    i = j + 1;
  }
  if (ps.pend) { /* the lines before the end or before an error */
    int rc2 = flush_names(&ps);
    if (rc2 != MS_OK) rc = rc2;
  }
  free(ns.slot);
  if (rc == MS_ENOMEM) fail(err, errlen, "%s: out of memory", fname);
  if (rc == MS_OK && w->n == 0)
    rc = fail(err, errlen, "%s: empty workload: no process lines (NAME ARRIVAL BURSTS [PRIORITY])",
              fname);
  if (rc != MS_OK) ms_workload_free(w);
  return rc;
}

int ms_jobs_workload(const char *list, ms_workload_t *w, char *err, size_t errlen) {
  /* Rewritten as a workload text so that one code path checks it. */
  size_t len = strlen(list);
  size_t cap = len * 2 + 64, n = 0;
  char *text = malloc(cap), *out = text;
  if (!text) return MS_ENOMEM;
  const char *s = list;
  int line = 0;
  for (;;) {
    const char *e = strchr(s, ',');
    size_t l = e ? (size_t)(e - s) : strlen(s);
    if (l == 0 || l > 40) {
      free(text);
      return fail(err, errlen, "--jobs: bad job length '%.*s' in '%s'", (int)(l > 40 ? 40 : l),
                  s, list);
    }
    if ((size_t)(out - text) + l + 40 > cap) {
      size_t off = (size_t)(out - text);
      cap = cap * 2 + l + 64;
      char *t = realloc(text, cap);
      if (!t) return free(text), MS_ENOMEM;
      text = t;
      out = text + off;
    }
    out += sprintf(out, "J%zu 0 %.*s\n", n++, (int)l, s);
    line++;
    if (!e) break;
    s = e + 1;
  }
  char e2[MS_ERRLEN];
  int rc = ms_parse_workload(text, (size_t)(out - text), "--jobs", w, e2, sizeof e2);
  free(text);
  if (rc == MS_EINPUT) {
    /* "--jobs:N: BURSTS..." -> name the job instead of a line */
    const char *m = strstr(e2, ": ");
    return fail(err, errlen, "--jobs '%s': %s", list, m ? m + 2 : e2);
  }
  for (size_t i = 0; rc == MS_OK && i < w->n; i++) w->procs[i].line = 0;
  return rc;
}

void ms_workload_free(ms_workload_t *w) {
  free(w->procs);
  free(w->bursts);
  free(w->text);
  memset(w, 0, sizeof *w);
}

/* ---- policies and options ---- */
static const char *const policy_names[MS_NPOLICIES] = {
    "fcfs", "sjf", "srtf", "priority", "ppriority", "hrrn", "rr", "mlfq"};

const char *ms_policy_name(ms_policy_t p) {
  return (unsigned)p < MS_NPOLICIES ? policy_names[p] : "?";
}

int ms_policy_from_name(const char *name, ms_policy_t *out) {
  for (int i = 0; i < MS_NPOLICIES; i++)
    if (strcmp(name, policy_names[i]) == 0) {
      *out = (ms_policy_t)i;
      return MS_OK;
    }
  return MS_EINPUT;
}

void ms_config_init(ms_config_t *c) {
  memset(c, 0, sizeof *c);
  c->policy = MS_FCFS;
  c->quantum = 4;
}

static int parse_list(const char *key, const char *val, int64_t *out, int *n, char *err,
                      size_t errlen) {
  int k = 0;
  const char *s = val;
  for (;;) {
    const char *e = strchr(s, ',');
    size_t l = e ? (size_t)(e - s) : strlen(s);
    int64_t v;
    if (k == MS_MAX_QUEUES)
      return fail(err, errlen, "%s: at most %d values", key, MS_MAX_QUEUES);
    int rc = ms_parse_i64(s, l, 1, &v);
    if (rc)
      return fail(err, errlen, "%s: '%.*s' is not a positive integer", key, (int)l, s);
    out[k++] = v;
    if (!e) break;
    s = e + 1;
  }
  *n = k;
  return MS_OK;
}

int ms_config_set(ms_config_t *c, const char *key, const char *val, char *err,
                  size_t errlen) {
  int64_t v = 0;
  bool positive = strcmp(key, "cs") != 0;
  if (!val) return fail(err, errlen, "option %s needs a value", key);
  if (strcmp(key, "quanta") == 0) return parse_list("quanta", val, c->quanta, &c->nquanta, err, errlen);
  if (strcmp(key, "allotment") == 0)
    return parse_list("allotment", val, c->allotment, &c->nallot, err, errlen);
  if (strcmp(key, "q") && strcmp(key, "cs") && strcmp(key, "aging") && strcmp(key, "queues") &&
      strcmp(key, "boost") && strcmp(key, "cpus"))
    return fail(err, errlen, "unknown option '%s'", key);
  int rc = ms_parse_i64(val, strlen(val), positive ? 1 : 0, &v);
  if (rc)
    return fail(err, errlen, "%s: '%s' is not a %s integer%s", key, val,
                positive ? "positive" : "non-negative",
                strcmp(key, "q") == 0 ? " (quantum must be >= 1)" : "");
  if (strcmp(key, "q") == 0) c->quantum = v;
  else if (strcmp(key, "cs") == 0) c->cs = v;
  else if (strcmp(key, "aging") == 0) c->aging = v;
  else if (strcmp(key, "boost") == 0) c->boost = v;
  else if (strcmp(key, "cpus") == 0) {
    if (v > MS_MAX_CPUS) return fail(err, errlen, "cpus: at most %d", MS_MAX_CPUS);
    c->cpus = (int)v;
  }
  else {
    if (v > MS_MAX_QUEUES) return fail(err, errlen, "queues: at most %d", MS_MAX_QUEUES);
    c->queues = (int)v;
  }
  return MS_OK;
}

static void append_label(ms_config_t *c, const char *fmt, int64_t v) {
  size_t l = strlen(c->label);
  snprintf(c->label + l, sizeof c->label - l, fmt, (long long)v);
}

int ms_config_finish(ms_config_t *c, char *err, size_t errlen) {
  snprintf(c->label, sizeof c->label, "%s", ms_policy_name(c->policy));
  if (c->policy == MS_MLFQ) {
    if (c->nquanta && c->queues && c->nquanta != c->queues)
      return fail(err, errlen, "mlfq: quanta has %d values but queues is %d", c->nquanta,
                  c->queues);
    if (!c->queues) c->queues = c->nquanta ? c->nquanta : 3;
    if (!c->nquanta) {
      for (int i = 0; i < c->queues; i++) c->quanta[i] = i < 62 ? (int64_t)1 << i : INT64_MAX;
      c->nquanta = c->queues;
    }
    if (c->nallot == 1)
      for (int i = 1; i < c->queues; i++) c->allotment[i] = c->allotment[0];
    else if (c->nallot && c->nallot != c->queues)
      return fail(err, errlen, "mlfq: allotment has %d values but there are %d queues",
                  c->nallot, c->queues);
    if (c->nallot) c->nallot = c->queues;
    append_label(c, ":queues=%lld", c->queues);
    strcat(c->label, ":quanta=");
    for (int i = 0; i < c->queues; i++) append_label(c, i ? ",%lld" : "%lld", c->quanta[i]);
    if (c->boost) append_label(c, ":boost=%lld", c->boost);
    if (c->nallot) append_label(c, ":allotment=%lld", c->allotment[0]);
  }
  if (c->policy == MS_RR) append_label(c, ":q=%lld", c->quantum);
  if (c->aging && (c->policy == MS_PRIORITY || c->policy == MS_PPRIORITY))
    append_label(c, ":aging=%lld", c->aging);
  if (c->cs) append_label(c, ":cs=%lld", c->cs);
  if (c->cpus > 1) append_label(c, ":cpus=%lld", c->cpus);
  return MS_OK;
}

int ms_config_from_spec(const ms_config_t *base, const char *spec, ms_config_t *out,
                        char *err, size_t errlen) {
  char buf[512];
  if (strlen(spec) >= sizeof buf) return fail(err, errlen, "policy spec too long");
  strcpy(buf, spec);
  *out = *base;
  char *colon = strchr(buf, ':');
  if (colon) *colon = '\0';
  if (ms_policy_from_name(buf, &out->policy))
    return fail(err, errlen,
                "unknown policy '%s' (fcfs, sjf, srtf, priority, ppriority, hrrn, rr, mlfq)",
                buf);
  char *s = colon ? colon + 1 : NULL;
  while (s) {
    char *next = strchr(s, ':');
    if (next) *next++ = '\0';
    char *eq = strchr(s, '=');
    if (!eq) return fail(err, errlen, "policy option '%s' of '%s' has no '='", s, spec);
    *eq = '\0';
    const char *key = strcmp(s, "quantum") == 0 ? "q" : s;
    char e2[MS_ERRLEN];
    if (ms_config_set(out, key, eq + 1, e2, sizeof e2))
      return fail(err, errlen, "policy '%s': %s", spec, e2);
    /* an option given here overrides the global pair it belongs to */
    if (strcmp(key, "quanta") == 0 && !strstr(spec, "queues=")) out->queues = 0;
    if (strcmp(key, "queues") == 0 && !strstr(spec, "quanta=") && out->nquanta != out->queues)
      out->nquanta = 0;
    s = next;
  }
  return ms_config_finish(out, err, errlen);
}
