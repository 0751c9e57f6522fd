/* sim.c - the event-driven scheduler simulation.
 *
 * Why event-driven: a tick-by-tick loop (OSTEP's scheduler.py) costs time
 * proportional to the simulated span, which makes 2^62-tick workloads
 * impossible and a million processes slow.  Here the clock jumps from one
 * event to the next: an arrival, an I/O completion, the end of the running
 * slice (burst end or quantum end), the end of a context switch, an MLFQ
 * boost, or the moment an aging process overtakes the running one.  Each
 * loop iteration handles every event of one tick, in the fixed order
 *   1. arrivals (in (arrival, line) order)        -> ready
 *   2. I/O completions (same order among equals)  -> ready
 *   3. the running slice ends: burst done (-> I/O or finished) or quantum
 *      expired (-> tail of its queue, AFTER 1 and 2)
 *   4. MLFQ boost
 *   5. preemption test (srtf, ppriority, mlfq): a strictly better ready
 *      process takes the CPU; the preempted one goes back to the ready set
 *   6. dispatch if the CPU is free (starting a context switch if needed)
 * then computes the next event time.  Processes are handled by their rank
 * in (arrival, line) order, so "ties go to the earlier arrival, then the
 * earlier line" is simply "ties go to the smaller rank".
 *
 * Invariants: a process is in exactly one of {not arrived, ready, running or
 * switching-in, in I/O, done}; rem is the remaining length of its current
 * CPU burst; every time value fits int64 (additions are checked, the one
 * product that can grow, aging, is done in 128 bits).  Round robin and the
 * last MLFQ level skip quantum expiries that would re-dispatch the same
 * process (nobody else ready before the next external event), so a lone
 * 2^62-tick burst is one event, not 2^60. */
#include "mtsched.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define NEVER INT64_MAX

/* Per-process state by rank, split by temperature: rt_t is what every
 * event of every policy touches (16 bytes, four per cache line); whether a
 * process has run yet is one bit in a bitmap; cold_t is read only by the
 * policies that need it, so its pages are never even touched under fcfs or
 * rr.  A million processes is that much less fresh memory to fault in. */
typedef struct rt {
  int64_t rem;          /* remaining ticks of the current CPU burst */
  int32_t idx;          /* file index (order[rank]) */
  int32_t bi;           /* index of the current burst */
} rt_t;

typedef struct cold {
  ms_i128 run_prio;     /* ppriority: effective priority frozen while running */
  int64_t ready_since;  /* hrrn, aging: when it last entered the ready set */
  int64_t used;         /* MLFQ: ticks used against the level's allotment */
  int32_t level;        /* MLFQ queue */
  int32_t next;         /* MLFQ FIFO link */
} cold_t;

typedef struct hent {
  int64_t key;
  int32_t rank;
} hent_t;

typedef struct heap {
  hent_t *a;
  size_t n;
} heap_t;

enum { CPU_IDLE, CPU_SWITCH, CPU_RUN };

/* One CPU (running slot); all of them share the ready set. */
typedef struct cpu {
  int state;            /* CPU_* */
  int32_t cur, last;    /* rank running (or switching in), rank that ran last */
  int64_t run_start, run_end, sw_end, idle_since;
  size_t lastslice;     /* 1 + index of this CPU's last gantt slice (0: none) */
} cpu_t;
enum { READY_RING, READY_FIFO, READY_HEAP, READY_AGING, READY_KINETIC };

typedef struct sim {
  const ms_workload_t *w;
  const ms_config_t *c;
  ms_result_t *r;
  int32_t n;
  int32_t *order; /* rank -> file index */
  int64_t *arrival; /* by rank: the loop reads it every event */
  rt_t *rt;       /* by rank */
  uint64_t *ran;  /* by rank: bit set once the process has run */
  cold_t *cx;     /* by rank */
  int kind;       /* READY_* */
  int32_t *ring;  /* READY_RING (fcfs, rr): the FIFO as a ring of ranks */
  size_t rmask, rhead; /* capacity - 1 (a power of two), index of the head */
  int levels;
  int32_t head[MS_MAX_QUEUES], tail[MS_MAX_QUEUES];
  size_t nready;
  heap_t ready;   /* READY_HEAP */
  ms_i128 *amin;  /* READY_AGING: min deadline per tree node (1..2*kcap-1) */
  int32_t *kwin;  /* READY_KINETIC: winner per tree node (1..2*kcap-1), -1 = none */
  int64_t *kmc;   /* READY_KINETIC: earliest certificate failure in the subtree */
  size_t kcap;    /* READY_KINETIC/AGING: leaves (a power of two >= n), rank i at kcap + i */
  heap_t io;      /* key = completion time */
  int64_t now;
  int32_t next_arrival; /* rank */
  cpu_t *cpus;    /* --cpus N running slots */
  int ncpu;
  cpu_t *x;       /* the CPU being handled */
  int64_t next_boost;
  int32_t done;
  int overflow;
  int nomem;      /* the trace could not grow */
} sim_t;

/* ---- small helpers ---- */
static const ms_proc_t *proc(const sim_t *s, int32_t rank) {
  return &s->w->procs[s->rt[rank].idx];
}

static int64_t add_time(sim_t *s, int64_t a, int64_t b) {
  int64_t v;
  if (__builtin_add_overflow(a, b, &v)) {
    s->overflow = 1;
    return NEVER;
  }
  return v;
}

static ms_i128 base_prio(const sim_t *s, int32_t rank) {
  ms_i128 p = proc(s, rank)->priority;
  return s->c->priority_high ? -p : p;
}

/* Aging: one step better every `aging` ticks spent in the ready set. */
static ms_i128 eff_prio(const sim_t *s, int32_t rank) {
  ms_i128 p = base_prio(s, rank);
  if (s->c->aging) p -= (s->now - s->cx[rank].ready_since) / s->c->aging;
  return p;
}

/* ---- binary heap of (key, rank) ---- */
static bool hless(hent_t a, hent_t b) {
  return a.key < b.key || (a.key == b.key && a.rank < b.rank);
}

static void heap_push(heap_t *h, hent_t e) { /* capacity is n of the workload */
  size_t i = h->n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!hless(e, h->a[p])) break;
    h->a[i] = h->a[p];
    i = p;
  }
  h->a[i] = e;
}

static hent_t heap_pop(heap_t *h) {
  hent_t top = h->a[0], e = h->a[--h->n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    hent_t best = e;
    if (l < h->n && hless(h->a[l], best)) m = l, best = h->a[l];
    if (l + 1 < h->n && hless(h->a[l + 1], best)) m = l + 1;
    if (m == i) break;
    h->a[i] = h->a[m];
    i = m;
  }
  if (h->n) h->a[i] = e;
  return top;
}

/* ---- the ready set ---- */
static int64_t heap_key(const sim_t *s, int32_t rank) {
  switch (s->c->policy) {
  case MS_SJF:
  case MS_SRTF: return s->rt[rank].rem;
  default: return (int64_t)base_prio(s, rank); /* priority without aging */
  }
}

/* ---- HRRN: a kinetic tournament ----
 * The response ratio of a ready process i at time t is (t - r_i + b_i) / b_i
 * (r_i: when it entered the ready set, b_i: its burst): a line in t.  Two
 * lines swap order at most once, and the clock only moves forward, so a
 * tournament tree over the ranks keeps at each node the winner of its two
 * children at the current time together with the first time that could
 * change (the certificate), and at each node the earliest certificate of its
 * subtree.  Moving to time t recomputes only the nodes whose subtree holds a
 * failed certificate; an insertion or removal recomputes one leaf-to-root
 * path.  The comparison is the one the scan used (exact, 128-bit cross
 * multiplication, ties to the smaller rank), so the choice is the same. */
static inline void ratio_terms(const sim_t *s, int32_t a, int32_t b, unsigned __int128 *x,
                        unsigned __int128 *y) {
  /* (w_a + b_a) * b_b and (w_b + b_b) * b_a: each < 2^64 * 2^63 */
  unsigned __int128 ba = (unsigned __int128)s->rt[a].rem, bb = (unsigned __int128)s->rt[b].rem;
  unsigned __int128 wa = (unsigned __int128)(uint64_t)(s->now - s->cx[a].ready_since);
  unsigned __int128 wb = (unsigned __int128)(uint64_t)(s->now - s->cx[b].ready_since);
  *x = (wa + ba) * bb;
  *y = (wb + bb) * ba;
}

/* Node p from its children at s->now: winner, and the subtree's earliest
 * certificate.  With winner W and loser L, g(t) = x - y falls by
 * (b_L - b_W) per tick when b_W > b_L (W's line is flatter); L wins from the
 * first t with g(t) <= 0 (L < W, ties to L) or g(t) < 0 (L > W). */
static void kin_fix(sim_t *s, size_t p) {
  int32_t a = s->kwin[2 * p], b = s->kwin[2 * p + 1];
  int64_t cert = NEVER;
  if (a < 0 || b < 0) {
    s->kwin[p] = a < 0 ? b : a;
  } else {
    unsigned __int128 x, y;
    ratio_terms(s, a, b, &x, &y);
    bool a_wins = x > y || (x == y && a < b);
    int32_t w = a_wins ? a : b, l = a_wins ? b : a;
    unsigned __int128 g = a_wins ? x - y : y - x;
    s->kwin[p] = w;
    int64_t bw = s->rt[w].rem, bl = s->rt[l].rem;
    if (bw > bl) {
      unsigned __int128 fall = (unsigned __int128)(bw - bl), d;
      if (g >> 64 == 0) { /* the common case: a 64-bit division */
        uint64_t g64 = (uint64_t)g, f64 = (uint64_t)fall;
        d = l < w ? g64 / f64 + (g64 % f64 != 0) : g64 / f64 + 1;
      } else {
        d = l < w ? (g + fall - 1) / fall : g / fall + 1;
      }
      if (d <= (unsigned __int128)(INT64_MAX - s->now)) cert = s->now + (int64_t)d; /* d >= 1 */
    }
  }
  if (2 * p < s->kcap) { /* children are inner nodes */
    if (s->kmc[2 * p] < cert) cert = s->kmc[2 * p];
    if (s->kmc[2 * p + 1] < cert) cert = s->kmc[2 * p + 1];
  }
  s->kmc[p] = cert;
}

/* Brings the subtree of p to s->now. */
static void kin_advance(sim_t *s, size_t p) {
  if (p >= s->kcap || s->kmc[p] > s->now) return;
  kin_advance(s, 2 * p);
  kin_advance(s, 2 * p + 1);
  kin_fix(s, p);
}

/* Puts v (rank or -1) at rank's leaf.  Up the path, a node whose winner and
 * subtree certificate come out unchanged leaves its ancestors unchanged too
 * (a certificate is an absolute time, whenever it was computed). */
static void kin_set(sim_t *s, int32_t rank, int32_t v) {
  kin_advance(s, 1);
  size_t p = s->kcap + (size_t)rank;
  s->kwin[p] = v;
  for (p /= 2; p >= 1; p /= 2) {
    int32_t w = s->kwin[p];
    int64_t mc = s->kmc[p];
    kin_fix(s, p);
    if (s->kwin[p] == w && s->kmc[p] == mc) break;
  }
}

/* ---- priority with aging: a min tree over ranks ----
 * A process that entered the ready set at r with base priority p has, at
 * time t, the effective priority p - floor((t - r) / A) = ceil((D - t) / A)
 * with D = r + A * p, its deadline: a fixed number per process, and the
 * effective priority is monotone in it.  So the best process at t (the
 * smallest effective priority, ties to the smaller rank, as the former scan)
 * is: E = ceil((Dmin - t) / A); the smallest rank whose D <= t + E * A.
 * A tree over the ranks holding the minimum D of each subtree answers both
 * in O(log n), and an insertion or removal updates one leaf-to-root path.
 * The earliest time a waiting process beats a running one with priority c
 * is Dmin - A * (c - 1). */
#define AGING_NONE ((ms_i128)(((unsigned __int128)1 << 127) - 1))

static void aging_set(sim_t *s, int32_t rank, ms_i128 d) {
  size_t p = s->kcap + (size_t)rank;
  s->amin[p] = d;
  for (p /= 2; p >= 1; p /= 2) {
    ms_i128 m = s->amin[2 * p] < s->amin[2 * p + 1] ? s->amin[2 * p] : s->amin[2 * p + 1];
    if (s->amin[p] == m) break; /* ancestors unchanged */
    s->amin[p] = m;
  }
}

static int32_t aging_best(const sim_t *s) {
  ms_i128 dmin = s->amin[1], a = s->c->aging, diff = dmin - s->now;
  if (dmin == AGING_NONE) return -1;
  ms_i128 e = diff >= 0 ? (diff + a - 1) / a : -((-diff) / a); /* ceil(diff / a) */
  ms_i128 bound = (ms_i128)s->now + e * a;
  size_t p = 1;
  while (p < s->kcap) p = s->amin[2 * p] <= bound ? 2 * p : 2 * p + 1;
  return (int32_t)(p - s->kcap);
}

static void ready_push(sim_t *s, int32_t rank) {
  s->nready++;
  if (s->kind == READY_RING) {
    s->ring[(s->rhead + s->nready - 1) & s->rmask] = rank;
  } else if (s->kind == READY_FIFO) {
    cold_t *p = &s->cx[rank];
    int l = p->level;
    p->next = -1;
    if (s->tail[l] >= 0) s->cx[s->tail[l]].next = rank;
    else s->head[l] = rank;
    s->tail[l] = rank;
  } else if (s->kind == READY_HEAP) {
    heap_push(&s->ready, (hent_t){heap_key(s, rank), rank});
  } else if (s->kind == READY_KINETIC) {
    s->cx[rank].ready_since = s->now;
    kin_set(s, rank, rank);
  } else {
    s->cx[rank].ready_since = s->now;
    aging_set(s, rank, (ms_i128)s->now + (ms_i128)s->c->aging * base_prio(s, rank));
  }
}

static int32_t ready_peek(sim_t *s) {
  if (s->nready == 0) return -1;
  if (s->kind == READY_RING) return s->ring[s->rhead];
  if (s->kind == READY_FIFO) {
    for (int l = 0; l < s->levels; l++)
      if (s->head[l] >= 0) return s->head[l];
    return -1;
  }
  if (s->kind == READY_HEAP) return s->ready.a[0].rank;
  if (s->kind == READY_KINETIC) {
    kin_advance(s, 1);
    return s->kwin[1];
  }
  return aging_best(s);
}

static int32_t ready_take(sim_t *s) {
  int32_t best = ready_peek(s);
  if (best < 0) return -1;
  if (s->kind == READY_RING) {
    /* A long queue visits processes last touched long ago: fetch the state
     * of the one 16 places ahead, and the stats and workload lines of the
     * one 8 ahead (its rt entry is in cache by now), so the misses overlap. */
    if (s->nready > 16) {
      __builtin_prefetch(&s->rt[s->ring[(s->rhead + 16) & s->rmask]]);
      int32_t idx = s->rt[s->ring[(s->rhead + 8) & s->rmask]].idx;
      __builtin_prefetch(&s->r->ps[idx], 1);
      __builtin_prefetch(&s->w->procs[idx].nbursts);
    }
    s->rhead = (s->rhead + 1) & s->rmask;
  } else if (s->kind == READY_FIFO) {
    int l = s->cx[best].level;
    s->head[l] = s->cx[best].next;
    if (s->head[l] < 0) s->tail[l] = -1;
  } else if (s->kind == READY_HEAP) {
    heap_pop(&s->ready);
  } else if (s->kind == READY_KINETIC) {
    kin_set(s, best, -1);
  } else {
    aging_set(s, best, AGING_NONE);
  }
  s->nready--;
  return best;
}

/* ---- gantt ---- */
static int add_slice(sim_t *s, int64_t a, int64_t b, int32_t who) {
  ms_result_t *r = s->r;
  if (b <= a) return MS_OK;
  cpu_t *x = s->x;
  ms_slice_t *l = x->lastslice ? &r->gantt[x->lastslice - 1] : NULL; /* this CPU's last */
  if (l && l->proc == who && l->end == a && who >= 0) {
    l->end = b;
    return MS_OK;
  }
  if (r->ngantt == r->capgantt) {
    size_t cap = r->capgantt ? r->capgantt * 2 : 1024;
    ms_slice_t *g = realloc(r->gantt, cap * sizeof *g);
    if (!g) return MS_ENOMEM;
    ms_huge(g, cap * sizeof *g);
    r->gantt = g;
    r->capgantt = cap;
  }
  r->gantt[r->ngantt++] = (ms_slice_t){a, b, who, (int32_t)(x - s->cpus)};
  x->lastslice = r->ngantt;
  return MS_OK;
}

/* ---- trace ---- */
static const char *const event_names[MS_NEVENTS] = {
    "arrive", "io_done", "expire", "preempt", "boost", "dispatch", "run", "io_start", "finish"};

const char *ms_event_name(int ev) { return ev >= 0 && ev < MS_NEVENTS ? event_names[ev] : "?"; }

/* Records one decision event of rank (-1: none) on s->x when on_cpu. */
static void tr(sim_t *s, int ev, int32_t rank, bool on_cpu, int64_t until) {
  ms_result_t *r = s->r;
  if (!s->c->trace) return;
  if (r->ntrace == r->captrace) {
    size_t cap = r->captrace ? r->captrace * 2 : 256;
    ms_trace_t *t = realloc(r->trace, cap * sizeof *t);
    if (!t) {
      s->nomem = 1;
      return;
    }
    r->trace = t;
    r->captrace = cap;
  }
  ms_trace_t e = {.t = s->now, .left = -1, .until = until, .proc = -1, .ev = ev,
                  .cpu = on_cpu ? (int16_t)(s->x - s->cpus) : -1, .level = -1};
  if (rank >= 0) {
    e.proc = s->rt[rank].idx;
    if (s->c->policy == MS_MLFQ) {
      const cold_t *x = &s->cx[rank];
      e.level = (int16_t)x->level;
      if (s->c->nallot && x->level < s->levels - 1) e.left = s->c->allotment[x->level] - x->used;
    }
  }
  r->trace[r->ntrace++] = e;
}

/* ---- events ---- */
static void admit(sim_t *s, int32_t rank) {
  rt_t *p = &s->rt[rank];
  if (p->bi) p->rem = ms_burst(s->w, proc(s, rank), p->bi); /* bi 0: set by sim_init */
  ready_push(s, rank);
  tr(s, p->bi ? MS_EV_IO_DONE : MS_EV_ARRIVE, rank, false, -1);
}

static int64_t next_external(const sim_t *s) {
  int64_t t = NEVER;
  if (s->next_arrival < s->n) t = s->arrival[s->next_arrival];
  if (s->io.n && s->io.a[0].key < t) t = s->io.a[0].key;
  if (s->c->policy == MS_MLFQ && s->c->boost && s->next_boost < t) t = s->next_boost;
  return t;
}

/* The CPU starts running s->x->cur at s->now: choose where this slice ends. */
static void begin_run(sim_t *s) {
  rt_t *p = &s->rt[s->x->cur];
  const ms_config_t *c = s->c;
  s->x->state = CPU_RUN;
  s->x->run_start = s->now;
  s->x->last = s->x->cur;
  int64_t burst_end = add_time(s, s->now, p->rem);
  int64_t q = 0;
  bool lone_rr = false;
  if (c->policy == MS_RR) {
    q = c->quantum;
    lone_rr = s->nready == 0 && s->ncpu == 1;
  } else if (c->policy == MS_MLFQ) {
    const cold_t *x = &s->cx[s->x->cur];
    int last = s->levels - 1;
    q = c->quanta[x->level];
    if (c->nallot && x->level < last && c->allotment[x->level] - x->used < q)
      q = c->allotment[x->level] - x->used;
    lone_rr = x->level == last && s->nready == 0 && s->ncpu == 1;
  }
  s->x->run_end = burst_end;
  if (!q) {
    tr(s, MS_EV_RUN, s->x->cur, true, s->x->run_end);
    return;
  }
  ms_i128 end = (ms_i128)s->now + q;
  if (lone_rr) { /* skip expiries that would hand the CPU back to us */
    int64_t ext = next_external(s);
    if (ext == NEVER) {
      tr(s, MS_EV_RUN, s->x->cur, true, s->x->run_end);
      return;
    }
    ms_i128 k = ((ms_i128)ext - s->now + q - 1) / q;
    end = (ms_i128)s->now + k * q;
  }
  if (end < burst_end) s->x->run_end = (int64_t)end;
  tr(s, MS_EV_RUN, s->x->cur, true, s->x->run_end);
}

/* Stops the running process at s->now, accounting its slice. */
static int stop_run(sim_t *s) {
  rt_t *p = &s->rt[s->x->cur];
  int64_t ran = s->now - s->x->run_start;
  uint64_t bit = (uint64_t)1 << (s->x->cur & 63);
  if (ran > 0 && !(s->ran[s->x->cur >> 6] & bit)) { /* first real run */
    s->ran[s->x->cur >> 6] |= bit;
    s->r->ps[p->idx].start = s->x->run_start;
  }
  p->rem -= ran;
  if (s->c->policy == MS_MLFQ) s->cx[s->x->cur].used += ran;
  s->r->busy += ran;
  s->x->state = CPU_IDLE;
  s->x->idle_since = s->now;
  return add_slice(s, s->x->run_start, s->now, p->idx);
}

static void mlfq_demote(sim_t *s, cold_t *p) {
  if (p->level < s->levels - 1) p->level++;
  p->used = 0;
}

static void slice_ended(sim_t *s) {
  int32_t rank = s->x->cur;
  rt_t *p = &s->rt[rank];
  cold_t *x = &s->cx[rank];
  bool mlfq = s->c->policy == MS_MLFQ;
  bool allot = s->c->nallot != 0;
  int last = s->levels - 1;
  if (p->rem == 0) { /* CPU burst done */
    if (mlfq && allot && x->level < last && x->used >= s->c->allotment[x->level])
      mlfq_demote(s, x);
    p->bi++;
    if (p->bi == proc(s, rank)->nbursts) {
      s->r->ps[p->idx].finish = s->now;
      s->done++;
      tr(s, MS_EV_FINISH, rank, true, -1);
    } else {
      int64_t t = add_time(s, s->now, ms_burst(s->w, proc(s, rank), p->bi));
      p->bi++;
      heap_push(&s->io, (hent_t){t, rank});
      tr(s, MS_EV_IO_START, rank, true, t);
    }
  } else { /* quantum (or allotment) expired */
    if (mlfq) {
      if (x->level == last) x->used = 0;
      else if (!allot || x->used >= s->c->allotment[x->level]) mlfq_demote(s, x);
    }
    ready_push(s, rank);
    tr(s, MS_EV_EXPIRE, rank, true, -1);
  }
  s->x->cur = -1;
}

/* The boost after `at`: the next multiple of S, or NEVER when it would pass
 * 2^63-1 (no boost then; not an overflow of the run). */
static int64_t boost_after(int64_t at, int64_t S) {
  int64_t k = at / S + 1;
  return k > INT64_MAX / S ? NEVER : k * S;
}

/* MLFQ rule 5.  Every process goes to queue 0 with a fresh allotment, the
 * ready queues concatenated in level order.  A process that has run in its
 * current slice is stopped first, so the slice is charged to the level it ran
 * at (charging it after the reset gave the fresh allotment a negative
 * balance and the clock ran backwards), and is appended at the tail.  A
 * process being switched in (the switch is in progress, or ends at this very
 * tick) is not displaced: it keeps the CPU, now at level 0 with a fresh
 * allotment.  Otherwise, when the switch cost is a multiple of S, every
 * switched-in process was boosted away before its first tick, forever; this
 * way every context switch is followed by at least one tick of work. */
static int boost(sim_t *s) {
  int32_t stopped[s->ncpu];
  int nstopped = 0, rc = MS_OK;
  for (int k = 0; k < s->ncpu; k++) { /* in CPU order */
    s->x = &s->cpus[k];
    if (s->x->state == CPU_RUN && s->x->run_start < s->now) {
      stopped[nstopped++] = s->x->cur;
      rc |= stop_run(s);
      s->x->cur = -1;
    }
  }
  int32_t h = -1, t = -1;
  for (int l = 0; l < s->levels; l++) {
    if (s->head[l] < 0) continue;
    if (t >= 0) s->cx[t].next = s->head[l];
    else h = s->head[l];
    t = s->tail[l];
    s->head[l] = s->tail[l] = -1;
  }
  s->head[0] = h;
  s->tail[0] = t;
  for (int32_t i = 0; i < s->n; i++) {
    s->cx[i].level = 0;
    s->cx[i].used = 0;
  }
  tr(s, MS_EV_BOOST, -1, false, -1);
  for (int k = 0; k < nstopped; k++) {
    ready_push(s, stopped[k]);
    tr(s, MS_EV_PREEMPT, stopped[k], false, -1);
  }
  for (int k = 0; k < s->ncpu; k++) { /* switched in at this tick: its turn at level 0 */
    s->x = &s->cpus[k];
    if (s->x->state == CPU_RUN) begin_run(s);
  }
  s->next_boost = boost_after(s->now, s->c->boost);
  return rc;
}

/* The running process the policy ranks last, by the rules of --cpus: SRTF
 * the largest remaining time, priority the worst (frozen) priority, MLFQ the
 * lowest level; ties to the lowest CPU number.  NULL when none can be
 * preempted (non-preemptive policy, or no CPU running: a switch in
 * progress is not interrupted). */
static cpu_t *victim(sim_t *s) {
  ms_policy_t p = s->c->policy;
  if (p != MS_SRTF && p != MS_PPRIORITY && p != MS_MLFQ) return NULL;
  cpu_t *v = NULL;
  ms_i128 worst = 0;
  for (int k = 0; k < s->ncpu; k++) {
    cpu_t *x = &s->cpus[k];
    if (x->state != CPU_RUN) continue;
    ms_i128 key = p == MS_SRTF        ? (ms_i128)s->rt[x->cur].rem - (s->now - x->run_start)
                  : p == MS_PPRIORITY ? s->cx[x->cur].run_prio
                                      : (ms_i128)s->cx[x->cur].level;
    if (!v || key > worst) v = x, worst = key;
  }
  return v;
}

/* Does the best ready process strictly beat s->x's (the victim's)? */
static bool should_preempt(sim_t *s) {
  int32_t b = ready_peek(s);
  if (b < 0) return false;
  const rt_t *cur = &s->rt[s->x->cur];
  switch (s->c->policy) {
  case MS_SRTF: return s->rt[b].rem < cur->rem - (s->now - s->x->run_start);
  case MS_PPRIORITY: return eff_prio(s, b) < s->cx[s->x->cur].run_prio;
  case MS_MLFQ: return s->cx[b].level < s->cx[s->x->cur].level;
  default: return false;
  }
}

static int preempt(sim_t *s) {
  int32_t rank = s->x->cur;
  int rc = stop_run(s);
  if (s->c->policy == MS_MLFQ && !s->c->nallot) s->cx[rank].used = 0; /* fresh quantum */
  s->x->cur = -1;
  ready_push(s, rank);
  tr(s, MS_EV_PREEMPT, rank, true, -1);
  return rc;
}

static int dispatch(sim_t *s) {
  int32_t rank = ready_take(s);
  int rc = add_slice(s, s->x->idle_since, s->now, MS_IDLE);
  s->r->idle_time += s->now - s->x->idle_since;
  s->x->cur = rank;
  if (s->c->policy == MS_PPRIORITY) s->cx[rank].run_prio = eff_prio(s, rank);
  bool sw = s->x->last >= 0 && s->x->last != rank && s->c->cs > 0;
  tr(s, MS_EV_DISPATCH, rank, true, sw ? add_time(s, s->now, s->c->cs) : -1);
  if (s->x->last >= 0 && s->x->last != rank) {
    s->r->context_switches++;
    if (s->c->cs > 0) {
      s->x->state = CPU_SWITCH;
      s->x->sw_end = add_time(s, s->now, s->c->cs);
      s->r->cs_time += s->c->cs;
      return rc ? rc : add_slice(s, s->now, s->x->sw_end, MS_CS);
    }
  }
  begin_run(s);
  return rc;
}

/* Earliest tick at which a waiting process's aged priority beats the
 * running one's: r_i + aging * (p_i - running + 1), minimised. */
static int64_t aging_event(sim_t *s) {
  if (s->c->policy != MS_PPRIORITY || !s->c->aging) return NEVER;
  cpu_t *v = victim(s);
  if (!v) return NEVER;
  if (!s->nready) return NEVER;
  ms_i128 c = s->cx[v->cur].run_prio;
  ms_i128 best = s->amin[1] - (ms_i128)s->c->aging * (c - 1);
  return best > s->now && best < NEVER ? (int64_t)best : NEVER;
}

static int64_t next_event(sim_t *s) {
  int64_t t = next_external(s);
  for (int k = 0; k < s->ncpu; k++) {
    const cpu_t *x = &s->cpus[k];
    if (x->state == CPU_RUN && x->run_end < t) t = x->run_end;
    if (x->state == CPU_SWITCH && x->sw_end < t) t = x->sw_end;
  }
  int64_t a = aging_event(s);
  return a < t ? a : t;
}

/* One tick's events, in the documented order; with several CPUs each step
 * visits the CPUs in number order. */
static int step(sim_t *s) {
  int rc = MS_OK;
  while (s->next_arrival < s->n && s->arrival[s->next_arrival] == s->now)
    admit(s, s->next_arrival++);
  while (s->io.n && s->io.a[0].key == s->now) admit(s, heap_pop(&s->io).rank);
  for (int k = 0; k < s->ncpu && !rc; k++) {
    s->x = &s->cpus[k];
    if (s->x->state == CPU_SWITCH && s->x->sw_end == s->now) begin_run(s);
    else if (s->x->state == CPU_RUN && s->x->run_end == s->now) {
      rc = stop_run(s);
      slice_ended(s);
    }
  }
  if (!rc && s->c->policy == MS_MLFQ && s->c->boost && s->next_boost == s->now) rc = boost(s);
  /* idle CPUs take ready processes first; then a ready process strictly
   * better than the running one the policy ranks last displaces it */
  for (int k = 0; k < s->ncpu && !rc && s->nready; k++) {
    s->x = &s->cpus[k];
    if (s->x->state == CPU_IDLE) rc = dispatch(s);
  }
  while (!rc && s->nready && (s->x = victim(s)) && should_preempt(s)) {
    rc = preempt(s);
    if (!rc) rc = dispatch(s);
  }
  return rc;
}

/* Ranks: file indices sorted by (arrival, file index) into order[], with
 * the sorted arrivals in arrival[].  An LSD radix sort (11-bit digits, stable,
 * so equal arrivals keep file order; digits that are the same for every key
 * are skipped, so arrivals below 2^22 cost two passes) instead of qsort: a
 * comparison sort of 10^6 indices that reach back into the workload was a
 * tenth of a big run.  A file already in arrival order costs one pass. */
enum { RADIX_BITS = 11, RADIX = 1 << RADIX_BITS, RADIX_PASSES = (64 + RADIX_BITS - 1) / RADIX_BITS };

static int rank_order(const ms_workload_t *w, int32_t *order, int64_t *arrival) {
  size_t n = w->n;
  bool sorted = true;
  for (size_t i = 0; i < n; i++) {
    order[i] = (int32_t)i;
    arrival[i] = w->procs[i].arrival;
    if (i && arrival[i] < arrival[i - 1]) sorted = false;
  }
  if (sorted) return MS_OK;
  uint64_t *k0 = (uint64_t *)arrival, *k1 = ms_big_alloc(n * sizeof *k1, false);
  int32_t *o1 = ms_big_alloc(n * sizeof *o1, false);
  size_t(*cnt)[RADIX] = calloc(RADIX_PASSES, sizeof *cnt);
  if (!k1 || !o1 || !cnt) {
    free(k1), free(o1), free(cnt);
    return MS_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) { /* flip the sign bit: unsigned order = signed order */
    uint64_t k = (uint64_t)arrival[i] ^ ((uint64_t)1 << 63);
    k0[i] = k;
    for (int d = 0; d < RADIX_PASSES; d++) cnt[d][(k >> (d * RADIX_BITS)) & (RADIX - 1)]++;
  }
  uint64_t *ks = k0, *kd = k1;
  int32_t *os = order, *od = o1;
  for (int d = 0; d < RADIX_PASSES; d++) {
    size_t *c = cnt[d], sum = 0;
    if (c[(ks[0] >> (d * RADIX_BITS)) & (RADIX - 1)] == n) continue; /* same digit everywhere */
    for (int b = 0; b < RADIX; b++) {
      size_t t = c[b];
      c[b] = sum;
      sum += t;
    }
    for (size_t i = 0; i < n; i++) {
      size_t at = c[(ks[i] >> (d * RADIX_BITS)) & (RADIX - 1)]++;
      kd[at] = ks[i];
      od[at] = os[i];
    }
    uint64_t *kt = ks;
    ks = kd, kd = kt;
    int32_t *ot = os;
    os = od, od = ot;
  }
  for (size_t i = 0; i < n; i++) k0[i] = ks[i] ^ ((uint64_t)1 << 63);
  if (os != order) memcpy(order, os, n * sizeof *order);
  free(k1), free(o1), free(cnt);
  return MS_OK;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && errlen) vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return MS_EINPUT;
}

static int sim_init(sim_t *s, const ms_workload_t *w, const ms_config_t *c, ms_result_t *r) {
  memset(s, 0, sizeof *s);
  s->w = w;
  s->c = c;
  s->r = r;
  s->n = (int32_t)w->n;
  s->order = ms_big_alloc(w->n * sizeof *s->order, false);
  s->arrival = ms_big_alloc(w->n * sizeof *s->arrival, false);
  s->rt = ms_big_alloc(w->n * sizeof *s->rt, false);
  s->ran = calloc(w->n / 64 + 1, sizeof *s->ran);
  s->cx = ms_big_alloc(w->n * sizeof *s->cx, true); /* untouched (no page faults) unless used */
  s->io.a = ms_big_alloc(w->n * sizeof *s->io.a, false);
  r->ps = ms_big_alloc(w->n * sizeof *r->ps, true);
  bool scan = c->aging && (c->policy == MS_PRIORITY || c->policy == MS_PPRIORITY);
  s->kind = (c->policy == MS_FCFS || c->policy == MS_RR) ? READY_RING
            : c->policy == MS_MLFQ                        ? READY_FIFO
            : c->policy == MS_HRRN                        ? READY_KINETIC
            : scan                                        ? READY_AGING
                                                          : READY_HEAP;
  if (s->kind == READY_RING) {
    size_t cap = 1;
    while (cap < w->n) cap *= 2;
    s->ring = ms_big_alloc(cap * sizeof *s->ring, false);
    s->rmask = cap - 1;
  }
  if (s->kind == READY_HEAP) s->ready.a = ms_big_alloc(w->n * sizeof *s->ready.a, false);
  for (s->kcap = 1; s->kcap < w->n; s->kcap *= 2) {}
  if (s->kind == READY_AGING) {
    s->amin = ms_big_alloc(2 * s->kcap * sizeof *s->amin, false);
    if (s->amin)
      for (size_t i = 0; i < 2 * s->kcap; i++) s->amin[i] = AGING_NONE;
  }
  if (s->kind == READY_KINETIC) {
    s->kwin = ms_big_alloc(2 * s->kcap * sizeof *s->kwin, false);
    s->kmc = ms_big_alloc(s->kcap * sizeof *s->kmc, false);
    if (s->kwin) memset(s->kwin, 0xff, 2 * s->kcap * sizeof *s->kwin); /* all -1 */
    if (s->kmc)
      for (size_t i = 0; i < s->kcap; i++) s->kmc[i] = NEVER;
  }
  if (!s->order || !s->arrival || !s->rt || !s->ran || !s->cx || !s->io.a || !r->ps ||
      (s->kind == READY_RING && !s->ring) || (s->kind == READY_HEAP && !s->ready.a) ||
      (s->kind == READY_AGING && !s->amin) || (s->kind == READY_KINETIC && (!s->kwin || !s->kmc)))
    return MS_ENOMEM;
  if (rank_order(w, s->order, s->arrival)) return MS_ENOMEM;
  /* Reserve the gantt chart once (address space only: pages are touched as
   * it fills): every CPU burst is a few slices (idle, switch, run), RR ones
   * one run per quantum; preemptive policies may still need to grow it. */
  size_t est = 1024;
  for (size_t i = 0; i < w->n && est < 8 * w->n + 1024; i++) {
    const ms_proc_t *p = &w->procs[i];
    for (int32_t k = 0; k < p->nbursts; k += 2) {
      int64_t b = w->bursts[p->burst_off + (size_t)k];
      est += 3 + (c->policy == MS_RR ? (size_t)(b / c->quantum < 8 ? b / c->quantum : 8) : 0);
    }
  }
  if (est > 8 * w->n + 1024) est = 8 * w->n + 1024;
  r->gantt = ms_big_alloc(est * sizeof *r->gantt, false);
  if (!r->gantt) return MS_ENOMEM;
  r->capgantt = est;
  for (int32_t i = 0; i < s->n; i++) {
    if (i + 16 < s->n) __builtin_prefetch(&w->procs[s->order[i + 16]]);
    const ms_proc_t *p = &w->procs[s->order[i]];
    s->rt[i] = (rt_t){.rem = w->bursts[p->burst_off], .idx = s->order[i], .bi = 0};
  }
  s->levels = c->policy == MS_MLFQ ? c->queues : 1;
  for (int l = 0; l < MS_MAX_QUEUES; l++) s->head[l] = s->tail[l] = -1;
  s->now = r->first_arrival = proc(s, 0)->arrival;
  s->ncpu = c->cpus > 1 ? c->cpus : 1;
  s->cpus = calloc((size_t)s->ncpu, sizeof *s->cpus);
  if (!s->cpus) return MS_ENOMEM;
  for (int k = 0; k < s->ncpu; k++)
    s->cpus[k] = (cpu_t){.state = CPU_IDLE, .cur = -1, .last = -1, .idle_since = s->now};
  s->x = &s->cpus[0];
  s->next_boost = c->boost ? boost_after(s->now, c->boost) : NEVER;
  return MS_OK;
}

static void sim_free(sim_t *s) {
  free(s->order);
  free(s->arrival);
  free(s->rt);
  free(s->ran);
  free(s->cx);
  free(s->ring);
  free(s->io.a);
  free(s->ready.a);
  free(s->amin);
  free(s->kwin);
  free(s->cpus);
  free(s->kmc);
}

static void totals(sim_t *s) {
  ms_result_t *r = s->r;
  for (int32_t i = 0; i < s->n; i++) { /* file order: start and finish are in ps */
    const ms_proc_t *p = &s->w->procs[i];
    ms_pstat_t *ps = &r->ps[i];
    ps->turnaround = ps->finish - p->arrival;
    ps->waiting = ps->turnaround - p->cpu_total - p->io_total;
    ps->response = ps->start - p->arrival;
    r->sum_turnaround += ps->turnaround;
    r->sum_waiting += ps->waiting;
    r->sum_response += ps->response;
    if (ps->finish > r->last_finish) r->last_finish = ps->finish;
  }
  double n = (double)s->n;
  r->avg_turnaround = (double)r->sum_turnaround / n;
  r->avg_waiting = (double)r->sum_waiting / n;
  r->avg_response = (double)r->sum_response / n;
  r->makespan = r->last_finish - r->first_arrival;
  r->throughput = r->makespan ? n / (double)r->makespan : 0;
  r->utilization = r->makespan ? (double)r->busy / ((double)r->makespan * s->ncpu) : 0;
}

int ms_simulate(const ms_workload_t *w, const ms_config_t *cfg, ms_result_t *r,
                char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  r->cfg = *cfg;
  r->w = w;
  if (!w || w->n == 0) return fail(err, errlen, "empty workload");
  if (cfg->policy == MS_MLFQ && (cfg->queues < 1 || cfg->queues > MS_MAX_QUEUES))
    return fail(err, errlen, "mlfq: bad number of queues (call ms_config_finish)");
  if (cfg->quantum < 1 || cfg->cs < 0 || cfg->aging < 0 || cfg->boost < 0)
    return fail(err, errlen, "bad option values");
  sim_t s;
  int rc = sim_init(&s, w, &r->cfg, r);
  while (rc == MS_OK && s.done < s.n) {
    rc = step(&s);
    r->events++;
    if (rc || s.done == s.n) break;
    int64_t t = next_event(&s);
    bool pending = s.io.n || s.next_arrival < s.n;
    for (int k = 0; k < s.ncpu; k++) pending |= s.cpus[k].state != CPU_IDLE;
    if (s.overflow || (t == NEVER && !pending)) {
      s.overflow = 1;
      break;
    }
    s.now = t;
  }
  if (rc == MS_OK && s.nomem) rc = MS_ENOMEM;
  if (rc == MS_OK && s.overflow)
    rc = fail(err, errlen, "simulated time passes 2^63-1 ticks (policy %s)", cfg->label);
  else if (rc == MS_ENOMEM)
    fail(err, errlen, "out of memory");
  if (rc == MS_OK) totals(&s);
  sim_free(&s);
  if (rc != MS_OK) ms_result_free(r);
  return rc;
}

int ms_check(const ms_result_t *r, char *err, size_t errlen) {
  const ms_workload_t *w = r->w;
  int cpus = 1;
  for (size_t i = 0; i < r->ngantt; i++)
    if (r->gantt[i].cpu >= cpus) cpus = r->gantt[i].cpu + 1;
  int64_t *ran = calloc(w->n, sizeof *ran), *pend = malloc(w->n * sizeof *pend);
  int64_t *cend = malloc((size_t)cpus * sizeof *cend);
  if (!ran || !pend || !cend) return free(ran), free(pend), free(cend), MS_ENOMEM;
  for (size_t i = 0; i < w->n; i++) pend[i] = w->procs[i].arrival;
  for (int c = 0; c < cpus; c++) cend[c] = r->first_arrival;
  int64_t busy = 0, cs = 0, idle = 0;
  int rc = MS_OK;
  for (size_t i = 0; i < r->ngantt && !rc; i++) {
    const ms_slice_t *g = &r->gantt[i];
    if (g->cpu < 0 || g->end <= g->start || g->start != cend[g->cpu])
      rc = fail(err, errlen, "slice %zu (%lld-%lld, cpu %d) does not follow the cpu's previous slice "
                "(ending at %lld)", i, (long long)g->start, (long long)g->end, (int)g->cpu,
                (long long)(g->cpu >= 0 ? cend[g->cpu] : 0));
    else if (g->proc >= (int32_t)w->n || g->proc < MS_CS)
      rc = fail(err, errlen, "slice %zu: bad process %d", i, (int)g->proc);
    else if (g->proc >= 0 && (g->start < pend[g->proc] || g->end > r->ps[g->proc].finish))
      rc = fail(err, errlen, "slice %zu: %s runs at %lld-%lld, before its arrival, its previous "
                "slice's end (%lld) or after its finish", i, w->procs[g->proc].name,
                (long long)g->start, (long long)g->end, (long long)pend[g->proc]);
    if (rc) break;
    cend[g->cpu] = g->end;
    int64_t d = g->end - g->start;
    if (g->proc >= 0) ran[g->proc] += d, busy += d, pend[g->proc] = g->end;
    else if (g->proc == MS_CS) cs += d;
    else idle += d;
  }
  int64_t last = r->first_arrival;
  for (int c = 0; c < cpus; c++)
    if (cend[c] > last) last = cend[c];
  if (!rc && last != r->last_finish)
    rc = fail(err, errlen, "the chart ends at %lld, the last finish is %lld", (long long)last,
              (long long)r->last_finish);
  for (size_t i = 0; i < w->n && !rc; i++)
    if (ran[i] != w->procs[i].cpu_total)
      rc = fail(err, errlen, "%s ran %lld ticks, its CPU bursts sum to %lld", w->procs[i].name,
                (long long)ran[i], (long long)w->procs[i].cpu_total);
  if (!rc && (busy != r->busy || cs != r->cs_time || idle != r->idle_time))
    rc = fail(err, errlen, "chart totals busy %lld cs %lld idle %lld differ from the run's %lld %lld %lld",
              (long long)busy, (long long)cs, (long long)idle, (long long)r->busy,
              (long long)r->cs_time, (long long)r->idle_time);
  free(ran), free(pend), free(cend);
  return rc;
}

void ms_result_free(ms_result_t *r) {
  free(r->ps);
  free(r->gantt);
  free(r->trace);
  r->ps = NULL;
  r->gantt = NULL;
  r->trace = NULL;
  r->ntrace = r->captrace = 0;
  r->ngantt = r->capgantt = 0;
}
