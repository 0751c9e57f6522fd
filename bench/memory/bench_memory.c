/* Memory: resident bytes per object and per pending item, ours vs the C
 * peer the time benchmarks use, and the resident memory left after a burst
 * of 10^6 futures is freed.
 *
 * Method: every measurement runs in a fresh forked child (so one
 * measurement's heap does not feed the next), which reads its resident set
 * (/proc/self/statm) before and after making N objects (kept alive) and
 * reports (after - before) / N.  This counts what the objects really cost in
 * pages, allocator overhead included.  Validation: the child checks that all
 * N objects were made (non-NULL) and that queues hold N items; a failure
 * prints "*** BENCH NOT VALID" and exits 1.  Rows are written by
 * mtb_memory_row ("measure": "memory", ratio = theirs/ours, > 1 = ours
 * smaller; no CPU figures).
 *
 * The future burst: 10^6 trivial tasks submitted to a 2-worker pool, all
 * collected and freed; RSS before, at the peak, and after.  Futures come
 * from a slab cache that keeps its memory (src/future/alloc.c), so after the
 * burst the resident set stays near the peak: the row reports it as
 * "after / before", the figure issue 13 bounds at 2x. */
#include <glib.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <multitask.h>

#include "harness.h"

static long N;

static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    fclose(f);
  }
  return res * sysconf(_SC_PAGESIZE);
}

/* The array that keeps the objects alive, touched now so that its pages are
 * not counted as the objects' memory. */
static void *touched(size_t bytes) {
  void *p = malloc(bytes);
  if (p) memset(p, 0, bytes);
  return p;
}

static void invalid(const char *what) {
  fprintf(stderr, "*** BENCH NOT VALID: memory %s: not every object was made\n", what);
  _exit(1);
}

/* ---- the measurements: each returns bytes per object (in a child) ------- */

static void nothing(void *arg) { (void)arg; }
static gboolean g_nothing(gpointer p) { (void)p; return G_SOURCE_REMOVE; }

static double m_lock_ours(void) {
  mt_lock_t **v = touched(sizeof *v * (size_t)N);
  long b = rss_bytes();
  for (long i = 0; i < N; i++) if (!(v[i] = mt_lock_new(0))) invalid("mt_lock");
  return (double)(rss_bytes() - b) / (double)N;
}
static double m_lock_pthread(void) {
  pthread_mutex_t **v = touched(sizeof *v * (size_t)N);
  long b = rss_bytes();
  for (long i = 0; i < N; i++) {
    if (!(v[i] = malloc(sizeof **v))) invalid("pthread_mutex");
    pthread_mutex_init(v[i], NULL);
  }
  return (double)(rss_bytes() - b) / (double)N;
}
static double m_event_ours(void) {
  mt_event_t **v = touched(sizeof *v * (size_t)N);
  long b = rss_bytes();
  for (long i = 0; i < N; i++) if (!(v[i] = mt_event_new(0))) invalid("mt_event");
  return (double)(rss_bytes() - b) / (double)N;
}
typedef struct { pthread_mutex_t m; pthread_cond_t c; int flag; } pev_t;
static double m_event_pthread(void) {
  pev_t **v = touched(sizeof *v * (size_t)N);
  long b = rss_bytes();
  for (long i = 0; i < N; i++) {
    if (!(v[i] = malloc(sizeof **v))) invalid("pthread event");
    pthread_mutex_init(&v[i]->m, NULL), pthread_cond_init(&v[i]->c, NULL), v[i]->flag = 0;
  }
  return (double)(rss_bytes() - b) / (double)N;
}
static double m_queue_ours(void) {
  long n = N / 10;
  mt_queue_t **v = touched(sizeof *v * (size_t)n);
  long b = rss_bytes();
  for (long i = 0; i < n; i++) if (!(v[i] = mt_queue_new(1024))) invalid("mt_queue");
  return (double)(rss_bytes() - b) / (double)n;
}
static double m_queue_glib(void) {
  long n = N / 10;
  GAsyncQueue **v = touched(sizeof *v * (size_t)n);
  long b = rss_bytes();
  for (long i = 0; i < n; i++) if (!(v[i] = g_async_queue_new())) invalid("GAsyncQueue");
  return (double)(rss_bytes() - b) / (double)n;
}
static double m_item_ours(void) {
  mt_queue_t *q = mt_queue_new(0);
  long b = rss_bytes();
  for (long i = 0; i < 10 * N; i++) mt_queue_put(q, (void *)(intptr_t)(i + 1), 0);
  if (mt_queue_qsize(q) != 10 * N) invalid("mt_queue items");
  return (double)(rss_bytes() - b) / (double)(10 * N);
}
static double m_item_glib(void) {
  GAsyncQueue *q = g_async_queue_new();
  long b = rss_bytes();
  for (long i = 0; i < 10 * N; i++) g_async_queue_push(q, (void *)(intptr_t)(i + 1));
  if (g_async_queue_length(q) != 10 * N) invalid("GAsyncQueue items");
  return (double)(rss_bytes() - b) / (double)(10 * N);
}
static double m_timer_ours(void) {
  mt_timer_t **v = touched(sizeof *v * (size_t)N);
  mt_timer_t *warm = mt_timer_new(1000, nothing, NULL); /* the timer thread's stack */
  mt_timer_start(warm);
  long b = rss_bytes();
  for (long i = 0; i < N; i++) {
    if (!(v[i] = mt_timer_new(1000 + (double)i / 1000, nothing, NULL))) invalid("mt_timer");
    if (mt_timer_start(v[i]) != 0) invalid("mt_timer start");
  }
  return (double)(rss_bytes() - b) / (double)N;
}
static double m_timer_glib(void) {
  GMainContext *ctx = g_main_context_new();
  long b = rss_bytes();
  for (long i = 0; i < N; i++) {
    GSource *s = g_timeout_source_new(1000000 + (guint)i);
    if (!s) invalid("GLib timeout source");
    g_source_set_callback(s, g_nothing, NULL, NULL);
    g_source_attach(s, ctx);
    g_source_unref(s); /* the context holds it */
  }
  return (double)(rss_bytes() - b) / (double)N;
}
static double m_future_ours(void) {
  mt_future_t **v = touched(sizeof *v * (size_t)N);
  long b = rss_bytes();
  for (long i = 0; i < N; i++) if (!(v[i] = mt_future_new())) invalid("mt_future");
  return (double)(rss_bytes() - b) / (double)N;
}

/* Runs fn in a fresh child; returns its figure (or exits 1 if it failed). */
static double in_child(double (*fn)(void)) {
  int fd[2];
  if (pipe(fd) != 0) exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    double v = fn();
    _exit(write(fd[1], &v, sizeof v) == sizeof v ? 0 : 1);
  }
  double v = -1;
  int st = 0;
  if (read(fd[0], &v, sizeof v) != sizeof v) v = -1;
  waitpid(pid, &st, 0);
  close(fd[0]), close(fd[1]);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || v < 0) {
    fprintf(stderr, "*** BENCH NOT VALID: a memory measurement failed\n");
    exit(1);
  }
  return v;
}

static int twice(void *arg, mt_value_t *out) {
  out->ptr = (void *)((intptr_t)arg * 2);
  return 0;
}

/* 10^6 futures live at once, then freed: RSS before / peak / after. */
static void future_burst(void) {
  long n = (long)(1000000 * mtb_scale());
  mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT;
  o.max_workers = 2;
  mt_executor_t *ex = mt_executor_new_thread_pool(&o);
  mt_future_t *f;
  mt_executor_submit(ex, twice, 0, &f); /* workers and their stacks up first */
  mt_future_result(f, MT_FOREVER, NULL);
  mt_future_free(f);
  mt_future_t **fs = malloc(sizeof *fs * (size_t)n);
  /* touch the array before "before" (not 0: malloc + memset 0 may become a
   * calloc that touches nothing, and the submit loop's pages would then
   * count against the library in "after") */
  memset(fs, 0xff, sizeof *fs * (size_t)n);
  long before = rss_bytes();
  for (long i = 0; i < n; i++) mt_executor_submit(ex, twice, (void *)(intptr_t)i, &fs[i]);
  uint64_t sum = 0;
  for (long i = 0; i < n; i++) {
    mt_value_t v;
    if (mt_future_result(fs[i], MT_FOREVER, &v) == 0) sum += (uint64_t)(intptr_t)v.ptr;
  }
  long peak = rss_bytes();
  for (long i = 0; i < n; i++) mt_future_free(fs[i]);
  long after = rss_bytes();
  int slabs = mt_future_trim(); /* the documented way to give the burst's memory back */
  long trimmed = rss_bytes();
  mt_executor_free(ex);
  free(fs);
  if (sum != (uint64_t)n * (uint64_t)(n - 1)) {
    fprintf(stderr, "*** BENCH NOT VALID: future burst sum %llu\n", (unsigned long long)sum);
    exit(1);
  }
  printf("future burst of %ld: RSS before %.1f MB, peak %.1f MB, after free %.1f MB "
         "(%.0f bytes per live future; after/before %.2fx); after mt_future_trim() %.1f MB "
         "(%d slabs of 1 MiB given back)\n",
         n, before / 1048576.0, peak / 1048576.0, after / 1048576.0,
         (double)(peak - before) / (double)n, (double)after / (double)before, trimmed / 1048576.0, slabs);
  if (slabs < 0) {
    fprintf(stderr, "*** BENCH NOT VALID: mt_future_trim returned %d\n", slabs);
    exit(1);
  }
  /* the cache keeps the peak until trimmed (docs/futures.md): both rows */
  mtb_memory_row("future burst freed: RSS after", "MB", (double)after / 1048576.0, "RSS before the burst",
                 (double)before / 1048576.0, (uint64_t)n);
  mtb_memory_row("future burst freed and trimmed: RSS after", "MB", (double)trimmed / 1048576.0,
                 "RSS before the burst", (double)before / 1048576.0, (uint64_t)n);
}

typedef struct {
  const char *bench, *unit;
  double (*ours)(void);
  const char *baseline;
  double (*theirs)(void);
} mrow_t;

int main(void) {
  N = (long)(100000 * mtb_scale());
  if (N < 1000) N = 1000;
  const mrow_t rows[] = {
      {"memory per lock", "bytes/object", m_lock_ours, "malloc'd pthread_mutex_t", m_lock_pthread},
      {"memory per event", "bytes/object", m_event_ours, "malloc'd pthread mutex+cond+flag",
       m_event_pthread},
      {"memory per queue (bounded, empty)", "bytes/object", m_queue_ours, "GAsyncQueue",
       m_queue_glib},
      {"memory per pending queue item", "bytes/item", m_item_ours, "GAsyncQueue", m_item_glib},
      {"memory per pending timer", "bytes/timer", m_timer_ours, "GLib timeout source",
       m_timer_glib},
  };
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    double o = in_child(rows[i].ours), t = in_child(rows[i].theirs);
    mtb_memory_row(rows[i].bench, rows[i].unit, o, rows[i].baseline, t, (uint64_t)N);
  }
  printf("memory per future (no C peer): %.0f bytes\n", in_child(m_future_ours));
  future_burst();
  return 0;
}
