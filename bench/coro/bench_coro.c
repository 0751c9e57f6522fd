/* Coroutine switches (issue 14).  Rows, each a round trip (main -> coroutine
 * -> main, two switches) with a value checked on both sides:
 *   raw switch          mt__ctx_switch        vs Boost.Context jump_fcontext
 *                       (both hand the value over in registers)
 *   raw switch          mt__ctx_switch        vs swapcontext (signal mask:
 *                                                one system call per switch)
 *   greenlet switch     mt_greenlet_switch    vs jump_fcontext with the same
 *                       value both ways          value both ways (ours also keeps
 *                                                the current greenlet, a code and
 *                                                its checks), Python greenlet as
 *                                                a reference
 * jump_fcontext/make_fcontext are Boost's extern "C" symbols (libboost_context,
 * boost/context/detail/fcontext.hpp); they are declared below as that header
 * declares them. */
#include <multitask.h>
#include "harness.h"
#include "platform/switch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

/* boost/context/detail/fcontext.hpp, extern "C" */
typedef void *fcontext_t;
typedef struct {
  fcontext_t fctx;
  void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

#define STACK (64 * 1024)
static long n_fast, n_slow, n_green;
static char stack_mem[STACK] __attribute__((aligned(64)));

/* ---- ours: the raw switch ---- */
static mt__ctx_t raw_main, raw_co;
static volatile long raw_box; /* swapcontext's value */

static void raw_body(void *arg) {
  (void)arg;
  void *v = mt__ctx_switch(&raw_co, &raw_main, NULL); /* started: wait for the first value */
  for (;;) v = mt__ctx_switch(&raw_co, &raw_main, (void *)((intptr_t)v + 1));
}

static void ours_raw(long n, mtb_run_t *r) {
  mt__ctx_make(&raw_co, stack_mem, STACK, raw_body, NULL);
  mt__ctx_switch(&raw_main, &raw_co, NULL); /* start it */
  uint64_t sum = 0;
  mtb_start(r);
  for (long i = 0; i < n; i++)
    sum += (uint64_t)(intptr_t)mt__ctx_switch(&raw_main, &raw_co, (void *)(intptr_t)i);
  mtb_stop(r);
  r->ops = n, r->sum = sum;
}
static void ours_raw_fast(void *a, mtb_run_t *r) { (void)a, ours_raw(n_fast, r); }
static void ours_raw_slow(void *a, mtb_run_t *r) { (void)a, ours_raw(n_slow, r); }

/* ---- Boost.Context ---- */
static void fc_body(transfer_t t) {
  for (;;) t = jump_fcontext(t.fctx, (void *)((intptr_t)t.data + 1));
}

static void boost_fcontext(long n, mtb_run_t *r) {
  fcontext_t co = make_fcontext(stack_mem + STACK, STACK, fc_body);
  uint64_t sum = 0;
  mtb_start(r);
  for (long i = 0; i < n; i++) {
    transfer_t t = jump_fcontext(co, (void *)(intptr_t)i);
    co = t.fctx;
    sum += (uint64_t)(intptr_t)t.data;
  }
  mtb_stop(r);
  r->ops = n, r->sum = sum;
}
static void boost_fast(void *a, mtb_run_t *r) { (void)a, boost_fcontext(n_fast, r); }
static void boost_green(void *a, mtb_run_t *r) { (void)a, boost_fcontext(n_green, r); }

/* ---- swapcontext ---- */
static ucontext_t uc_main, uc_co;
static void uc_body(void) {
  for (;;) {
    raw_box = raw_box + 1;
    swapcontext(&uc_co, &uc_main);
  }
}

static void swapctx(void *a, mtb_run_t *r) {
  (void)a;
  getcontext(&uc_co);
  uc_co.uc_stack.ss_sp = stack_mem;
  uc_co.uc_stack.ss_size = STACK;
  uc_co.uc_link = NULL;
  makecontext(&uc_co, uc_body, 0);
  uint64_t sum = 0;
  long n = n_slow;
  mtb_start(r);
  for (long i = 0; i < n; i++) {
    raw_box = i;
    swapcontext(&uc_main, &uc_co);
    sum += (uint64_t)raw_box;
  }
  mtb_stop(r);
  r->ops = n, r->sum = sum;
}

/* ---- ours: greenlets ---- */
static void *green_body(void *arg, void *value) {
  mt_greenlet_t *main = arg;
  for (;;) {
    if (mt_greenlet_switch(main, (void *)((intptr_t)value + 1), &value) != 0) return NULL;
  }
}

static void ours_greenlet(void *a, mtb_run_t *r) {
  (void)a;
  mt_greenlet_t *g = mt_greenlet_new(green_body, mt_greenlet_current(), NULL, NULL);
  uint64_t sum = 0;
  long n = n_green;
  mtb_start(r);
  for (long i = 0; i < n; i++) {
    void *out;
    mt_greenlet_switch(g, (void *)(intptr_t)i, &out);
    sum += (uint64_t)(intptr_t)out;
  }
  mtb_stop(r);
  mt_greenlet_free(g); /* killed: it returns */
  r->ops = n, r->sum = sum;
}

static uint64_t expect(long n) { return (uint64_t)n * (uint64_t)(n + 1) / 2; }

int main(void) {
  double s = mtb_scale();
  n_fast = (long)(2e7 * s), n_slow = (long)(1e6 * s), n_green = (long)(1e7 * s);
  if (n_fast < 1000) n_fast = 1000;
  if (n_slow < 1000) n_slow = 1000;
  if (n_green < 1000) n_green = 1000;
  printf("context switch backend: %s\n", mt__ctx_backend());

  mtb_row_t fast = {"coro raw switch round trip", "ns/op", false, 1e9, expect(n_fast)};
  mtb_side_t fs[] = {{"ours", ours_raw_fast, NULL}, {"boost jump_fcontext", boost_fast, NULL}};
  mtb_compare(&fast, fs, 2);

  mtb_row_t slow = {"coro raw switch round trip (vs ucontext)", "ns/op", false, 1e9,
                    expect(n_slow)};
  mtb_side_t ss[] = {{"ours", ours_raw_slow, NULL}, {"swapcontext", swapctx, NULL}};
  mtb_compare(&slow, ss, 2);

  mtb_row_t green = {"coro greenlet switch round trip, value", "ns/op", false, 1e9,
                     expect(n_green)};
  mtb_side_t gs[] = {{"ours", ours_greenlet, NULL}, {"boost jump_fcontext", boost_green, NULL}};
  mtb_compare(&green, gs, 2);
  char args[32];
  long py_n = (long)(1e6 * s) > 1000 ? (long)(1e6 * s) : 1000;
  snprintf(args, sizeof args, "%ld", py_n);
  mtb_python_row(green.bench, green.unit, false, mtb_last_ours(), "python greenlet",
                 "coro_greenlet.py", args);
  return 0;
}
