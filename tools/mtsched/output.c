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

/* ---- svg ----
 * One chart per result: a title, a legend, the CPU row, a strip of
 * context-switch ticks, one row per process and a time axis.  In a process
 * row the process runs (a bar in its colour), waits in the ready queue (a
 * thin grey line: its lifetime shows through) or does I/O (a half-height
 * blue hatched bar).  I/O is not in the Gantt chart: it is rebuilt from the
 * bursts (a CPU burst that completes at t starts the next I/O burst at t).
 *
 * It stays readable and renderable at any size:
 * - every row is drawn through a painter that merges what touches within
 *   half a pixel and is narrower than a pixel into one grey "dense" bar, so
 *   a row costs at most a few elements per pixel column however many slices
 *   it has;
 * - a context switch is a thin tick in its own strip below the CPU row (one
 *   per pixel column at most), never a line across the chart;
 * - beyond ROWS_MAX processes (fewer when compare stacks several charts, so
 *   that the whole picture stays below SVG_MAX_H, under the 32,767-pixel
 *   limit of librsvg and browsers) a row holds a group of processes
 *   consecutive in arrival order.
 * Several CPUs (--cpus N): one CPU row per CPU (svg_ncpus, slice_cpu). */
enum {
  SVG_W = 960, SVG_LEFT = 120, SVG_RIGHT = 30, ROW_H = 22, BAR_H = 16, SVG_TOP = 52,
  TICK_H = 6, AXIS_H = 48, SVG_MAX_H = 32000, ROWS_MAX = 1000, LABEL_CHARS = 15
};
enum { WHO_DENSE = -3 }; /* a painted bar that merges several slices */
typedef enum { K_CPU, K_RUN, K_IO, K_LIFE } kind_t;

static int svg_ncpus(const ms_result_t *r) { return r->cfg.cpus > 1 ? r->cfg.cpus : 1; }
static int slice_cpu(const ms_slice_t *g) { return g->cpu; }

static double svg_x(const ms_result_t *r, int64_t t) {
  int64_t span = r->last_finish - r->first_arrival;
  double w = SVG_W - SVG_LEFT - SVG_RIGHT;
  return SVG_LEFT + (span > 0 ? (double)(t - r->first_arrival) / (double)span * w : 0);
}

static void svg_colour(out_t *f, size_t i) {
  out_printf(f, "hsl(%d,65%%,%d%%)", (int)((double)i * 137.508 + 95) % 360, 55 + (int)(i % 3) * 8);
}

/* Rows of process bars: one per process (file order) or, when there are
 * more processes than rows, `per` processes consecutive in arrival order. */
typedef struct svg_rows {
  size_t nrows, per;
  uint32_t *row_of;     /* process -> row */
  uint32_t *by_arrival; /* processes in (arrival, line) order (per > 1 only) */
} svg_rows_t;

static size_t svg_rows_max(size_t ncharts, int ncpus) {
  long avail = SVG_MAX_H / (long)ncharts - SVG_TOP - ncpus * ROW_H - TICK_H - 4 - AXIS_H;
  long rows = avail / ROW_H;
  return rows < 1 ? 1 : rows > ROWS_MAX ? ROWS_MAX : (size_t)rows;
}

static int svg_chart_h(const ms_result_t *r, size_t nrows) {
  return SVG_TOP + svg_ncpus(r) * ROW_H + TICK_H + 4 + (int)nrows * ROW_H + AXIS_H;
}

static int by_arrival_cmp(const void *a, const void *b, void *ctx) {
  const ms_workload_t *w = ctx;
  uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
  int64_t x = w->procs[i].arrival, y = w->procs[j].arrival;
  return x < y ? -1 : x > y ? 1 : i < j ? -1 : i > j;
}

static int svg_rows_init(svg_rows_t *rw, const ms_result_t *r, size_t rows_max) {
  size_t n = r->w->n;
  rw->per = (n + rows_max - 1) / rows_max;
  rw->nrows = (n + rw->per - 1) / rw->per;
  rw->by_arrival = NULL;
  rw->row_of = malloc(n * sizeof *rw->row_of);
  if (!rw->row_of) return MS_ENOMEM;
  if (rw->per == 1) {
    for (size_t i = 0; i < n; i++) rw->row_of[i] = (uint32_t)i;
    return MS_OK;
  }
  rw->by_arrival = malloc(n * sizeof *rw->by_arrival);
  if (!rw->by_arrival) return free(rw->row_of), MS_ENOMEM;
  for (size_t i = 0; i < n; i++) rw->by_arrival[i] = (uint32_t)i;
  qsort_r(rw->by_arrival, n, sizeof *rw->by_arrival, by_arrival_cmp, (void *)r->w);
  for (size_t k = 0; k < n; k++) rw->row_of[rw->by_arrival[k]] = (uint32_t)(k / rw->per);
  return MS_OK;
}

/* A time interval of one process (or MS_IDLE / MS_CS in the CPU row). */
typedef struct ivl {
  int64_t s, e;
  int32_t who;
} ivl_t;

/* The I/O bursts, in the order they start (the Gantt chart's order). */
static ivl_t *svg_io(const ms_result_t *r, size_t *nio) {
  const ms_workload_t *w = r->w;
  size_t cap = 0;
  for (size_t i = 0; i < w->n; i++) cap += (size_t)w->procs[i].nbursts / 2;
  *nio = 0;
  ivl_t *io = malloc((cap ? cap : 1) * sizeof *io);
  int32_t *k = calloc(w->n ? w->n : 1, sizeof *k);   /* current burst */
  int64_t *done = calloc(w->n ? w->n : 1, sizeof *done); /* CPU done in it */
  if (!io || !k || !done) return free(io), free(k), free(done), NULL;
  for (size_t i = 0; cap && i < r->ngantt; i++) {
    const ms_slice_t *g = &r->gantt[i];
    if (g->proc < 0) continue;
    const ms_proc_t *p = &w->procs[g->proc];
    int64_t t = g->start, left = g->end - g->start;
    int32_t *kp = &k[g->proc];
    while (left > 0 && *kp < p->nbursts) {
      int64_t need = ms_burst(w, p, *kp) - done[g->proc], take = left < need ? left : need;
      t += take, left -= take, done[g->proc] += take;
      if (take < need) break;
      if (*kp + 1 < p->nbursts && *nio < cap)
        io[(*nio)++] = (ivl_t){t, t + ms_burst(w, p, *kp + 1), g->proc};
      *kp += 2, done[g->proc] = 0;
    }
  }
  free(k);
  free(done);
  return io;
}

/* Stable counting sort of items by row: off[row] .. off[row + 1] index idx;
 * items whose row is UINT32_MAX are left out. */
static int bucket(const uint32_t *row, size_t nitems, size_t nrows, size_t **off, size_t **idx) {
  *off = calloc(nrows + 2, sizeof **off);
  *idx = malloc((nitems ? nitems : 1) * sizeof **idx);
  if (!*off || !*idx) return free(*off), free(*idx), MS_ENOMEM;
  for (size_t i = 0; i < nitems; i++)
    if (row[i] != UINT32_MAX) (*off)[row[i] + 2]++;
  for (size_t k = 2; k < nrows + 2; k++) (*off)[k] += (*off)[k - 1];
  for (size_t i = 0; i < nitems; i++)
    if (row[i] != UINT32_MAX) (*idx)[(*off)[row[i] + 1]++] = i;
  return MS_OK;
}

/* The painter: bars of one kind along one row, merged as described above. */
typedef struct paint {
  out_t *f;
  const ms_result_t *r;
  kind_t kind;
  double y;
  bool open, narrow;
  double x0, x1;
  int64_t t0, t1;
  int32_t who;
  size_t count;
} paint_t;

static void paint_flush(paint_t *p) {
  if (!p->open) return;
  p->open = false;
  out_t *f = p->f;
  double w = p->x1 - p->x0 < 0.6 ? 0.6 : p->x1 - p->x0, y = p->y, h = BAR_H;
  bool wide = w >= 3;
  if (p->kind == K_LIFE) {
    out_printf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"1\" fill=\"#999\"/>\n",
               p->x0, y + BAR_H / 2 - 0.5, w);
    return;
  }
  if (p->kind == K_IO) y += BAR_H / 4.0, h = BAR_H / 2.0;
  out_printf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" fill=\"", p->x0, y, w, h);
  if (p->kind == K_IO) put_s(f, wide ? "url(#io)\" stroke=\"#2a6fb0\" stroke-width=\"0.6\"" : "#5b8fc7\"");
  else if (p->who == MS_CS) put_s(f, wide ? "url(#cs)\" stroke=\"#c00\" stroke-width=\"0.6\"" : "#d33\"");
  else if (p->who == MS_IDLE)
    put_s(f, wide ? "#f4f4f4\" stroke=\"#bbb\" stroke-dasharray=\"3,2\"" : "#e4e4e4\"");
  else if (p->who == WHO_DENSE) put_s(f, "#8a8a8a\"");
  else {
    svg_colour(f, (size_t)p->who);
    put_s(f, wide ? "\" stroke=\"#333\" stroke-width=\"0.5\"" : "\"");
  }
  put_s(f, "><title>");
  if (p->who >= 0) {
    put_xml(f, p->r->w->procs[p->who].name);
    put_s(f, p->kind == K_IO ? " I/O" : "");
  } else {
    put_s(f, p->who == MS_CS ? "context switch" : p->who == MS_IDLE ? "idle" : "several");
  }
  if (p->count > 1) out_printf(f, " (%zu %s)", p->count, p->kind == K_IO ? "I/O bursts" : "slices");
  out_printf(f, " %lld-%lld</title></rect>\n", (long long)p->t0, (long long)p->t1);
}

static void paint_add(paint_t *p, int64_t s, int64_t e, int32_t who) {
  double a = svg_x(p->r, s), b = svg_x(p->r, e);
  bool narrow = b - a < 1;
  /* in the CPU row idle time never hides in a busy "dense" bar, nor the reverse */
  bool same_class = p->kind != K_CPU || (who == MS_IDLE) == (p->who == MS_IDLE);
  if (p->open && a < p->x1 + 0.5 &&
      (a < p->x1 || who == p->who || (narrow && p->narrow && same_class))) {
    if (a < p->x0) p->x0 = a, p->t0 = s; /* out of order: still a union */
    if (b > p->x1) p->x1 = b;
    if (e > p->t1) p->t1 = e;
    if (who != p->who) p->who = WHO_DENSE;
    p->narrow = p->narrow && narrow;
    p->count++;
    return;
  }
  paint_flush(p);
  *p = (paint_t){.f = p->f, .r = p->r, .kind = p->kind, .y = p->y, .open = true, .narrow = narrow,
                 .x0 = a, .x1 = b, .t0 = s, .t1 = e, .who = who, .count = 1};
}

static paint_t paint_new(out_t *f, const ms_result_t *r, kind_t kind, double y) {
  return (paint_t){.f = f, .r = r, .kind = kind, .y = y};
}

/* A row label: at most LABEL_CHARS characters (UTF-8), the whole in a
 * title, followed by more (a group's first and last names) when given. */
static void svg_label(out_t *f, double y, const char *name, const char *first, const char *last) {
  out_printf(f, "<text x=\"10\" y=\"%.1f\">", y + BAR_H - 4);
  size_t chars = 0, cut = 0, i = 0;
  for (; name[i]; i++)
    if (((unsigned char)name[i] & 0xc0) != 0x80 && ++chars == LABEL_CHARS) cut = i;
  if (chars > LABEL_CHARS) {
    char *t = strndup(name, cut);
    if (t) put_xml(f, t), put_s(f, "\xe2\x80\xa6"); /* ... */
    free(t);
  } else {
    put_xml(f, name);
  }
  put_s(f, "<title>");
  put_xml(f, name);
  if (first) {
    put_s(f, " in arrival order: ");
    put_xml(f, first);
    put_s(f, " \xe2\x80\xa6 "); /* ... */
    put_xml(f, last);
  }
  put_s(f, "</title></text>\n");
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
  /* ticks at multiples of step (0, 200, 400 rather than 1, 201, 401) */
  int64_t st = (int64_t)step; /* an integer: 1, 2, 5, 10, ... */
  double k0 = (double)((st - r->first_arrival % st) % st);
  for (double k = k0; k <= (double)span + 0.5; k += step) {
    int64_t t = r->first_arrival + (int64_t)k;
    double x = svg_x(r, t);
    out_printf(f,
            "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#333\"/>"
            "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">%lld</text>\n",
            x, y, x, y + 4, x, y + 16, (long long)t);
  }
}

static void svg_legend(out_t *f, double y) {
  static const char *const item[] = {"running", "ready (waiting)", "I/O", "context switch",
                                     "CPU idle", "dense (&lt; 1 px)"};
  double x = 10;
  for (int i = 0; i < 6; i++) {
    switch (i) {
    case 0: out_printf(f, "<rect x=\"%.0f\" y=\"%.1f\" width=\"18\" height=\"10\" fill=\"", x, y - 9);
      svg_colour(f, 0);
      put_s(f, "\" stroke=\"#333\" stroke-width=\"0.5\"/>\n");
      break;
    case 1: out_printf(f, "<rect x=\"%.0f\" y=\"%.1f\" width=\"18\" height=\"1\" fill=\"#999\"/>\n", x, y - 4.5); break;
    case 2: out_printf(f, "<rect x=\"%.0f\" y=\"%.1f\" width=\"18\" height=\"6\" fill=\"url(#io)\" "
                          "stroke=\"#2a6fb0\" stroke-width=\"0.6\"/>\n", x, y - 7); break;
    case 3: out_printf(f, "<rect x=\"%.0f\" y=\"%.1f\" width=\"1\" height=\"%d\" fill=\"#c00\"/>"
                          "<rect x=\"%.0f\" y=\"%.1f\" width=\"1\" height=\"%d\" fill=\"#c00\"/>\n",
                          x + 6, y - 9, TICK_H + 4, x + 11, y - 9, TICK_H + 4); break;
    case 4: out_printf(f, "<rect x=\"%.0f\" y=\"%.1f\" width=\"18\" height=\"10\" fill=\"#f4f4f4\" "
                          "stroke=\"#bbb\" stroke-dasharray=\"3,2\"/>\n", x, y - 9); break;
    default: out_printf(f, "<rect x=\"%.0f\" y=\"%.1f\" width=\"18\" height=\"10\" fill=\"#8a8a8a\"/>\n", x, y - 9);
    }
    out_printf(f, "<text x=\"%.0f\" y=\"%.1f\">%s</text>\n", x + 23, y, item[i]);
    x += 40 + 6.5 * (double)(strlen(item[i]) - (i == 5 ? 3 : 0)); /* &lt; is one glyph */
  }
}

/* The CPU row(s) and the strip of context-switch ticks below them. */
static void svg_cpu_rows(out_t *f, const ms_result_t *r, double y) {
  int ncpus = svg_ncpus(r);
  for (int c = 0; c < ncpus; c++, y += ROW_H) {
    char name[32];
    snprintf(name, sizeof name, ncpus > 1 ? "CPU %d" : "CPU", c);
    out_printf(f, "<text x=\"10\" y=\"%.1f\" font-weight=\"bold\">%s</text>\n", y + BAR_H - 4, name);
    paint_t p = paint_new(f, r, K_CPU, y);
    for (size_t i = 0; i < r->ngantt; i++)
      if (slice_cpu(&r->gantt[i]) == c) paint_add(&p, r->gantt[i].start, r->gantt[i].end, r->gantt[i].proc);
    paint_flush(&p);
  }
  /* a tick where a switch starts: a cs slice, or (cost 0) a slice of another
   * process than the one that ran last on that CPU */
  int32_t *last_run = malloc((size_t)ncpus * sizeof *last_run);
  if (!last_run) {
    f->err = 1;
    return;
  }
  for (int c = 0; c < ncpus; c++) last_run[c] = -1;
  out_printf(f, "<g fill=\"#c00\"><title>%llu context switches</title>\n",
             (unsigned long long)r->context_switches);
  long last_col = -1;
  for (size_t i = 0; i < r->ngantt; i++) {
    const ms_slice_t *g = &r->gantt[i];
    int32_t *lr = &last_run[slice_cpu(g)];
    bool tick = g->proc == MS_CS || (g->proc >= 0 && *lr >= 0 && *lr != g->proc && r->cfg.cs == 0);
    if (g->proc >= 0) *lr = g->proc;
    if (!tick) continue;
    long col = (long)(svg_x(r, g->start) / 2) * 2;
    if (col == last_col) continue; /* one tick per two pixel columns: dense reads as striped */
    last_col = col;
    out_printf(f, "<rect x=\"%ld\" y=\"%.1f\" width=\"1\" height=\"%d\"/>\n", col, y - 3, TICK_H);
  }
  put_s(f, "</g>\n");
  free(last_run);
}

static void write_svg_chart(out_t *f, const ms_result_t *r, int y0, size_t rows_max) {
  const ms_workload_t *w = r->w;
  svg_rows_t rw;
  size_t nio = 0, *run_off = NULL, *run_idx = NULL, *io_off = NULL, *io_idx = NULL;
  ivl_t *io = NULL;
  uint32_t *key = NULL;
  if (svg_rows_init(&rw, r, rows_max)) {
    f->err = 1;
    return;
  }
  int rc = (io = svg_io(r, &nio)) ? MS_OK : MS_ENOMEM;
  size_t nkey = r->ngantt > nio ? r->ngantt : nio;
  if (!rc && !(key = malloc((nkey ? nkey : 1) * sizeof *key))) rc = MS_ENOMEM;
  if (!rc) {
    for (size_t i = 0; i < r->ngantt; i++)
      key[i] = r->gantt[i].proc >= 0 ? rw.row_of[r->gantt[i].proc] : UINT32_MAX;
    rc = bucket(key, r->ngantt, rw.nrows, &run_off, &run_idx);
  }
  if (!rc) {
    for (size_t i = 0; i < nio; i++) key[i] = rw.row_of[io[i].who];
    rc = bucket(key, nio, rw.nrows, &io_off, &io_idx);
  }
  if (rc) {
    f->err = 1;
  } else {
    out_printf(f, "<g transform=\"translate(0,%d)\">\n<text x=\"10\" y=\"20\" font-weight=\"bold\">", y0);
    put_xml(f, r->cfg.label);
    out_printf(f, "  (avg turnaround %.2f, waiting %.2f, response %.2f; %llu context switches)</text>\n",
               r->avg_turnaround, r->avg_waiting, r->avg_response,
               (unsigned long long)r->context_switches);
    svg_legend(f, 40);
    svg_cpu_rows(f, r, SVG_TOP);
    double y = SVG_TOP + svg_ncpus(r) * ROW_H + TICK_H + 4;
    for (size_t row = 0; row < rw.nrows; row++, y += ROW_H) {
      size_t first = row * rw.per, last = first + rw.per < w->n ? first + rw.per : w->n;
      paint_t life = paint_new(f, r, K_LIFE, y);
      if (rw.per == 1) {
        svg_label(f, y, w->procs[row].name, NULL, NULL);
        paint_add(&life, w->procs[row].arrival, r->ps[row].finish, (int32_t)row);
      } else {
        char name[64];
        snprintf(name, sizeof name, "#%zu-%zu", first + 1, last);
        svg_label(f, y, name, w->procs[rw.by_arrival[first]].name,
                  w->procs[rw.by_arrival[last - 1]].name);
        for (size_t k = first; k < last; k++) {
          uint32_t p = rw.by_arrival[k];
          paint_add(&life, w->procs[p].arrival, r->ps[p].finish, (int32_t)p);
        }
      }
      paint_flush(&life);
      paint_t pio = paint_new(f, r, K_IO, y);
      for (size_t k = io_off[row]; k < io_off[row + 1]; k++)
        paint_add(&pio, io[io_idx[k]].s, io[io_idx[k]].e, io[io_idx[k]].who);
      paint_flush(&pio);
      paint_t run = paint_new(f, r, K_RUN, y);
      for (size_t k = run_off[row]; k < run_off[row + 1]; k++) {
        const ms_slice_t *g = &r->gantt[run_idx[k]];
        paint_add(&run, g->start, g->end, g->proc);
      }
      paint_flush(&run);
    }
    svg_axis(f, r, y + 2);
    if (rw.per > 1)
      out_printf(f, "<text x=\"10\" y=\"%.1f\">%zu processes: each row is a group of %zu, "
                    "consecutive in arrival order (#rank)</text>\n", y + 36, w->n, rw.per);
    put_s(f, "</g>\n");
  }
  free(rw.row_of);
  free(rw.by_arrival);
  free(io);
  free(key);
  free(run_off);
  free(run_idx);
  free(io_off);
  free(io_idx);
}

static void write_svg(out_t *f, const ms_result_t *rs, size_t n) {
  int h = 0;
  size_t rows_max = svg_rows_max(n, svg_ncpus(&rs[0]));
  for (size_t i = 0; i < n; i++) {
    size_t per = (rs[i].w->n + rows_max - 1) / rows_max;
    h += svg_chart_h(&rs[i], (rs[i].w->n + per - 1) / per);
  }
  out_printf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
          "<defs><pattern id=\"cs\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\">"
          "<rect width=\"4\" height=\"4\" fill=\"#fdd\"/>"
          "<path d=\"M0,4 L4,0\" stroke=\"#c00\" stroke-width=\"1\"/></pattern>\n"
          "<pattern id=\"io\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\">"
          "<rect width=\"4\" height=\"4\" fill=\"#d6e6f5\"/>"
          "<path d=\"M0,0 L4,4\" stroke=\"#2a6fb0\" stroke-width=\"0.8\"/></pattern></defs>\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          SVG_W, h, SVG_W, h);
  int y = 0;
  for (size_t i = 0; i < n && !f->err; i++) {
    size_t per = (rs[i].w->n + rows_max - 1) / rows_max;
    write_svg_chart(f, &rs[i], y, rows_max);
    y += svg_chart_h(&rs[i], (rs[i].w->n + per - 1) / per);
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
