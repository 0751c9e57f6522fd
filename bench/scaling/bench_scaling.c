/* Scaling, oversubscription, late partners, a CPU quota and lock fairness,
 * ours vs pthread/GLib, alternating run by run (harness.h).  This machine has
 * 2 cores: from 4 threads up every row is oversubscribed, which is where a
 * spin-then-park policy can burn what a sleeping waiter would leave to others.
 *
 *   1. lock contended by T = 1, 2, 4, ..., 64 threads, each doing N/T
 *      acquire / counter++ / release: mt_lock vs pthread_mutex.  Every
 *      acquire's wait (ns) is sampled: p50/p99/p99.9 and "max" (the longest
 *      wait of any thread: fairness) go in the row.  Checksum: the counter.
 *   2. executor with W = 1, 2, 4, ..., 64 workers: submit N trivial tasks and
 *      collect every result, ours vs GThreadPool(W).  Checksum: sum of results.
 *   3. a wait whose partner is late: thread A waits on an event that thread B
 *      sets 1 ms later (B sleeps in the kernel); the row's CPU per wait is the
 *      price of the spin budget.  Ours (mt_event_t, spins a quarter of
 *      mt__spin_rounds() then parks) vs a plain pthread mutex+cond event and
 *      the fair peer with our policy (fairpeer.h).  Checksum: waits done.
 *   4. under a CPU quota: Event round trips inside a child cgroup of the v1
 *      `cpu` controller limited to half a CPU (cfs_quota_us 50000 of
 *      cfs_period_us 100000) that this program creates, joins, and removes
 *      (needs root and a writable /sys/fs/cgroup/cpu; otherwise the row is
 *      skipped with a message; cgroup v2 `cpu.max` is used when v1 is absent).
 *      Ours vs plain pthread event vs the fair spinning peer.  The library
 *      reads its spin decision once per process (mt__spin_rounds, cgroup
 *      quota included), and the rows above have already made it here, so the
 *      row runs in a fresh process: this program re-executes itself
 *      (--quota-row) inside the cgroup, where ours and the fair peer (which
 *      calls the same mt__spin_rounds) both see the half-CPU quota.
 *   5. queue MPMC with P producers and P consumers, P = 1, 2, 4, ..., 32 (2 to
 *      64 threads): each producer puts N/P items (item i + 1: GLib refuses
 *      NULL), each consumer takes N/P, into an unbounded mt_queue_t vs a
 *      GAsyncQueue (both block a getter on an empty queue).  Checksum: the
 *      sum of the items taken.  (The 4x4 row of bench_queue_inproc is P = 4
 *      here; bench_queue_peers has the bounded rows.) */
#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <multitask.h>

#include "fairpeer.h"
#include "platform/clock.h" /* mt__cpu_quota, printed under the quota */
#include "harness.h"

static int SPIN;

/* ---- 1. contended lock ------------------------------------------------- */

typedef struct {
  int threads;
  long n; /* acquisitions in all */
} lk_cfg_t;

typedef struct {
  bool ours;
  mt_lock_t *l;
  pthread_mutex_t *m;
  long per;
  long *counter;
  double *wait; /* per acquisition, ns */
} lk_t;

static void *lk_worker(void *arg) {
  lk_t *w = arg;
  for (long i = 0; i < w->per; i++) {
    double t0 = mtb_now_ns();
    if (w->ours) mt_lock_acquire(w->l, MT_FOREVER);
    else pthread_mutex_lock(w->m);
    w->wait[i] = mtb_now_ns() - t0;
    ++*w->counter;
    if (w->ours) mt_lock_release(w->l);
    else pthread_mutex_unlock(w->m);
  }
  return NULL;
}

static void lk_run(const lk_cfg_t *c, bool ours, mtb_run_t *r) {
  mt_lock_t *l = mt_lock_new(0);
  /* own lines (docs/benchmarks.md, "Cache lines"): ours' lock is on the heap */
  _Alignas(64) pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  _Alignas(64) long counter = 0;
  long per = c->n / c->threads;
  double *wait = malloc(sizeof *wait * (size_t)(per * c->threads));
  lk_t w[64];
  pthread_t t[64];
  mtb_start(r);
  for (int i = 0; i < c->threads; i++) {
    w[i] = (lk_t){ours, l, &m, per, &counter, wait + per * i};
    pthread_create(&t[i], NULL, lk_worker, &w[i]);
  }
  for (int i = 0; i < c->threads; i++) pthread_join(t[i], NULL);
  mtb_stop(r);
  mtb_latency(r, wait, per * c->threads);
  free(wait);
  mt_lock_free(l);
  r->ops = per * c->threads, r->sum = (uint64_t)counter;
}
static void lk_ours(void *a, mtb_run_t *r) { lk_run(a, true, r); }
static void lk_pthread(void *a, mtb_run_t *r) { lk_run(a, false, r); }

/* ---- 2. executor workers ----------------------------------------------- */

static long NT; /* tasks per run */

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * 2);
  return 0;
}

static void ex_ours(void *a, mtb_run_t *r) {
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = (int)(intptr_t)a;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  mt_future_t **fs = malloc(sizeof *fs * (size_t)NT);
  uint64_t sum = 0;
  mtb_start(r);
  for (long i = 0; i < NT; i++) mt_executor_submit(ex, twice, (void *)(intptr_t)i, &fs[i]);
  for (long i = 0; i < NT; i++) {
    mt_value_t v;
    if (mt_future_result(fs[i], MT_FOREVER, &v) == 0) sum += (uint64_t)(intptr_t)v.ptr;
    mt_future_free(fs[i]);
  }
  mtb_stop(r);
  mt_executor_free(ex);
  free(fs);
  r->ops = NT, r->sum = sum;
}

static void g_task(gpointer data, gpointer user) {
  intptr_t i = (intptr_t)data - 1; /* GLib refuses NULL items */
  ((intptr_t *)user)[i] = 2 * i;
}

static void ex_glib(void *a, mtb_run_t *r) {
  intptr_t *res = calloc((size_t)NT, sizeof *res);
  GThreadPool *p = g_thread_pool_new(g_task, res, (int)(intptr_t)a, FALSE, NULL);
  mtb_start(r);
  for (long i = 0; i < NT; i++) g_thread_pool_push(p, (gpointer)(intptr_t)(i + 1), NULL);
  g_thread_pool_free(p, FALSE, TRUE); /* waits for every task */
  uint64_t sum = 0;
  for (long i = 0; i < NT; i++) sum += (uint64_t)res[i];
  mtb_stop(r);
  free(res);
  r->ops = NT, r->sum = sum;
}

/* ---- 5. queue producers x consumers ----------------------------------- */

typedef struct {
  bool ours;
  mt_queue_t *q;
  GAsyncQueue *g;
  long per;      /* items per thread */
  uint64_t sum;  /* a consumer's */
} qs_t;

static void *qs_producer(void *arg) {
  qs_t *w = arg;
  for (long i = 0; i < w->per; i++) {
    void *it = (void *)(uintptr_t)(i + 1);
    if (w->ours) {
      if (mt_queue_put(w->q, it, MT_FOREVER) != 0) abort();
    } else {
      g_async_queue_push(w->g, it);
    }
  }
  return NULL;
}

static void *qs_consumer(void *arg) {
  qs_t *w = arg;
  uint64_t sum = 0;
  for (long i = 0; i < w->per; i++) {
    void *it;
    if (w->ours) {
      if (mt_queue_get(w->q, &it, MT_FOREVER) != 0) abort();
    } else {
      it = g_async_queue_pop(w->g);
    }
    sum += (uint64_t)(uintptr_t)it;
  }
  w->sum = sum; /* once: w[] slots share lines */
  return NULL;
}

static long NQ; /* items per run */

static void qs_run(int p, bool ours, mtb_run_t *r) {
  mt_queue_t *q = ours ? mt_queue_new(0) : NULL;
  GAsyncQueue *g = ours ? NULL : g_async_queue_new();
  long per = NQ / p;
  qs_t w[64];
  pthread_t t[64];
  mtb_start(r);
  for (int i = 0; i < 2 * p; i++) {
    w[i] = (qs_t){ours, q, g, per, 0};
    pthread_create(&t[i], NULL, i < p ? qs_producer : qs_consumer, &w[i]);
  }
  uint64_t sum = 0;
  for (int i = 0; i < 2 * p; i++) {
    pthread_join(t[i], NULL);
    sum += w[i].sum;
  }
  mtb_stop(r);
  if (q) mt_queue_free(q);
  if (g) g_async_queue_unref(g);
  r->ops = per * p, r->sum = sum;
}
static void qs_ours(void *a, mtb_run_t *r) { qs_run((int)(intptr_t)a, true, r); }
static void qs_glib(void *a, mtb_run_t *r) { qs_run((int)(intptr_t)a, false, r); }

/* ---- events: ours, plain pthread, fair spinning pthread ----------------- */

enum { OURS, PLAIN, FAIR };

typedef struct {
  int kind;
  mt_event_t *e[2];
  struct { /* each on lines of its own (docs/benchmarks.md, "Cache lines") */
    _Alignas(64) fp_event_t e;
  } fe[2];
  long rounds;
  double late_s; /* the setter sleeps this long before each set */
  long done;
} ev_t;

static void ev_set(ev_t *v, int i) {
  if (v->kind == OURS) mt_event_set(v->e[i]);
  else fp_event_set(&v->fe[i].e);
}
/* 1 when the wait returned with the event set (what the checksum counts),
 * then clears it. */
static int ev_wait_clear(ev_t *v, int i) {
  int ok;
  if (v->kind == OURS) {
    ok = mt_event_wait(v->e[i], MT_FOREVER) == 0 && mt_event_is_set(v->e[i]) == 1;
    mt_event_clear(v->e[i]);
  } else {
    fp_event_wait(&v->fe[i].e, v->kind == FAIR ? SPIN / 4 : 0);
    ok = __atomic_load_n(&v->fe[i].e.flag, __ATOMIC_ACQUIRE) == 1;
    fp_event_clear(&v->fe[i].e);
  }
  return ok;
}

static void *ev_echo(void *arg) {
  ev_t *v = arg;
  for (long i = 0; i < v->rounds; i++) {
    ev_wait_clear(v, 0);
    if (v->late_s > 0) {
      struct timespec ts = {0, (long)(v->late_s * 1e9)};
      nanosleep(&ts, NULL); /* the late partner: asleep, not spinning */
    }
    ev_set(v, 1);
  }
  return NULL;
}

static long EV_ROUNDS;
static double EV_LATE;

static void ev_run(void *a, mtb_run_t *r) {
  ev_t v = {.kind = (int)(intptr_t)a, .rounds = EV_ROUNDS, .late_s = EV_LATE};
  v.e[0] = mt_event_new(0), v.e[1] = mt_event_new(0);
  fp_event_init(&v.fe[0].e), fp_event_init(&v.fe[1].e);
  pthread_t t;
  mtb_start(r);
  pthread_create(&t, NULL, ev_echo, &v);
  long done = 0; /* counted here, stored once: no per-round write to a shared line */
  for (long i = 0; i < v.rounds; i++) ev_set(&v, 0), done += ev_wait_clear(&v, 1);
  v.done = done;
  pthread_join(t, NULL);
  mtb_stop(r);
  mt_event_free(v.e[0]), mt_event_free(v.e[1]);
  r->ops = v.rounds, r->sum = (uint64_t)v.done;
}

/* ---- 4. a CPU quota in our own cgroup ----------------------------------- */

static bool write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) return false;
  bool ok = fputs(text, f) >= 0;
  return fclose(f) == 0 && ok;
}

/* The path of our cgroup under the v1 cpu controller ("/" for the root). */
static bool cpu_cgroup_of_self(char *out, size_t cap) {
  FILE *f = fopen("/proc/self/cgroup", "r");
  char line[512];
  bool found = false;
  while (f && fgets(line, sizeof line, f)) {
    char *ctl = strchr(line, ':'), *path = ctl ? strchr(ctl + 1, ':') : NULL;
    if (!path) continue;
    *path++ = 0;
    path[strcspn(path, "\n")] = 0;
    /* the v1 line whose controller list holds "cpu" ("cpu" or "cpu,cpuacct") */
    for (char *tok = strtok(ctl + 1, ","); tok && !found; tok = strtok(NULL, ","))
      if (strcmp(tok, "cpu") == 0) snprintf(out, cap, "%s", path), found = true;
  }
  if (f) fclose(f);
  return found;
}

typedef struct {
  char dir[600], home[512];
  bool v2;
} quota_t;

/* Creates <cpu root>/<our cgroup>/mtbench-<pid> with half a CPU and moves the
 * whole process in.  false (and a message) when it cannot. */
static bool quota_enter(quota_t *q) {
  char self[256], path[700], pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  if (geteuid() != 0) {
    printf("*** SKIPPED cpu quota row: not root (it creates its own cgroup)\n");
    return false;
  }
  if (access("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", W_OK) == 0 && cpu_cgroup_of_self(self, sizeof self)) {
    snprintf(q->home, sizeof q->home, "/sys/fs/cgroup/cpu%s", strcmp(self, "/") ? self : "");
    snprintf(q->dir, sizeof q->dir, "%s/mtbench-%s", q->home, pid);
    q->v2 = false;
  } else if (access("/sys/fs/cgroup/cgroup.controllers", R_OK) == 0) {
    snprintf(q->home, sizeof q->home, "/sys/fs/cgroup");
    snprintf(q->dir, sizeof q->dir, "/sys/fs/cgroup/mtbench-%s", pid);
    q->v2 = true;
  } else {
    printf("*** SKIPPED cpu quota row: no writable cgroup cpu controller\n");
    return false;
  }
  if (mkdir(q->dir, 0755) != 0) {
    printf("*** SKIPPED cpu quota row: mkdir %s: %s\n", q->dir, strerror(errno));
    return false;
  }
  bool ok;
  if (q->v2) {
    snprintf(path, sizeof path, "%s/cpu.max", q->dir);
    ok = write_file(path, "50000 100000");
  } else {
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", q->dir);
    ok = write_file(path, "100000");
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", q->dir);
    ok = ok && write_file(path, "50000");
  }
  snprintf(path, sizeof path, "%s/cgroup.procs", q->dir);
  if (!ok || !write_file(path, pid)) {
    printf("*** SKIPPED cpu quota row: cannot set the quota or join %s\n", q->dir);
    rmdir(q->dir);
    return false;
  }
  printf("(cpu quota: joined %s, 50000/100000 us = half a CPU)\n", q->dir);
  return true;
}

static void quota_leave(quota_t *q) {
  char path[700], pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  snprintf(path, sizeof path, "%s/cgroup.procs", q->home);
  if (!write_file(path, pid) || rmdir(q->dir) != 0)
    fprintf(stderr, "bench_scaling: could not leave/remove %s: %s\n", q->dir, strerror(errno));
}

/* ----------------------------------------------------------------------- */

static void quota_row(double s) {
  EV_ROUNDS = (long)(5000 * s) > 200 ? (long)(5000 * s) : 200;
  EV_LATE = 0;
  printf("(under the quota: mt__cpu_quota() %.2f CPUs, spin budget %d rounds)\n",
         mt__cpu_quota(), SPIN);
  mtb_row_t row = {"event round trip under half-CPU quota", "round trips/s", true, 0,
                   (uint64_t)EV_ROUNDS};
  mtb_side_t ls[] = {{"ours", ev_run, (void *)OURS},
                     {"pthread mutex+cond event", ev_run, (void *)PLAIN},
                     {"pthread event + our spin policy", ev_run, (void *)FAIR}};
  mtb_compare(&row, ls, 3);
}

int main(int argc, char **argv) {
  SPIN = fp_spin_rounds();
  double s = mtb_scale();
  char name[96];
  if (argc > 1 && strcmp(argv[1], "--quota-row") == 0) { /* re-executed inside the cgroup */
    quota_row(s);
    return 0;
  }

  long nl = (long)(200000 * s);
  for (int t = 1; t <= 64; t *= 2) {
    lk_cfg_t c = {t, nl - nl % t};
    snprintf(name, sizeof name, "lock contended %d threads", t);
    mtb_row_t row = {name, "ns/op", false, 1e9, (uint64_t)c.n};
    mtb_side_t sides[] = {{"ours", lk_ours, &c}, {"pthread_mutex", lk_pthread, &c}};
    mtb_compare(&row, sides, 2);
  }

  /* Time budget (make bench: <= 90 s per program): GThreadPool ran at
   * ~2e4 tasks/s from 2 workers up at a load of ~18 on the 2 cores, so 7
   * runs of 5 x 10^4 tasks on the 7 worker counts took ~105 s of the
   * program's 161 s.  So 5 runs of 2 x 10^4 tasks. */
  NT = (long)(20000 * s);
  mtb_cap_reps(5);
  for (int w = 1; w <= 64; w *= 2) {
    snprintf(name, sizeof name, "executor submit-all+collect %d workers", w);
    mtb_row_t row = {name, "tasks/s", true, 0, (uint64_t)NT * (uint64_t)(NT - 1)};
    mtb_side_t sides[] = {{"ours", ex_ours, (void *)(intptr_t)w},
                          {"GThreadPool", ex_glib, (void *)(intptr_t)w}};
    mtb_compare(&row, sides, 2);
  }
  mtb_cap_reps(0);

  /* 2 x 10^5 items per run; 5 runs a side (GAsyncQueue at 64 threads moved
   * ~1.5e6 items/s when measured: ~0.15 s a run) */
  NQ = (long)(200000 * s);
  mtb_cap_reps(5);
  for (int p = 1; p <= 32; p *= 2) {
    long per = NQ / p;
    snprintf(name, sizeof name, "queue MPMC %dx%d (unbounded)", p, p);
    mtb_row_t row = {name, "items/s", true, 0, (uint64_t)p * (uint64_t)per * (uint64_t)(per + 1) / 2};
    mtb_side_t sides[] = {{"ours", qs_ours, (void *)(intptr_t)p},
                          {"GAsyncQueue", qs_glib, (void *)(intptr_t)p}};
    mtb_compare(&row, sides, 2);
  }
  mtb_cap_reps(0);

  EV_ROUNDS = (long)(200 * s) > 20 ? (long)(200 * s) : 20;
  EV_LATE = 1e-3;
  mtb_row_t late = {"event wait, partner 1 ms late", "us/wait", false, 1e6, (uint64_t)EV_ROUNDS};
  mtb_side_t ls[] = {{"ours", ev_run, (void *)OURS},
                     {"pthread mutex+cond event", ev_run, (void *)PLAIN},
                     {"pthread event + our spin policy", ev_run, (void *)FAIR}};
  mtb_compare(&late, ls, 3);

  quota_t q;
  int rc = 0;
  if (quota_enter(&q)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      execl("/proc/self/exe", argv[0], "--quota-row", (char *)NULL);
      perror("bench_scaling: exec for the quota row");
      _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "*** bench_scaling: the quota row failed (status %d)\n", st);
      rc = 1;
    }
    quota_leave(&q);
  }
  return rc;
}
