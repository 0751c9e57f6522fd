/* output.c - text, JSON, CSV and SVG renderings of simulation results.
 *
 * Output is written only after every simulation succeeded (the caller's
 * job), so a failure never leaves partial output.  Integers are formatted by
 * hand into a private buffer handed to the FILE in 1 MiB chunks: a
 * million-process JSON document is ~10^7 numbers (271 MB) and printf, or
 * even one stdio call per field, would dominate the run.  Doubles in JSON
 * use the shortest form that reads back to the same double. */
#include "mtsched.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- primitives ----
 * All output goes through out_t: a private 1 MiB buffer filled with plain
 * stores and handed to the caller's FILE in whole chunks.  stdio's per-call
 * overhead (locking, bounds checks, function calls per field) was a third of
 * a million-process JSON run. */
enum { OUT_CAP = 1 << 20, OUT_SLACK = 256 };

typedef struct out {
  FILE *f;
  char *p, *end; /* next free byte; end = buf + OUT_CAP - OUT_SLACK */
  char *buf;
  int err;
} out_t;

static void out_flush(out_t *o) {
  size_t n = (size_t)(o->p - o->buf);
  if (n && !o->err && fwrite(o->buf, 1, n, o->f) != n) o->err = 1;
  o->p = o->buf;
}

/* Makes room for n more bytes (n <= OUT_SLACK after a flush always fits). */
static inline void out_room(out_t *o, size_t n) {
  if ((size_t)(o->end - o->p) + OUT_SLACK < n || o->p >= o->end) out_flush(o);
}

static void out_mem(out_t *o, const void *s, size_t n) {
  if (n > (size_t)OUT_CAP / 2) {
    out_flush(o);
    if (!o->err && fwrite(s, 1, n, o->f) != n) o->err = 1;
    return;
  }
  out_room(o, n);
  memcpy(o->p, s, n);
  o->p += n;
}

static void put_s(out_t *f, const char *s) { out_mem(f, s, strlen(s)); }
static inline void put_c(out_t *f, char c) {
  out_room(f, 1);
  *f->p++ = c;
}
/* A string literal: its length is known at compile time. */
#define PUT_LIT(o, lit) out_mem((o), (lit), sizeof(lit) - 1)

static void out_printf(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(out_t *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    o->err = 1;
    return;
  }
  out_room(o, (size_t)n + 1);
  if ((size_t)n + 1 > (size_t)(o->end - o->p) + OUT_SLACK) { /* longer than the buffer */
    char *t = malloc((size_t)n + 1);
    if (!t) {
      o->err = 1;
      return;
    }
    va_start(ap, fmt);
    vsnprintf(t, (size_t)n + 1, fmt, ap);
    va_end(ap);
    out_mem(o, t, (size_t)n);
    free(t);
    return;
  }
  va_start(ap, fmt);
  vsnprintf(o->p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  o->p += n;
}

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static const uint64_t pow10_tab[20] = {1ULL,
                                    10ULL,
                                    100ULL,
                                    1000ULL,
                                    10000ULL,
                                    100000ULL,
                                    1000000ULL,
                                    10000000ULL,
                                    100000000ULL,
                                    1000000000ULL,
                                    10000000000ULL,
                                    100000000000ULL,
                                    1000000000000ULL,
                                    10000000000000ULL,
                                    100000000000000ULL,
                                    1000000000000000ULL,
                                    10000000000000000ULL,
                                    100000000000000000ULL,
                                    1000000000000000000ULL,
                                    10000000000000000000ULL};

/* Number of decimal digits of u: log10 from the bit length, then one
 * comparison (1233/4096 ~ log10(2)). */
static inline int count_digits(uint64_t u) {
  int bits = 64 - __builtin_clzll(u | 1);
  int n = (bits * 1233) >> 12;
  return n + (u >= pow10_tab[n]);
}

/* Writes v in decimal at d (>= 20 bytes free), returns the length: two
 * digits per step from a table, in 32-bit arithmetic below 10^8. */
static inline int fmt_u64(char *d, uint64_t u) {
  if (u < 10) {
    *d = (char)('0' + u);
    return 1;
  }
  int n = count_digits(u);
  char *e = d + n;
  while (u >= 100000000) {
    uint32_t lo = (uint32_t)(u % 100000000);
    u /= 100000000;
    for (int k = 0; k < 4; k++) {
      unsigned t = (lo % 100) * 2;
      lo /= 100;
      *--e = digits2[t + 1];
      *--e = digits2[t];
    }
  }
  uint32_t v = (uint32_t)u;
  while (v >= 100) {
    unsigned t = (v % 100) * 2;
    v /= 100;
    *--e = digits2[t + 1];
    *--e = digits2[t];
  }
  if (v >= 10) {
    *--e = digits2[v * 2 + 1];
    *--e = digits2[v * 2];
  } else {
    *--e = (char)('0' + v);
  }
  return n;
}

static inline int fmt_i64(char *buf, int64_t v) { /* buf >= 21 bytes, not NUL-ended */
  if (v < 0) {
    buf[0] = '-';
    return 1 + fmt_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
  }
  return fmt_u64(buf, (uint64_t)v);
}

static inline void put_i64(out_t *f, int64_t v) {
  out_room(f, 24);
  f->p += fmt_i64(f->p, v);
}

static void put_json_str(out_t *f, const char *s) {
  const char *e = s;
  while ((unsigned char)*e >= 0x20 && *e != '"' && *e != '\\') e++;
  if (!*e) { /* the common case: nothing to escape */
    put_c(f, '"');
    out_mem(f, s, (size_t)(e - s));
    put_c(f, '"');
    return;
  }
  put_c(f, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') put_c(f, '\\'), put_c(f, (char)c);
    else if (c < 0x20) out_printf(f, "\\u%04x", c);
    else put_c(f, (char)c);
  }
  put_c(f, '"');
}

static void put_json_double(out_t *f, double v) {
  char b[40];
  for (int p = 1; p <= 17; p++) {
    snprintf(b, sizeof b, "%.*g", p, v);
    if (strtod(b, NULL) == v) break;
  }
  put_s(f, b);
  if (!strpbrk(b, ".eEn")) put_s(f, ".0");
}

static void put_xml(out_t *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<': put_s(f, "&lt;"); break;
    case '>': put_s(f, "&gt;"); break;
    case '&': put_s(f, "&amp;"); break;
    case '"': put_s(f, "&quot;"); break;
    case '\'': put_s(f, "&apos;"); break;
    default:
      if ((unsigned char)*s >= 0x20 || *s == '\t') put_c(f, *s);
    }
  }
}

static void put_csv(out_t *f, const char *s) {
  if (!strpbrk(s, ",\"\n\r")) {
    put_s(f, s);
    return;
  }
  put_c(f, '"');
  for (; *s; s++) {
    if (*s == '"') put_c(f, '"');
    put_c(f, *s);
  }
  put_c(f, '"');
}

static void put_bursts(out_t *f, const ms_workload_t *w, const ms_proc_t *p, char sep) {
  for (int k = 0; k < p->nbursts; k++) {
    if (k) put_c(f, sep);
    put_i64(f, ms_burst(w, p, k));
  }
}

static const char *slice_name(const ms_result_t *r, const ms_slice_t *g) {
  return g->proc == MS_IDLE ? "idle" : g->proc == MS_CS ? "cs" : r->w->procs[g->proc].name;
}

static int finish(out_t *o) {
  out_flush(o);
  free(o->buf);
  return o->err || ferror(o->f) ? MS_EIO : MS_OK;
}

static int out_open(out_t *o, FILE *f) {
  o->f = f;
  o->err = 0;
  o->buf = malloc(OUT_CAP);
  if (!o->buf) return MS_ENOMEM;
  o->p = o->buf;
  o->end = o->buf + OUT_CAP - OUT_SLACK;
  return MS_OK;
}

/* ---- text ---- */
enum { COLS = 9 };
static const char *const col_names[COLS] = {"name",   "arrival",    "bursts",  "priority", "start",
                                            "finish", "turnaround", "waiting", "response"};

static int bursts_width(const ms_workload_t *w, const ms_proc_t *p) {
  int n = 0;
  char b[24];
  for (int k = 0; k < p->nbursts; k++) n += fmt_i64(b, ms_burst(w, p, k)) + (k > 0);
  return n;
}

static void row_values(const ms_result_t *r, size_t i, int64_t v[COLS]) {
  const ms_proc_t *p = &r->w->procs[i];
  const ms_pstat_t *s = &r->ps[i];
  int64_t vals[COLS] = {0,         p->arrival,    0,          p->priority, s->start,
                        s->finish, s->turnaround, s->waiting, s->response};
  memcpy(v, vals, sizeof vals);
}

static void pad(out_t *f, int n) {
  while (n-- > 0) put_c(f, ' ');
}

/* ---- --trace ---- */
enum { TRACE_TEXT_CAP = 2000, TRACE_QUEUES_MAX_PROCS = 64 };

static void trace_fields(out_t *f, const ms_result_t *r, const ms_trace_t *e) {
  put_i64(f, e->t);
  put_c(f, ' ');
  put_s(f, ms_event_name(e->ev));
  if (e->proc >= 0) put_c(f, ' '), put_s(f, r->w->procs[e->proc].name);
  if (e->cpu >= 0) put_s(f, " cpu="), put_i64(f, e->cpu);
  if (e->level >= 0) put_s(f, " level="), put_i64(f, e->level);
  if (e->left >= 0) put_s(f, " allotment_left="), put_i64(f, e->left);
  if (e->until >= 0) put_s(f, " until="), put_i64(f, e->until);
}

/* The text trace: one line per event, at most TRACE_TEXT_CAP lines (the
 * JSON trace has them all).  For small runs, the ready queues rebuilt from
 * the log so far (the rule in mtsched.h) follow each tick's events. */
static void write_text_trace(out_t *f, const ms_result_t *r) {
  size_t n = r->w->n;
  int levels = r->cfg.policy == MS_MLFQ ? r->cfg.queues : 1;
  bool queues = n <= TRACE_QUEUES_MAX_PROCS;
  int32_t q[MS_MAX_QUEUES][TRACE_QUEUES_MAX_PROCS];
  int len[MS_MAX_QUEUES] = {0};
  put_s(f, "\ntrace (time event process [cpu level allotment_left until])\n");
  for (size_t i = 0; i < r->ntrace && i < TRACE_TEXT_CAP; i++) {
    const ms_trace_t *e = &r->trace[i];
    put_s(f, "  ");
    trace_fields(f, r, e);
    put_c(f, '\n');
    if (!queues) continue;
    int l = e->level > 0 ? e->level : 0;
    if (e->ev == MS_EV_ARRIVE || e->ev == MS_EV_IO_DONE || e->ev == MS_EV_EXPIRE ||
        e->ev == MS_EV_PREEMPT) {
      q[l][len[l]++] = e->proc;
    } else if (e->ev == MS_EV_DISPATCH) {
      for (int k = 0; k < len[l]; k++)
        if (q[l][k] == e->proc) {
          memmove(&q[l][k], &q[l][k + 1], (size_t)(len[l] - k - 1) * sizeof q[l][0]);
          len[l]--;
          break;
        }
    } else if (e->ev == MS_EV_BOOST) {
      for (int m = 1; m < levels; m++) {
        memcpy(&q[0][len[0]], q[m], (size_t)len[m] * sizeof q[0][0]);
        len[0] += len[m];
        len[m] = 0;
      }
    }
    if (i + 1 < r->ntrace && r->trace[i + 1].t == e->t) continue; /* end of the tick only */
    put_s(f, "    ready");
    for (int m = 0; m < levels; m++) {
      if (levels > 1) put_s(f, " q"), put_i64(f, m), put_c(f, ':');
      put_s(f, " [");
      for (int k = 0; k < len[m]; k++) {
        if (k) put_c(f, ' ');
        put_s(f, r->w->procs[q[m][k]].name);
      }
      put_c(f, ']');
    }
    put_c(f, '\n');
  }
  if (r->ntrace > TRACE_TEXT_CAP) {
    put_s(f, "  ... ");
    put_i64(f, (int64_t)(r->ntrace - TRACE_TEXT_CAP));
    put_s(f, " more events (--format json has all of them)\n");
  }
}

static void write_json_trace(out_t *f, const ms_result_t *r, const char *indent) {
  out_printf(f, ",\n%s \"trace\": [", indent);
  for (size_t i = 0; i < r->ntrace; i++) {
    const ms_trace_t *e = &r->trace[i];
    put_s(f, i ? ",\n  " : "\n  ");
    put_s(f, indent);
    put_s(f, "{\"t\": ");
    put_i64(f, e->t);
    put_s(f, ", \"event\": \"");
    put_s(f, ms_event_name(e->ev));
    put_s(f, "\", \"name\": ");
    if (e->proc >= 0) put_json_str(f, r->w->procs[e->proc].name);
    else put_s(f, "null");
    if (e->cpu >= 0) put_s(f, ", \"cpu\": "), put_i64(f, e->cpu);
    if (e->level >= 0) put_s(f, ", \"level\": "), put_i64(f, e->level);
    if (e->left >= 0) put_s(f, ", \"allotment_left\": "), put_i64(f, e->left);
    if (e->until >= 0) put_s(f, ", \"until\": "), put_i64(f, e->until);
    put_c(f, '}');
  }
  put_c(f, ']');
}

static void write_text(out_t *f, const ms_result_t *r) {
  const ms_workload_t *w = r->w;
  put_s(f, "policy ");
  put_s(f, r->cfg.label);
  put_c(f, '\n');
  int cpus = r->cfg.cpus > 1 ? r->cfg.cpus : 1;
  for (int k = 0; k < cpus; k++) { /* with --cpus, one Gantt line per CPU */
    if (cpus > 1) put_s(f, "cpu"), put_i64(f, k), put_c(f, ' ');
    put_c(f, '|');
    for (size_t i = 0; i < r->ngantt; i++) {
      if (r->gantt[i].cpu != k) continue;
      put_s(f, slice_name(r, &r->gantt[i]));
      put_c(f, ' ');
      put_i64(f, r->gantt[i].start);
      put_c(f, '-');
      put_i64(f, r->gantt[i].end);
      put_c(f, '|');
    }
    put_c(f, '\n');
  }
  put_c(f, '\n');
  int width[COLS];
  char b[24];
  for (int c = 0; c < COLS; c++) width[c] = (int)strlen(col_names[c]);
  for (size_t i = 0; i < w->n; i++) {
    int64_t v[COLS];
    row_values(r, i, v);
    int l = (int)strlen(w->procs[i].name);
    if (l > width[0]) width[0] = l;
    l = bursts_width(w, &w->procs[i]);
    if (l > width[2]) width[2] = l;
    for (int c = 1; c < COLS; c++)
      if (c != 2 && (l = fmt_i64(b, v[c])) > width[c]) width[c] = l;
  }
  for (int c = 0; c < COLS; c++) {
    int l = (int)strlen(col_names[c]);
    if (c) put_s(f, "  ");
    if (c > 2 || c == 1) pad(f, width[c] - l);
    put_s(f, col_names[c]);
    if (c == 0 || c == 2) pad(f, c == 0 || c == 2 ? width[c] - l : 0);
  }
  put_c(f, '\n');
  for (size_t i = 0; i < w->n; i++) {
    int64_t v[COLS];
    row_values(r, i, v);
    const ms_proc_t *p = &w->procs[i];
    put_s(f, p->name);
    pad(f, width[0] - (int)strlen(p->name));
    for (int c = 1; c < COLS; c++) {
      put_s(f, "  ");
      if (c == 2) {
        put_bursts(f, w, p, ',');
        pad(f, width[2] - bursts_width(w, p));
      } else {
        pad(f, width[c] - fmt_i64(b, v[c]));
        put_i64(f, v[c]);
      }
    }
    put_c(f, '\n');
  }
  out_printf(f, "\naverage turnaround %.2f  waiting %.2f  response %.2f\n", r->avg_turnaround,
          r->avg_waiting, r->avg_response);
  out_printf(f, "makespan %lld  throughput %.4f processes/tick  cpu utilization %.2f%%  "
             "context switches %llu (%lld ticks)\n",
          (long long)r->makespan, r->throughput, 100.0 * r->utilization,
          (unsigned long long)r->context_switches, (long long)r->cs_time);
}

/* ---- json ---- */
/* Copies a string literal (length known at compile time) to d. */
#define LIT(d, lit) (memcpy((d), (lit), sizeof(lit) - 1), (d) + sizeof(lit) - 1)

/* Length of s when it needs no JSON escaping, else -1. */
static inline long json_plain_len(const char *s) {
  const char *e = s;
  while ((unsigned char)*e >= 0x20 && *e != '"' && *e != '\\') e++;
  return *e ? -1 : (long)(e - s);
}

/* One element of "processes": the hot loop of a big JSON document, written
 * with plain stores into the buffer when it surely fits (the slow path is
 * the same text through the general primitives). */
static void json_proc(out_t *f, const ms_workload_t *w, const ms_proc_t *p,
                      const ms_pstat_t *s, size_t i, const char *indent, size_t ilen) {
  long nl = json_plain_len(p->name);
  size_t need = 200 + ilen + (size_t)(nl < 0 ? 0 : nl) + 22 * (size_t)p->nbursts + 7 * 21;
  if (nl < 0 || need > OUT_CAP / 2) {
    put_s(f, i ? ",\n  " : "\n  ");
    put_s(f, indent);
    put_s(f, "{\"name\": ");
    put_json_str(f, p->name);
    put_s(f, ", \"arrival\": ");
    put_i64(f, p->arrival);
    put_s(f, ", \"bursts\": [");
    put_bursts(f, w, p, ',');
    put_s(f, "], \"priority\": ");
    put_i64(f, p->priority);
    put_s(f, ", \"start\": ");
    put_i64(f, s->start);
    put_s(f, ", \"finish\": ");
    put_i64(f, s->finish);
    put_s(f, ", \"turnaround\": ");
    put_i64(f, s->turnaround);
    put_s(f, ", \"waiting\": ");
    put_i64(f, s->waiting);
    put_s(f, ", \"response\": ");
    put_i64(f, s->response);
    put_c(f, '}');
    return;
  }
  out_room(f, need);
  char *d = f->p;
  if (i) *d++ = ',';
  d = LIT(d, "\n  ");
  memcpy(d, indent, ilen);
  d += ilen;
  d = LIT(d, "{\"name\": \"");
  memcpy(d, p->name, (size_t)nl);
  d += nl;
  d = LIT(d, "\", \"arrival\": ");
  d += fmt_i64(d, p->arrival);
  d = LIT(d, ", \"bursts\": [");
  const int64_t *b = w->bursts + p->burst_off;
  for (int k = 0; k < p->nbursts; k++) {
    if (k) *d++ = ',';
    d += fmt_i64(d, b[k]);
  }
  d = LIT(d, "], \"priority\": ");
  d += fmt_i64(d, p->priority);
  d = LIT(d, ", \"start\": ");
  d += fmt_i64(d, s->start);
  d = LIT(d, ", \"finish\": ");
  d += fmt_i64(d, s->finish);
  d = LIT(d, ", \"turnaround\": ");
  d += fmt_i64(d, s->turnaround);
  d = LIT(d, ", \"waiting\": ");
  d += fmt_i64(d, s->waiting);
  d = LIT(d, ", \"response\": ");
  d += fmt_i64(d, s->response);
  *d++ = '}';
  f->p = d;
}

/* One element of "gantt", same scheme. */
static void json_slice(out_t *f, const ms_workload_t *w, const ms_slice_t *g, size_t i,
                       const char *indent, size_t ilen, bool cpu) {
  const char *name = g->proc >= 0 ? w->procs[g->proc].name : NULL;
  long nl = name ? json_plain_len(name) : 0;
  size_t need = 120 + ilen + (size_t)(nl < 0 ? 0 : nl);
  if (nl < 0 || need > OUT_CAP / 2) {
    put_s(f, i ? ",\n  " : "\n  ");
    put_s(f, indent);
    put_s(f, "{\"name\": ");
    if (name) put_json_str(f, name);
    else put_s(f, "null");
    put_s(f, ", \"start\": ");
    put_i64(f, g->start);
    put_s(f, ", \"end\": ");
    put_i64(f, g->end);
    if (g->proc == MS_CS) put_s(f, ", \"cs\": true");
    if (cpu) put_s(f, ", \"cpu\": "), put_i64(f, g->cpu);
    put_c(f, '}');
    return;
  }
  out_room(f, need);
  char *d = f->p;
  if (i) *d++ = ',';
  d = LIT(d, "\n  ");
  memcpy(d, indent, ilen);
  d += ilen;
  d = LIT(d, "{\"name\": ");
  if (name) {
    *d++ = '"';
    memcpy(d, name, (size_t)nl);
    d += nl;
    *d++ = '"';
  } else {
    d = LIT(d, "null");
  }
  d = LIT(d, ", \"start\": ");
  d += fmt_i64(d, g->start);
  d = LIT(d, ", \"end\": ");
  d += fmt_i64(d, g->end);
  if (g->proc == MS_CS) d = LIT(d, ", \"cs\": true");
  if (cpu) {
    d = LIT(d, ", \"cpu\": ");
    d += fmt_i64(d, g->cpu);
  }
  *d++ = '}';
  f->p = d;
}

static void write_json(out_t *f, const ms_result_t *r, const char *indent) {
  const ms_workload_t *w = r->w;
  out_printf(f, "%s{\"policy\": ", indent);
  put_json_str(f, ms_policy_name(r->cfg.policy));
  put_s(f, ", \"label\": ");
  put_json_str(f, r->cfg.label);
  put_s(f, ",\n");
  out_printf(f, "%s \"processes\": [", indent);
  size_t ilen = strlen(indent);
  for (size_t i = 0; i < w->n; i++) json_proc(f, w, &w->procs[i], &r->ps[i], i, indent, ilen);
  out_printf(f, "],\n%s \"averages\": {\"turnaround\": ", indent);
  put_json_double(f, r->avg_turnaround);
  put_s(f, ", \"waiting\": ");
  put_json_double(f, r->avg_waiting);
  put_s(f, ", \"response\": ");
  put_json_double(f, r->avg_response);
  out_printf(f, "},\n%s \"makespan\": ", indent);
  put_i64(f, r->makespan);
  put_s(f, ", \"throughput\": ");
  put_json_double(f, r->throughput);
  put_s(f, ", \"cpu_utilization\": ");
  put_json_double(f, r->utilization);
  put_s(f, ", \"context_switches\": ");
  put_i64(f, (int64_t)r->context_switches);
  put_s(f, ", \"busy\": ");
  put_i64(f, r->busy);
  put_s(f, ", \"switch_time\": ");
  put_i64(f, r->cs_time);
  out_printf(f, ",\n%s \"gantt\": [", indent);
  for (size_t i = 0; i < r->ngantt; i++) {
    if (i + 16 < r->ngantt && r->gantt[i + 16].proc >= 0)
      __builtin_prefetch(&w->procs[r->gantt[i + 16].proc]);
    if (i + 8 < r->ngantt && r->gantt[i + 8].proc >= 0)
      __builtin_prefetch(w->procs[r->gantt[i + 8].proc].name);
    json_slice(f, w, &r->gantt[i], i, indent, ilen, r->cfg.cpus > 1);
  }
  put_c(f, ']');
  if (r->cfg.trace) write_json_trace(f, r, indent);
  put_c(f, '}');
}

/* ---- csv ---- */
static void write_csv_header(out_t *f, bool with_policy) {
  if (with_policy) put_s(f, "policy,");
  put_s(f, "name,arrival,bursts,priority,start,finish,turnaround,waiting,response\n");
}

static void write_csv_rows(out_t *f, const ms_result_t *r, bool with_policy) {
  const ms_workload_t *w = r->w;
  for (size_t i = 0; i < w->n; i++) {
    int64_t v[COLS];
    row_values(r, i, v);
    if (with_policy) {
      put_csv(f, r->cfg.label);
      put_c(f, ',');
    }
    put_csv(f, w->procs[i].name);
    put_c(f, ',');
    put_i64(f, v[1]);
    put_c(f, ',');
    if (w->procs[i].nbursts > 1) put_c(f, '"');
    put_bursts(f, w, &w->procs[i], ',');
    if (w->procs[i].nbursts > 1) put_c(f, '"');
    for (int c = 3; c < COLS; c++) {
      put_c(f, ',');
      put_i64(f, v[c]);
    }
    put_c(f, '\n');
  }
}

/* ---- svg ---- */
enum { SVG_W = 960, SVG_LEFT = 110, SVG_RIGHT = 30, ROW_H = 24, SVG_TOP = 44 };

static double svg_x(const ms_result_t *r, int64_t t) {
  int64_t span = r->last_finish - r->first_arrival;
  double w = SVG_W - SVG_LEFT - SVG_RIGHT;
  return SVG_LEFT + (span > 0 ? (double)(t - r->first_arrival) / (double)span * w : 0);
}

static int svg_height(const ms_result_t *r) {
  return SVG_TOP + (int)(r->w->n + 1) * ROW_H + 40;
}

static void svg_colour(out_t *f, size_t i) {
  out_printf(f, "hsl(%d,65%%,%d%%)", (int)((double)i * 137.508) % 360, 55 + (int)(i % 3) * 8);
}

static void svg_rect(out_t *f, const ms_result_t *r, const ms_slice_t *g, double y) {
  double x0 = svg_x(r, g->start), x1 = svg_x(r, g->end);
  out_printf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" ", x0, y,
          x1 - x0 < 0.5 ? 0.5 : x1 - x0, ROW_H - 6);
  if (g->proc == MS_CS) put_s(f, "fill=\"url(#cs)\" stroke=\"#c00\" stroke-width=\"1\"");
  else if (g->proc == MS_IDLE) put_s(f, "fill=\"#f4f4f4\" stroke=\"#bbb\" stroke-dasharray=\"3,2\"");
  else {
    put_s(f, "fill=\"");
    svg_colour(f, (size_t)g->proc);
    put_s(f, "\" stroke=\"#333\" stroke-width=\"0.5\"");
  }
  put_s(f, "><title>");
  put_xml(f, slice_name(r, g));
  out_printf(f, " %lld-%lld</title></rect>\n", (long long)g->start, (long long)g->end);
}

static void svg_axis(out_t *f, const ms_result_t *r, double y) {
  int64_t span = r->last_finish - r->first_arrival;
  double step = 1;
  while (span / step > 12) {
    if (span / (step * 2) <= 12) step *= 2;
    else if (span / (step * 5) <= 12) step *= 5;
    else step *= 10;
  }
  out_printf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#333\"/>\n", SVG_LEFT,
          y, SVG_W - SVG_RIGHT, y);
  for (double k = 0; k <= (double)span + 0.5; k += step) {
    int64_t t = r->first_arrival + (int64_t)k;
    double x = svg_x(r, t);
    out_printf(f,
            "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#333\"/>"
            "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">%lld</text>\n",
            x, y, x, y + 4, x, y + 16, (long long)t);
  }
}

static void write_svg_chart(out_t *f, const ms_result_t *r, int y0) {
  const ms_workload_t *w = r->w;
  out_printf(f, "<g transform=\"translate(0,%d)\">\n<text x=\"10\" y=\"22\" font-weight=\"bold\">",
          y0);
  put_xml(f, r->cfg.label);
  out_printf(f, "  (avg turnaround %.2f, waiting %.2f, response %.2f; %llu context switches)</text>\n",
          r->avg_turnaround, r->avg_waiting, r->avg_response,
          (unsigned long long)r->context_switches);
  double y = SVG_TOP;
  out_printf(f, "<text x=\"10\" y=\"%.1f\" font-weight=\"bold\">CPU</text>\n", y + ROW_H - 10);
  for (size_t i = 0; i < r->ngantt; i++) svg_rect(f, r, &r->gantt[i], y);
  for (size_t p = 0; p < w->n; p++) {
    y += ROW_H;
    out_printf(f, "<text x=\"10\" y=\"%.1f\">", y + ROW_H - 10);
    put_xml(f, w->procs[p].name);
    put_s(f, "</text>\n");
    double xa = svg_x(r, w->procs[p].arrival), xf = svg_x(r, r->ps[p].finish);
    out_printf(f,
            "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#999\" "
            "stroke-dasharray=\"2,2\"/>\n",
            xa, y + (ROW_H - 6) / 2.0, xf, y + (ROW_H - 6) / 2.0);
  }
  for (size_t i = 0; i < r->ngantt; i++) {
    const ms_slice_t *g = &r->gantt[i];
    if (g->proc >= 0) svg_rect(f, r, g, SVG_TOP + (double)(g->proc + 1) * ROW_H);
    else if (g->proc == MS_CS)
      out_printf(f,
              "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#c00\" "
              "stroke-width=\"0.8\" stroke-dasharray=\"4,3\"/>\n",
              svg_x(r, g->start), SVG_TOP + ROW_H, svg_x(r, g->start),
              SVG_TOP + (double)(w->n + 1) * ROW_H);
  }
  svg_axis(f, r, SVG_TOP + (double)(w->n + 1) * ROW_H + 2);
  put_s(f, "</g>\n");
}

static void write_svg(out_t *f, const ms_result_t *rs, size_t n) {
  int h = 0;
  for (size_t i = 0; i < n; i++) h += svg_height(&rs[i]);
  out_printf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
          "<defs><pattern id=\"cs\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\">"
          "<rect width=\"4\" height=\"4\" fill=\"#fdd\"/>"
          "<path d=\"M0,4 L4,0\" stroke=\"#c00\" stroke-width=\"1\"/></pattern></defs>\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          SVG_W, h, SVG_W, h);
  int y = 0;
  for (size_t i = 0; i < n; i++) {
    write_svg_chart(f, &rs[i], y);
    y += svg_height(&rs[i]);
  }
  put_s(f, "</svg>\n");
}

/* ---- compare ---- */
enum { CMP_COLS = 7 };

/* Column c of result r as an exact comparable value (smaller = better). */
static long double cmp_value(const ms_result_t *r, int c) {
  switch (c) {
  case 0: return (long double)r->sum_turnaround;
  case 1: return (long double)r->sum_waiting;
  case 2: return (long double)r->sum_response;
  case 3:
  case 4:
  case 5: return (long double)r->makespan; /* throughput and utilisation too */
  default: return (long double)r->context_switches;
  }
}

static void compare_cell(const ms_result_t *r, int c, char *cell, size_t len) {
  switch (c) {
  case 0: snprintf(cell, len, "%.2f", r->avg_turnaround); break;
  case 1: snprintf(cell, len, "%.2f", r->avg_waiting); break;
  case 2: snprintf(cell, len, "%.2f", r->avg_response); break;
  case 3: snprintf(cell, len, "%lld", (long long)r->makespan); break;
  case 4: snprintf(cell, len, "%.4f", r->throughput); break;
  case 5: snprintf(cell, len, "%.2f%%", 100.0 * r->utilization); break;
  default: snprintf(cell, len, "%llu", (unsigned long long)r->context_switches);
  }
}

static void write_compare_text(out_t *f, const ms_result_t *rs, size_t n) {
  static const char *const head[CMP_COLS] = {"turnaround", "waiting",  "response", "makespan",
                                             "throughput", "cpu util", "switches"};
  int lw = 6, cw[CMP_COLS];
  char cell[64];
  for (size_t i = 0; i < n; i++)
    if ((int)strlen(rs[i].cfg.label) > lw) lw = (int)strlen(rs[i].cfg.label);
  for (int c = 0; c < CMP_COLS; c++) {
    cw[c] = (int)strlen(head[c]);
    for (size_t i = 0; i < n; i++) {
      compare_cell(&rs[i], c, cell, sizeof cell);
      if ((int)strlen(cell) > cw[c]) cw[c] = (int)strlen(cell);
    }
  }
  out_printf(f, "%-*s", lw, "policy");
  for (int c = 0; c < CMP_COLS; c++) out_printf(f, "  %*s ", cw[c], head[c]);
  put_s(f, "\n");
  for (size_t i = 0; i < n; i++) {
    const ms_result_t *r = &rs[i];
    out_printf(f, "%-*s", lw, r->cfg.label);
    for (int c = 0; c < CMP_COLS; c++) {
      bool best = true;
      for (size_t j = 0; j < n; j++)
        if (cmp_value(&rs[j], c) < cmp_value(r, c)) best = false;
      compare_cell(r, c, cell, sizeof cell);
      out_printf(f, "  %*s%c", cw[c], cell, best && n > 1 ? '*' : ' ');
    }
    put_c(f, '\n');
  }
  put_s(f, "turnaround, waiting, response: averages in ticks");
  put_s(f, n > 1 ? "; * = best value of the column (ties all marked)\n" : "\n");
}

/* ---- entry points ---- */
int ms_format_from_name(const char *name, ms_format_t *out) {
  static const char *const names[] = {"text", "json", "csv", "svg"};
  for (int i = 0; i < 4; i++)
    if (strcmp(name, names[i]) == 0) {
      *out = (ms_format_t)i;
      return MS_OK;
    }
  return MS_EINPUT;
}

int ms_write_run(FILE *file, const ms_result_t *r, ms_format_t fmt) {
  out_t o, *f = &o;
  if (out_open(f, file)) return MS_ENOMEM;
  switch (fmt) {
  case MS_TEXT:
    write_text(f, r);
    if (r->cfg.trace) write_text_trace(f, r);
    break;
  case MS_JSON: write_json(f, r, ""); put_c(f, '\n'); break;
  case MS_CSV: write_csv_header(f, false); write_csv_rows(f, r, false); break;
  case MS_SVG: write_svg(f, r, 1); break;
  }
  return finish(f);
}

int ms_write_compare(FILE *file, const ms_result_t *rs, size_t n, ms_format_t fmt) {
  out_t o, *f = &o;
  if (out_open(f, file)) return MS_ENOMEM;
  switch (fmt) {
  case MS_TEXT: write_compare_text(f, rs, n); break;
  case MS_JSON:
    put_s(f, "{\"results\": [\n");
    for (size_t i = 0; i < n; i++) {
      if (i) put_s(f, ",\n");
      write_json(f, &rs[i], " ");
    }
    put_s(f, "\n]}\n");
    break;
  case MS_CSV:
    write_csv_header(f, true);
    for (size_t i = 0; i < n; i++) write_csv_rows(f, &rs[i], true);
    break;
  case MS_SVG: write_svg(f, rs, n); break;
  }
  return finish(f);
}
