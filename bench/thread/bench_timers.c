/* Timers against libuv (libuv1-dev) and GLib timeout sources, alternating
 * run by run (harness.h); asyncio's loop.call_later as a Python reference.
 *
 *   1. schedule + cancel: N one-shot timers 100-110 s ahead, then all
 *      cancelled and freed.  Ours: mt_timer_new + mt_timer_start (a heap
 *      shared by the process, thread-safe, served by one timer thread);
 *      libuv: uv_timer_init + uv_timer_start on a loop, uv_timer_stop +
 *      uv_close (single-threaded loop, no lock); GLib: g_timeout_source_new +
 *      g_source_attach to a GMainContext, g_source_destroy + g_source_unref.
 *      Checksum: the number of timers the cancel stopped.
 *   2. lateness: K timers due 1..200 ms after they are started (two per ms),
 *      each records (time it ran) - (time started + interval); the row's
 *      figure is the p99 of that lateness (ns, lower is better), p50/p99/p99.9
 *      in the row.  Ours runs callbacks on its timer thread while the caller
 *      joins; libuv and GLib run their loop in the calling thread.  libuv and
 *      GLib count timeouts in whole milliseconds (libuv's loop clock is
 *      truncated to the ms, so its timers may run up to 1 ms EARLY: negative
 *      lateness); ours takes double seconds (ns clock).  Checksum: timers run. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include <multitask.h>

#include "harness.h"

static long N, K;

/* ---- schedule + cancel ------------------------------------------------- */

static void never(void *arg) { (void)arg; }

static void ours_sched(void *a, mtb_run_t *r) {
  (void)a;
  mt_timer_t **v = malloc((size_t)N * sizeof *v);
  long stopped = 0;
  mtb_start(r);
  for (long i = 0; i < N; i++) {
    v[i] = mt_timer_new(100.0 + (double)(i % 1000) / 100, never, NULL);
    mt_timer_start(v[i]);
  }
  for (long i = 0; i < N; i++) {
    stopped += mt_timer_cancel(v[i], 0) == 1; /* 1: this call stopped it */
    mt_timer_free(v[i]);
  }
  mtb_stop(r);
  free(v);
  r->ops = N, r->sum = (uint64_t)stopped;
}

static void uv_never(uv_timer_t *t) { (void)t; }

static void uv_sched(void *a, mtb_run_t *r) {
  (void)a;
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_timer_t *v = malloc((size_t)N * sizeof *v);
  long stopped = 0;
  mtb_start(r);
  for (long i = 0; i < N; i++) {
    uv_timer_init(&loop, &v[i]);
    uv_timer_start(&v[i], uv_never, 100000 + (uint64_t)(i % 1000) * 10, 0);
  }
  for (long i = 0; i < N; i++) {
    stopped += uv_is_active((uv_handle_t *)&v[i]) && uv_timer_stop(&v[i]) == 0;
    uv_close((uv_handle_t *)&v[i], NULL);
  }
  uv_run(&loop, UV_RUN_NOWAIT); /* runs the close callbacks: the handles are done */
  mtb_stop(r);
  uv_loop_close(&loop);
  free(v);
  r->ops = N, r->sum = (uint64_t)stopped;
}

static gboolean g_never(gpointer p) { (void)p; return G_SOURCE_REMOVE; }

static void glib_sched(void *a, mtb_run_t *r) {
  (void)a;
  GMainContext *ctx = g_main_context_new();
  GSource **v = malloc((size_t)N * sizeof *v);
  long stopped = 0;
  mtb_start(r);
  for (long i = 0; i < N; i++) {
    v[i] = g_timeout_source_new(100000 + (guint)(i % 1000) * 10);
    g_source_set_callback(v[i], g_never, NULL, NULL);
    g_source_attach(v[i], ctx);
  }
  for (long i = 0; i < N; i++) {
    stopped += !g_source_is_destroyed(v[i]);
    g_source_destroy(v[i]);
    g_source_unref(v[i]);
  }
  mtb_stop(r);
  g_main_context_unref(ctx);
  free(v);
  r->ops = N, r->sum = (uint64_t)stopped;
}

/* ---- lateness ---------------------------------------------------------- */

typedef struct {
  double due;   /* ns */
  double *late; /* where to write the lateness */
  long *fired;
} lt_t;

static uint64_t interval_ms(long i) { return 1 + (uint64_t)(i % 200); }

static void ours_fire(void *arg) {
  lt_t *t = arg;
  *t->late = mtb_now_ns() - t->due;
  __atomic_add_fetch(t->fired, 1, __ATOMIC_RELAXED);
}

static void ours_late(void *a, mtb_run_t *r) {
  (void)a;
  mt_timer_t **v = malloc((size_t)K * sizeof *v);
  lt_t *lt = malloc((size_t)K * sizeof *lt);
  double *late = malloc((size_t)K * sizeof *late);
  long fired = 0;
  mtb_start(r);
  for (long i = 0; i < K; i++) {
    lt[i] = (lt_t){0, &late[i], &fired};
    v[i] = mt_timer_new((double)interval_ms(i) / 1e3, ours_fire, &lt[i]);
    lt[i].due = mtb_now_ns() + (double)interval_ms(i) * 1e6;
    mt_timer_start(v[i]);
  }
  for (long i = 0; i < K; i++) mt_timer_join(v[i], MT_FOREVER);
  mtb_stop(r);
  for (long i = 0; i < K; i++) mt_timer_free(v[i]);
  mtb_latency(r, late, K);
  free(v), free(lt), free(late);
  r->ops = K, r->sum = (uint64_t)fired;
}

static void uv_fire(uv_timer_t *h) {
  lt_t *t = h->data;
  *t->late = mtb_now_ns() - t->due;
  ++*t->fired;
}

static void uv_late(void *a, mtb_run_t *r) {
  (void)a;
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_timer_t *v = malloc((size_t)K * sizeof *v);
  lt_t *lt = malloc((size_t)K * sizeof *lt);
  double *late = malloc((size_t)K * sizeof *late);
  long fired = 0;
  mtb_start(r);
  for (long i = 0; i < K; i++) {
    lt[i] = (lt_t){0, &late[i], &fired};
    uv_timer_init(&loop, &v[i]);
    v[i].data = &lt[i];
    uv_update_time(&loop); /* start from the current time, as ours does */
    lt[i].due = mtb_now_ns() + (double)interval_ms(i) * 1e6;
    uv_timer_start(&v[i], uv_fire, interval_ms(i), 0);
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* returns when no timer is left */
  mtb_stop(r);
  for (long i = 0; i < K; i++) uv_close((uv_handle_t *)&v[i], NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
  mtb_latency(r, late, K);
  free(v), free(lt), free(late);
  r->ops = K, r->sum = (uint64_t)fired;
}

static gboolean g_fire(gpointer p) {
  lt_t *t = p;
  *t->late = mtb_now_ns() - t->due;
  ++*t->fired;
  return G_SOURCE_REMOVE;
}

static void glib_late(void *a, mtb_run_t *r) {
  (void)a;
  GMainContext *ctx = g_main_context_new();
  lt_t *lt = malloc((size_t)K * sizeof *lt);
  double *late = malloc((size_t)K * sizeof *late);
  long fired = 0;
  mtb_start(r);
  for (long i = 0; i < K; i++) {
    lt[i] = (lt_t){0, &late[i], &fired};
    GSource *s = g_timeout_source_new((guint)interval_ms(i));
    lt[i].due = mtb_now_ns() + (double)interval_ms(i) * 1e6;
    g_source_set_callback(s, g_fire, &lt[i], NULL);
    g_source_attach(s, ctx);
    g_source_unref(s);
  }
  while (fired < K) g_main_context_iteration(ctx, TRUE);
  mtb_stop(r);
  g_main_context_unref(ctx);
  mtb_latency(r, late, K);
  free(lt), free(late);
  r->ops = K, r->sum = (uint64_t)fired;
}

int main(void) {
  double s = mtb_scale();
  N = (long)(100000 * s);
  K = (long)(400 * (s < 1 ? 1 : s)); /* 0.2 s of timers per run whatever the scale */
  mtb_row_t row = {"timers 100k scheduled+cancelled", "timers/s", true, 0, (uint64_t)N};
  mtb_side_t sides[] = {{"ours", ours_sched, NULL},
                        {"libuv uv_timer", uv_sched, NULL},
                        {"GLib timeout source", glib_sched, NULL}};
  mtb_compare(&row, sides, 3);
  char args[32];
  snprintf(args, sizeof args, "%ld", N);
  mtb_python_row(row.bench, row.unit, true, mtb_last_ours(), "python asyncio call_later",
                 "timer_asyncio.py", args);
  snprintf(args, sizeof args, "%ld", N / 200 > 0 ? N / 200 : 1); /* a thread per timer: slow */
  mtb_python_row(row.bench, row.unit, true, mtb_last_ours(), "python threading.Timer",
                 "thread_timer.py", args);

  mtb_row_t late = {"timer lateness 1-200 ms (p99)", "ns p99", false, 1e9, (uint64_t)K};
  mtb_side_t ls[] = {{"ours", ours_late, NULL},
                     {"libuv uv_timer", uv_late, NULL},
                     {"GLib timeout source", glib_late, NULL}};
  mtb_compare_p99(&late, ls, 3);
  return 0;
}
