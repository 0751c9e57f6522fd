/* Sync primitives, ours vs glibc (and Python as a reference), alternating
 * run by run through the harness; every run checks its count:
 *   lock uncontended / 2 threads contended vs pthread_mutex; RLock nested vs
 *   a recursive pthread mutex; semaphore release+acquire vs sem_t;
 *   cross-thread ping-pong of condition, event and semaphore, each vs plain
 *   pthread AND vs the fair peer with our spin-then-park policy
 *   (bench/common/fairpeer.h).
 * Time budget (make bench: <= 90 s per program).  Under foreign load a
 * spinning ping-pong is slow: at a load of ~19 on the 2 cores, condition
 * round trips ran at 1.2e4/s (ours), 6.6e4/s (plain) and 7.9e3/s (fair
 * peer), so 7 x 500k rounds on the 3 sides would take ~13 minutes.  So: the ping-pong rows run 20k round trips (7
 * repetitions); the condition goal row (ours vs the fair spinning peer over
 * 500k rounds) runs 5 repetitions and has no plain-pthread side, which is in
 * its own 20k-round row ("condition_pingpong").  The harness's time budget
 * applies to it too (down to 3 rounds); what made it overrun (184 s for the
 * program at load 4-6 on 2026-11-30) was runs that fell into a mode where both
 * threads shared one CPU and the waiter spun against a partner that could
 * not run: the condition no longer spins then (src/sync/cond.c colocated,
 * copied by the fair peer), and the program took 54 s at load ~6
 * (docs/benchmarks.md, "Timers and condition ping-pong"). */
#include <multitask.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

#include "fairpeer.h"
#include "harness.h"

static long N;      /* single-thread ops */
static long ROUNDS; /* cross-thread round trips */
static int SPIN;    /* our spin budget, for the fair peers */
static double *LAT; /* per round trip ns (wake-up latency), for p50/p99/p99.9 */

enum { OURS, PLAIN, FAIR };

/* ---- uncontended ---- */
static void lock_run(void *a, mtb_run_t *r) {
  long c = 0;
  if (a == (void *)OURS) {
    mt_lock_t *l = mt_lock_new(0);
    mtb_start(r);
    for (long i = 0; i < N; i++) mt_lock_acquire(l, MT_FOREVER), c++, mt_lock_release(l);
    mtb_stop(r);
    mt_lock_free(l);
  } else {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    mtb_start(r);
    for (long i = 0; i < N; i++) pthread_mutex_lock(&m), c++, pthread_mutex_unlock(&m);
    mtb_stop(r);
  }
  r->ops = N, r->sum = (uint64_t)c;
}

static void rlock_run(void *a, mtb_run_t *r) {
  long c = 0;
  if (a == (void *)OURS) {
    mt_rlock_t *l = mt_rlock_new(0);
    mt_rlock_acquire(l, MT_FOREVER); /* measure the nested (recursive) path */
    mtb_start(r);
    for (long i = 0; i < N; i++) mt_rlock_acquire(l, MT_FOREVER), c++, mt_rlock_release(l);
    mtb_stop(r);
    mt_rlock_release(l);
    mt_rlock_free(l);
  } else {
    pthread_mutex_t m;
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&m, &at);
    pthread_mutex_lock(&m);
    mtb_start(r);
    for (long i = 0; i < N; i++) pthread_mutex_lock(&m), c++, pthread_mutex_unlock(&m);
    mtb_stop(r);
    pthread_mutex_unlock(&m);
    pthread_mutex_destroy(&m);
  }
  r->ops = N, r->sum = (uint64_t)c;
}

static void sem_run(void *a, mtb_run_t *r) {
  long c = 0;
  if (a == (void *)OURS) {
    mt_sem_t *s = mt_sem_new(1, 0);
    mtb_start(r);
    for (long i = 0; i < N; i++) mt_sem_release(s, 1), c += mt_sem_acquire(s, MT_FOREVER) == 0;
    mtb_stop(r);
    mt_sem_free(s);
  } else {
    sem_t s;
    sem_init(&s, 0, 1);
    mtb_start(r);
    for (long i = 0; i < N; i++) sem_post(&s), c += sem_wait(&s) == 0;
    mtb_stop(r);
    sem_destroy(&s);
  }
  r->ops = N, r->sum = (uint64_t)c;
}

/* ---- 2 threads contending ---- */
/* Cache lines (docs/benchmarks.md): the peer's mutex and the counter each
 * on a line of their own, as ours' heap lock is; the parameters are read
 * once into locals. */
struct contend {
  mt_lock_t *l;
  long per;
  int ours;
  _Alignas(64) pthread_mutex_t m;
  _Alignas(64) long counter;
};

static void *contender(void *arg) {
  struct contend *c = arg;
  mt_lock_t *l = c->l;
  long per = c->per;
  bool ours = c->ours;
  for (long i = 0; i < per; i++) {
    if (ours) {
      mt_lock_acquire(l, MT_FOREVER);
      c->counter++;
      mt_lock_release(l);
    } else {
      pthread_mutex_lock(&c->m);
      c->counter++;
      pthread_mutex_unlock(&c->m);
    }
  }
  return NULL;
}

static void contended_run(void *a, mtb_run_t *r) {
  struct contend c = {.per = N / 2, .ours = a == (void *)OURS};
  c.l = mt_lock_new(0);
  pthread_mutex_init(&c.m, NULL);
  pthread_t t[2];
  mtb_start(r);
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, contender, &c);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  mtb_stop(r);
  mt_lock_free(c.l);
  r->ops = 2 * c.per, r->sum = (uint64_t)c.counter;
}

/* ---- Condition ping-pong: two threads take turns on one counter ---- */
/* Cache lines (docs/benchmarks.md): what a side synchronises on (the
 * peer's mutex, cond and fair cond; ours' are on the heap) and the turn
 * each on lines of their own; the first line is read-only during a run. */
struct pingpong {
  mt_lock_t *l;
  mt_cond_t *c;
  int kind;
  _Alignas(64) pthread_mutex_t m;
  _Alignas(64) pthread_cond_t pc;
  _Alignas(64) fp_cond_t fc;
  _Alignas(64) long turn;
};

/* One turn: wait until turn % 2 == parity, then advance it. */
static void take_turn(struct pingpong *p, long parity) {
  switch (p->kind) {
  case OURS:
    mt_lock_acquire(p->l, MT_FOREVER);
    while (p->turn % 2 != parity) mt_cond_wait(p->c, MT_FOREVER);
    p->turn++;
    mt_cond_notify(p->c, 1);
    mt_lock_release(p->l);
    break;
  case PLAIN:
    pthread_mutex_lock(&p->m);
    while (p->turn % 2 != parity) pthread_cond_wait(&p->pc, &p->m);
    p->turn++;
    pthread_cond_signal(&p->pc);
    pthread_mutex_unlock(&p->m);
    break;
  default:
    pthread_mutex_lock(&p->m);
    while (p->turn % 2 != parity) fp_cond_wait(&p->fc, &p->m, SPIN);
    p->turn++;
    fp_cond_notify(&p->fc);
    pthread_mutex_unlock(&p->m);
  }
}

static void *ponger(void *arg) {
  for (long i = 0; i < ROUNDS; i++) take_turn(arg, 1);
  return NULL;
}

static void pingpong_run(void *a, mtb_run_t *r) {
  struct pingpong p = {.kind = (int)(intptr_t)a};
  p.l = mt_lock_new(0);
  p.c = mt_cond_new(p.l, 0);
  pthread_mutex_init(&p.m, NULL);
  pthread_cond_init(&p.pc, NULL);
  fp_cond_init(&p.fc);
  pthread_t t;
  mtb_start(r);
  pthread_create(&t, NULL, ponger, &p);
  for (long i = 0; i < ROUNDS; i++) {
    double t0 = mtb_now_ns();
    take_turn(&p, 0);
    LAT[i] = mtb_now_ns() - t0;
  }
  pthread_join(t, NULL);
  mtb_stop(r);
  mtb_latency(r, LAT, ROUNDS);
  mt_cond_free(p.c);
  mt_lock_free(p.l);
  r->ops = ROUNDS, r->sum = (uint64_t)p.turn;
}

/* ---- Event round trip: A sets e0, B waits e0, clears it, sets e1 ... ---- */
/* Cache lines (docs/benchmarks.md): each fair event on lines of its own
 * (an fp_event_t is 96 bytes: its flag word is in its second line), the
 * plain side's mutex+cond+flags on theirs, the first line read-only during
 * a run; echoed is written once, at the end. */
struct evrt {
  mt_event_t *e[2];
  long echoed;
  int kind;
  _Alignas(64) pthread_mutex_t m;
  pthread_cond_t c;
  int flag[2];
  struct {
    _Alignas(64) fp_event_t e;
  } fe[2];
};

static void ev_set(struct evrt *r, int i) {
  if (r->kind == OURS) {
    mt_event_set(r->e[i]);
  } else if (r->kind == FAIR) {
    fp_event_set(&r->fe[i].e);
  } else {
    pthread_mutex_lock(&r->m);
    r->flag[i] = 1;
    pthread_cond_broadcast(&r->c);
    pthread_mutex_unlock(&r->m);
  }
}
/* 1 when the wait returned with the event set (what the checksum counts:
 * a wait that returned early would count 0), then clears it. */
static int ev_wait_clear(struct evrt *r, int i) {
  int ok = 1;
  if (r->kind == OURS) {
    ok = mt_event_wait(r->e[i], MT_FOREVER) == 0 && mt_event_is_set(r->e[i]) == 1;
    mt_event_clear(r->e[i]);
  } else if (r->kind == FAIR) {
    fp_event_wait(&r->fe[i].e, SPIN / 4); /* event.c spins a quarter budget */
    ok = __atomic_load_n(&r->fe[i].e.flag, __ATOMIC_ACQUIRE) == 1;
    fp_event_clear(&r->fe[i].e);
  } else {
    pthread_mutex_lock(&r->m);
    while (!r->flag[i]) pthread_cond_wait(&r->c, &r->m);
    r->flag[i] = 0;
    pthread_mutex_unlock(&r->m);
  }
  return ok;
}

static void *event_echo(void *arg) {
  struct evrt *r = arg;
  long echoed = 0; /* counted here, stored once: no per-round shared write */
  for (long i = 0; i < ROUNDS; i++) echoed += ev_wait_clear(r, 0), ev_set(r, 1);
  r->echoed = echoed;
  return NULL;
}

static void event_run(void *a, mtb_run_t *run) {
  struct evrt r = {.kind = (int)(intptr_t)a};
  r.e[0] = mt_event_new(0);
  r.e[1] = mt_event_new(0);
  pthread_mutex_init(&r.m, NULL);
  pthread_cond_init(&r.c, NULL);
  fp_event_init(&r.fe[0].e);
  fp_event_init(&r.fe[1].e);
  pthread_t t;
  long done = 0;
  mtb_start(run);
  pthread_create(&t, NULL, event_echo, &r);
  for (long i = 0; i < ROUNDS; i++) {
    double t0 = mtb_now_ns();
    ev_set(&r, 0), done += ev_wait_clear(&r, 1);
    LAT[i] = mtb_now_ns() - t0;
  }
  pthread_join(t, NULL);
  mtb_stop(run);
  mtb_latency(run, LAT, ROUNDS);
  mt_event_free(r.e[0]);
  mt_event_free(r.e[1]);
  run->ops = ROUNDS, run->sum = (uint64_t)(done + r.echoed);
}

/* ---- Semaphore ping-pong: A releases s0, B takes it and releases s1 ---- */
/* Cache lines (docs/benchmarks.md): each sem_t on a line of its own. */
struct sempp {
  mt_sem_t *s[2];
  long echoed;
  int kind;
  struct {
    _Alignas(64) sem_t s;
  } ps[2];
};

static void sp_release(struct sempp *p, int i) {
  if (p->kind == OURS)
    mt_sem_release(p->s[i], 1);
  else
    sem_post(&p->ps[i].s);
}
/* 1 when the acquire succeeded (what the checksum counts). */
static int sp_acquire(struct sempp *p, int i) {
  if (p->kind == OURS) return mt_sem_acquire(p->s[i], MT_FOREVER) == 0;
  if (p->kind == FAIR) return fp_sem_wait(&p->ps[i].s, SPIN), 1; /* it retries until it has one */
  return sem_wait(&p->ps[i].s) == 0;
}
static void *sem_echo(void *arg) {
  struct sempp *p = arg;
  long echoed = 0; /* as event_echo */
  for (long i = 0; i < ROUNDS; i++) echoed += sp_acquire(p, 0), sp_release(p, 1);
  p->echoed = echoed;
  return NULL;
}
static void sempp_run(void *a, mtb_run_t *r) {
  struct sempp p = {.kind = (int)(intptr_t)a};
  for (int i = 0; i < 2; i++) p.s[i] = mt_sem_new(0, 0), sem_init(&p.ps[i].s, 0, 0);
  pthread_t t;
  long done = 0;
  mtb_start(r);
  pthread_create(&t, NULL, sem_echo, &p);
  for (long i = 0; i < ROUNDS; i++) sp_release(&p, 0), done += sp_acquire(&p, 1);
  pthread_join(t, NULL);
  mtb_stop(r);
  for (int i = 0; i < 2; i++) mt_sem_free(p.s[i]), sem_destroy(&p.ps[i].s);
  r->ops = ROUNDS, r->sum = (uint64_t)(done + p.echoed);
}

#define SIDE(label, fn, kind) {label, fn, (void *)(intptr_t)(kind)}

int main(void) {
  N = (long)(10000000 * mtb_scale());
  ROUNDS = (long)(20000 * mtb_scale());
  if (ROUNDS < 1000) ROUNDS = 1000;
  long cond_rounds = (long)(500000 * mtb_scale()); /* the condition goal: 500k rounds */
  if (cond_rounds < ROUNDS) cond_rounds = ROUNDS;
  LAT = malloc(sizeof *LAT * (size_t)cond_rounds);
  SPIN = fp_spin_rounds();
  char py[32];
  printf("fair peers spin %d rounds (the library's mt__spin_rounds(); event 1/4)\n", SPIN);

  mtb_row_t row = {"lock_uncontended", "ns/op", false, 1e9, (uint64_t)N};
  mtb_side_t lock_s[] = {SIDE("ours", lock_run, OURS), SIDE("pthread_mutex", lock_run, PLAIN)};
  mtb_min_reps(11); /* its goal is judged on the median of >= 11 alternating runs, with the IQR */
  mtb_compare(&row, lock_s, 2);
  mtb_min_reps(0);
  mtb_python_row(row.bench, row.unit, false, mtb_last_ours(), "python3 threading.Lock",
                 "sync_lock.py", "uncontended");

  row = (mtb_row_t){"lock_contended_2threads", "ns/op", false, 1e9, (uint64_t)(N / 2 * 2)};
  mtb_side_t cont_s[] = {SIDE("ours", contended_run, OURS),
                         SIDE("pthread_mutex", contended_run, PLAIN)};
  mtb_compare(&row, cont_s, 2);
  mtb_python_row(row.bench, row.unit, false, mtb_last_ours(), "python3 threading.Lock",
                 "sync_lock.py", "contended");

  row = (mtb_row_t){"rlock_nested", "ns/op", false, 1e9, (uint64_t)N};
  mtb_side_t rl_s[] = {SIDE("ours", rlock_run, OURS),
                       SIDE("pthread recursive mutex", rlock_run, PLAIN)};
  mtb_compare(&row, rl_s, 2);

  row = (mtb_row_t){"semaphore_release_acquire", "ns/op", false, 1e9, (uint64_t)N};
  mtb_side_t sem_s[] = {SIDE("ours", sem_run, OURS), SIDE("sem_t", sem_run, PLAIN)};
  mtb_compare(&row, sem_s, 2);

  row = (mtb_row_t){"semaphore_pingpong", "round trips/s", true, 0, (uint64_t)(2 * ROUNDS)};
  mtb_side_t spp_s[] = {SIDE("ours", sempp_run, OURS), SIDE("sem_t", sempp_run, PLAIN),
                        SIDE("sem_t + our spin policy", sempp_run, FAIR)};
  mtb_compare(&row, spp_s, 3);

  row = (mtb_row_t){"condition_pingpong", "round trips/s", true, 0, (uint64_t)(2 * ROUNDS)};
  mtb_side_t pp_s[] = {SIDE("ours", pingpong_run, OURS),
                       SIDE("pthread_cond", pingpong_run, PLAIN),
                       SIDE("pthread_cond + our spin policy", pingpong_run, FAIR)};
  mtb_compare(&row, pp_s, 3);

  long rounds = ROUNDS;
  ROUNDS = cond_rounds;
  row = (mtb_row_t){"condition_pingpong 500k rounds", "round trips/s", true, 0,
                    (uint64_t)(2 * ROUNDS)};
  mtb_side_t goal_s[] = {SIDE("ours", pingpong_run, OURS),
                         SIDE("pthread_cond + our spin policy", pingpong_run, FAIR)};
  mtb_cap_reps(5); /* the time budget (above) */
  mtb_compare(&row, goal_s, 2);
  mtb_cap_reps(0);
  ROUNDS = rounds;

  row = (mtb_row_t){"event_round_trip", "round trips/s", true, 0, (uint64_t)(2 * ROUNDS)};
  mtb_side_t ev_s[] = {SIDE("ours", event_run, OURS),
                       SIDE("pthread mutex+cond event", event_run, PLAIN),
                       SIDE("pthread event + our spin policy", event_run, FAIR)};
  mtb_compare(&row, ev_s, 3);
  snprintf(py, sizeof py, "event");
  mtb_python_row(row.bench, row.unit, true, mtb_last_ours(), "python3 threading.Event",
                 "sync_lock.py", py);
  return 0;
}
