/* Sync primitives vs glibc and Python, side by side in one run:
 * Lock uncontended / 2 threads contended vs pthread_mutex and
 * threading.Lock; RLock vs a recursive pthread mutex; Semaphore vs sem_t;
 * Condition ping-pong vs pthread_cond; Event set/wait round trip vs a
 * pthread mutex+cond event. */
#include <multitask.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

#include "harness.h"

static long N;

/* ---- uncontended ---- */
static double ours_lock(void *a) {
  (void)a;
  mt_lock_t *l = mt_lock_new(0);
  double t0 = mtb_now();
  for (long i = 0; i < N; i++) mt_lock_acquire(l, MT_FOREVER), mt_lock_release(l);
  double ns = (mtb_now() - t0) * 1e9 / (double)N;
  mt_lock_free(l);
  return ns;
}

static double pthread_lock(void *a) {
  (void)a;
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  double t0 = mtb_now();
  for (long i = 0; i < N; i++) pthread_mutex_lock(&m), pthread_mutex_unlock(&m);
  return (mtb_now() - t0) * 1e9 / (double)N;
}

static double ours_rlock(void *a) {
  (void)a;
  mt_rlock_t *l = mt_rlock_new(0);
  mt_rlock_acquire(l, MT_FOREVER); /* measure the nested (recursive) path too */
  double t0 = mtb_now();
  for (long i = 0; i < N; i++) mt_rlock_acquire(l, MT_FOREVER), mt_rlock_release(l);
  double ns = (mtb_now() - t0) * 1e9 / (double)N;
  mt_rlock_release(l);
  mt_rlock_free(l);
  return ns;
}

static double pthread_rlock(void *a) {
  (void)a;
  pthread_mutex_t m;
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&m, &at);
  pthread_mutex_lock(&m);
  double t0 = mtb_now();
  for (long i = 0; i < N; i++) pthread_mutex_lock(&m), pthread_mutex_unlock(&m);
  double ns = (mtb_now() - t0) * 1e9 / (double)N;
  pthread_mutex_unlock(&m);
  pthread_mutex_destroy(&m);
  return ns;
}

static double ours_sem(void *a) {
  (void)a;
  mt_sem_t *s = mt_sem_new(1, 0);
  double t0 = mtb_now();
  for (long i = 0; i < N; i++) mt_sem_release(s, 1), mt_sem_acquire(s, MT_FOREVER);
  double ns = (mtb_now() - t0) * 1e9 / (double)N;
  mt_sem_free(s);
  return ns;
}

static double posix_sem(void *a) {
  (void)a;
  sem_t s;
  sem_init(&s, 0, 1);
  double t0 = mtb_now();
  for (long i = 0; i < N; i++) sem_post(&s), sem_wait(&s);
  double ns = (mtb_now() - t0) * 1e9 / (double)N;
  sem_destroy(&s);
  return ns;
}

/* ---- 2 threads contending ---- */
struct contend {
  mt_lock_t *l;
  pthread_mutex_t m;
  long per;
  long counter;
  int use_ours;
};

static void *contender(void *arg) {
  struct contend *c = arg;
  for (long i = 0; i < c->per; i++) {
    if (c->use_ours) {
      mt_lock_acquire(c->l, MT_FOREVER);
      c->counter++;
      mt_lock_release(c->l);
    } else {
      pthread_mutex_lock(&c->m);
      c->counter++;
      pthread_mutex_unlock(&c->m);
    }
  }
  return NULL;
}

static double contended(int ours) {
  struct contend c = {.per = N / 2, .use_ours = ours};
  c.l = mt_lock_new(0);
  pthread_mutex_init(&c.m, NULL);
  pthread_t t[2];
  double t0 = mtb_now();
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, contender, &c);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  double ns = (mtb_now() - t0) * 1e9 / (double)(2 * c.per);
  if (c.counter != 2 * c.per) fprintf(stderr, "contended: lost updates!\n");
  mt_lock_free(c.l);
  return ns;
}
static double ours_contended(void *a) { (void)a; return contended(1); }
static double pthread_contended(void *a) { (void)a; return contended(0); }

/* ---- Condition ping-pong: two threads take turns ---- */
struct pingpong {
  mt_lock_t *l;
  mt_cond_t *c;
  pthread_mutex_t m;
  pthread_cond_t pc;
  long rounds;
  long turn;
  int ours;
};

static void *ponger(void *arg) {
  struct pingpong *p = arg;
  for (long i = 0; i < p->rounds; i++) {
    if (p->ours) {
      mt_lock_acquire(p->l, MT_FOREVER);
      while (p->turn % 2 == 0) mt_cond_wait(p->c, MT_FOREVER);
      p->turn++;
      mt_cond_notify(p->c, 1);
      mt_lock_release(p->l);
    } else {
      pthread_mutex_lock(&p->m);
      while (p->turn % 2 == 0) pthread_cond_wait(&p->pc, &p->m);
      p->turn++;
      pthread_cond_signal(&p->pc);
      pthread_mutex_unlock(&p->m);
    }
  }
  return NULL;
}

static double pingpong(int ours) {
  struct pingpong p = {.rounds = N / 200 < 2000 ? 2000 : N / 200, .ours = ours};
  p.l = mt_lock_new(0);
  p.c = mt_cond_new(p.l, 0);
  pthread_mutex_init(&p.m, NULL);
  pthread_cond_init(&p.pc, NULL);
  pthread_t t;
  pthread_create(&t, NULL, ponger, &p);
  double t0 = mtb_now();
  for (long i = 0; i < p.rounds; i++) {
    if (ours) {
      mt_lock_acquire(p.l, MT_FOREVER);
      while (p.turn % 2 == 1) mt_cond_wait(p.c, MT_FOREVER);
      p.turn++;
      mt_cond_notify(p.c, 1);
      mt_lock_release(p.l);
    } else {
      pthread_mutex_lock(&p.m);
      while (p.turn % 2 == 1) pthread_cond_wait(&p.pc, &p.m);
      p.turn++;
      pthread_cond_signal(&p.pc);
      pthread_mutex_unlock(&p.m);
    }
  }
  pthread_join(t, NULL);
  double rate = (double)p.rounds / (mtb_now() - t0);
  mt_cond_free(p.c);
  mt_lock_free(p.l);
  return rate;
}
static double ours_pingpong(void *a) { (void)a; return pingpong(1); }
static double pthread_pingpong(void *a) { (void)a; return pingpong(0); }

/* ---- Event round trip: A sets e1, B waits e1, clears it, sets e2 ... ---- */
struct evrt {
  mt_event_t *e[2];
  pthread_mutex_t m;
  pthread_cond_t c;
  int flag[2];
  long rounds;
  int ours;
};

static void pev_set(struct evrt *r, int i) {
  pthread_mutex_lock(&r->m);
  r->flag[i] = 1;
  pthread_cond_broadcast(&r->c);
  pthread_mutex_unlock(&r->m);
}
static void pev_wait_clear(struct evrt *r, int i) {
  pthread_mutex_lock(&r->m);
  while (!r->flag[i]) pthread_cond_wait(&r->c, &r->m);
  r->flag[i] = 0;
  pthread_mutex_unlock(&r->m);
}

static void *event_echo(void *arg) {
  struct evrt *r = arg;
  for (long i = 0; i < r->rounds; i++) {
    if (r->ours) {
      mt_event_wait(r->e[0], MT_FOREVER);
      mt_event_clear(r->e[0]);
      mt_event_set(r->e[1]);
    } else {
      pev_wait_clear(r, 0);
      pev_set(r, 1);
    }
  }
  return NULL;
}

static double event_rt(int ours) {
  struct evrt r = {.rounds = N / 200 < 2000 ? 2000 : N / 200, .ours = ours};
  r.e[0] = mt_event_new(0);
  r.e[1] = mt_event_new(0);
  pthread_mutex_init(&r.m, NULL);
  pthread_cond_init(&r.c, NULL);
  pthread_t t;
  pthread_create(&t, NULL, event_echo, &r);
  double t0 = mtb_now();
  for (long i = 0; i < r.rounds; i++) {
    if (ours) {
      mt_event_set(r.e[0]);
      mt_event_wait(r.e[1], MT_FOREVER);
      mt_event_clear(r.e[1]);
    } else {
      pev_set(&r, 0);
      pev_wait_clear(&r, 1);
    }
  }
  pthread_join(t, NULL);
  double rate = (double)r.rounds / (mtb_now() - t0);
  mt_event_free(r.e[0]);
  mt_event_free(r.e[1]);
  return rate;
}
static double ours_event(void *a) { (void)a; return event_rt(1); }
static double pthread_event(void *a) { (void)a; return event_rt(0); }

int main(void) {
  N = (long)(10000000 * mtb_scale());
  double o, t;
  o = mtb_median(ours_lock, NULL, MTB_REPS);
  t = mtb_median(pthread_lock, NULL, MTB_REPS);
  mtb_report("lock_uncontended", "ns/op", o, "pthread_mutex", t, false);
  t = mtb_python("sync_lock.py", "uncontended");
  mtb_report("lock_uncontended", "ns/op", o, "python3 threading.Lock", t, false);

  o = mtb_median(ours_contended, NULL, MTB_REPS);
  t = mtb_median(pthread_contended, NULL, MTB_REPS);
  mtb_report("lock_contended_2threads", "ns/op", o, "pthread_mutex", t, false);
  t = mtb_python("sync_lock.py", "contended");
  mtb_report("lock_contended_2threads", "ns/op", o, "python3 threading.Lock", t, false);

  o = mtb_median(ours_rlock, NULL, MTB_REPS);
  t = mtb_median(pthread_rlock, NULL, MTB_REPS);
  mtb_report("rlock_nested", "ns/op", o, "pthread recursive mutex", t, false);

  o = mtb_median(ours_sem, NULL, MTB_REPS);
  t = mtb_median(posix_sem, NULL, MTB_REPS);
  mtb_report("semaphore_release_acquire", "ns/op", o, "sem_t", t, false);

  o = mtb_median(ours_pingpong, NULL, MTB_REPS);
  t = mtb_median(pthread_pingpong, NULL, MTB_REPS);
  mtb_report("condition_pingpong", "round trips/s", o, "pthread_cond", t, true);

  o = mtb_median(ours_event, NULL, MTB_REPS);
  t = mtb_median(pthread_event, NULL, MTB_REPS);
  mtb_report("event_round_trip", "round trips/s", o, "pthread mutex+cond event", t, true);
  t = mtb_python("sync_lock.py", "event");
  mtb_report("event_round_trip", "round trips/s", o, "python3 threading.Event", t, true);
  return 0;
}
