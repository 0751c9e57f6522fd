/* Greenlets: switch and value passing, the notes' 12 56 34 78, parent
 * chains, throw and kill (sticky), free of live greenlets, bad input, and
 * 10^4 greenlets switched round-robin with exact counts. */
#include "mt_test.h"
#include "coro/coro.h"
#include "platform/switch.h"

#include <pthread.h>

/* The ucontext build (coro_ucontext) checks the backend, not the load: a
 * fifth of the stress sizes (swapcontext makes a system call per switch). */
#ifdef MT_CORO_UCONTEXT
#define BACKEND_SHARE 5
#else
#define BACKEND_SHARE 1
#endif

/* ---- the notes' example: prints 12, 56, 34, 78 ---- */
static mt_greenlet_t *gr1, *gr2;
static int order[8], n_order;

static void *test1(void *arg, void *value) {
  (void)arg, (void)value;
  order[n_order++] = 12;
  mt_greenlet_switch(gr2, NULL, NULL);
  order[n_order++] = 34;
  mt_greenlet_switch(gr2, NULL, NULL);
  return NULL;
}

static void *test2(void *arg, void *value) {
  (void)arg, (void)value;
  order[n_order++] = 56;
  mt_greenlet_switch(gr1, NULL, NULL);
  order[n_order++] = 78;
  return NULL;
}

static void notes_order(void **state) {
  (void)state;
  n_order = 0;
  gr1 = mt_greenlet_new(test1, NULL, NULL, NULL);
  gr2 = mt_greenlet_new(test2, NULL, NULL, NULL);
  assert_non_null(gr1);
  assert_non_null(gr2);
  assert_int_equal(mt_greenlet_is_started(gr1), 0);
  assert_code(mt_greenlet_switch(gr1, NULL, NULL), 0);
  /* gr2 finished (78) and returned to its parent, main; gr1 waits at its
   * second switch, as in Python */
  assert_int_equal(n_order, 4);
  assert_int_equal(order[0], 12);
  assert_int_equal(order[1], 56);
  assert_int_equal(order[2], 34);
  assert_int_equal(order[3], 78);
  assert_int_equal(mt_greenlet_is_dead(gr2), 1);
  assert_int_equal(mt_greenlet_is_dead(gr1), 0);
  assert_int_equal(mt_greenlet_is_started(gr1), 1);
  mt_greenlet_free(gr1); /* killed: it unwinds from its pending switch */
  assert_int_equal(n_order, 4);
  mt_greenlet_free(gr2);
}

/* ---- values both ways, and the return value to the parent ---- */
static void *adder(void *arg, void *value) {
  long sum = (long)(intptr_t)value;
  mt_greenlet_t *main = arg;
  for (;;) {
    void *v;
    int r = mt_greenlet_switch(main, (void *)(intptr_t)sum, &v);
    assert_int_equal(r, 0);
    if (!v) break;
    sum += (long)(intptr_t)v;
  }
  return (void *)(intptr_t)(sum * 10);
}

static void values(void **state) {
  (void)state;
  mt_greenlet_t *main = mt_greenlet_current();
  assert_non_null(main);
  assert_int_equal(mt_greenlet_is_started(main), 1);
  assert_null(mt_greenlet_parent(main));
  mt_greenlet_t *g = mt_greenlet_new(adder, main, NULL, NULL);
  assert_ptr_equal(mt_greenlet_parent(g), main);
  void *out = NULL;
  assert_code(mt_greenlet_switch(g, (void *)(intptr_t)5, &out), 0);
  assert_int_equal((intptr_t)out, 5);
  for (long i = 1; i <= 100; i++) {
    assert_code(mt_greenlet_switch(g, (void *)(intptr_t)i, &out), 0);
    assert_int_equal((intptr_t)out, 5 + i * (i + 1) / 2);
  }
  assert_code(mt_greenlet_switch(g, NULL, &out), 0); /* it returns */
  assert_int_equal((intptr_t)out, (5 + 5050) * 10);
  assert_int_equal(mt_greenlet_is_dead(g), 1);
  assert_ptr_equal(mt_greenlet_current(), main);
  /* switching to a dead greenlet goes to its parent: here, ourselves */
  assert_code(mt_greenlet_switch(g, (void *)7, &out), 0);
  assert_ptr_equal(out, (void *)7);
  /* switching to the running greenlet returns the value at once */
  assert_code(mt_greenlet_switch(main, (void *)9, &out), 0);
  assert_ptr_equal(out, (void *)9);
  mt_greenlet_free(g);
}

/* ---- parent chains: a finished greenlet returns to its parent; a dead
 * parent hands over to its own parent ---- */
static void *returns_arg(void *arg, void *value) {
  (void)value;
  return arg;
}

static void *child_then_return(void *arg, void *value) {
  (void)value;
  mt_greenlet_t *child = arg;
  void *out = NULL;
  /* child's parent is us: its return value comes back here */
  int r = mt_greenlet_switch(child, NULL, &out);
  assert_int_equal(r, 0);
  assert_ptr_equal(out, (void *)0xC1);
  assert_ptr_equal(mt_greenlet_current(), mt_greenlet_parent(child));
  return (void *)0xB0;
}

static void *switch_to_main(void *arg, void *value) {
  (void)value;
  mt_greenlet_switch(arg, (void *)0x11, NULL); /* main resumes; we wait */
  return (void *)0x22;
}

static void parent_chain(void **state) {
  (void)state;
  mt_greenlet_t *main = mt_greenlet_current();
  /* c's parent b is freed before it ever ran (so b is dead): c returns
   * to b's parent, main */
  mt_greenlet_t *b = mt_greenlet_new(child_then_return, NULL, NULL, NULL);
  mt_greenlet_t *c = mt_greenlet_new(returns_arg, (void *)0xC1, b, NULL);
  assert_non_null(c);
  assert_ptr_equal(mt_greenlet_parent(c), b);
  mt_greenlet_free(b);
  void *out = NULL;
  assert_code(mt_greenlet_switch(c, NULL, &out), 0);
  assert_ptr_equal(out, (void *)0xC1);
  mt_greenlet_free(c);

  /* A dead middle parent: x (parent main) starts y (parent x) which
   * switches to main; x finishes; y, resumed, returns to x's parent. */
  mt_greenlet_t *x = mt_greenlet_new(returns_arg, (void *)0x33, NULL, NULL);
  mt_greenlet_t *y = mt_greenlet_new(switch_to_main, main, x, NULL);
  assert_code(mt_greenlet_switch(y, NULL, &out), 0);
  assert_ptr_equal(out, (void *)0x11);
  assert_code(mt_greenlet_switch(x, NULL, &out), 0);
  assert_ptr_equal(out, (void *)0x33);
  assert_int_equal(mt_greenlet_is_dead(x), 1);
  assert_code(mt_greenlet_switch(y, NULL, &out), 0); /* y returns: to main */
  assert_ptr_equal(out, (void *)0x22);
  assert_int_equal(mt_greenlet_is_dead(y), 1);
  mt_greenlet_free(x);
  mt_greenlet_free(y);
}

/* the real b -> c chain: b switches into c, c's return lands in b */
static mt_greenlet_t *chain_c;
static void *b_runs_c(void *arg, void *value) {
  (void)arg, (void)value;
  return child_then_return(chain_c, NULL);
}

static void parent_chain_nested(void **state) {
  (void)state;
  mt_greenlet_t *b = mt_greenlet_new(b_runs_c, NULL, NULL, NULL);
  chain_c = mt_greenlet_new(returns_arg, (void *)0xC1, b, NULL);
  void *out = NULL;
  assert_code(mt_greenlet_switch(b, NULL, &out), 0);
  assert_ptr_equal(out, (void *)0xB0);
  assert_int_equal(mt_greenlet_is_dead(b), 1);
  assert_int_equal(mt_greenlet_is_dead(chain_c), 1);
  /* set_parent: cycles are refused */
  mt_greenlet_t *p = mt_greenlet_new(returns_arg, NULL, NULL, NULL);
  mt_greenlet_t *q = mt_greenlet_new(returns_arg, NULL, p, NULL);
  assert_code(mt_greenlet_set_parent(p, q), MT_EINVAL);
  assert_code(mt_greenlet_set_parent(p, p), MT_EINVAL);
  assert_code(mt_greenlet_set_parent(q, mt_greenlet_current()), 0);
  assert_ptr_equal(mt_greenlet_parent(q), mt_greenlet_current());
  assert_code(mt_greenlet_set_parent(p, q), 0);
  mt_greenlet_free(q); /* still p's parent: kept until p goes */
  assert_ptr_equal(mt_greenlet_parent(p), q);
  mt_greenlet_free(p);
  mt_greenlet_free(b);
  mt_greenlet_free(chain_c);
}

/* ---- throw and kill ---- */
static int cleanups, saw_cancel_after;

static void *waits_and_cleans(void *arg, void *value) {
  (void)arg, (void)value;
  void *v;
  int r = mt_greenlet_switch(mt_greenlet_parent(mt_greenlet_current()), (void *)1, &v);
  if (r == MT_ECANCELLED) {
    cleanups++;
    /* sticky: what every later blocking call of ours will see */
    saw_cancel_after = mt__coro_cancelled();
    return (void *)0xDEAD;
  }
  return (void *)(intptr_t)r; /* a thrown code */
}

static void throw_kill(void **state) {
  (void)state;
  cleanups = 0;
  void *out = NULL;
  /* throw a code into a waiting greenlet: its switch returns it */
  mt_greenlet_t *g = mt_greenlet_new(waits_and_cleans, NULL, NULL, NULL);
  assert_code(mt_greenlet_switch(g, NULL, &out), 0);
  assert_ptr_equal(out, (void *)1);
  assert_code(mt_greenlet_throw(g, MT_ETIMEDOUT, &out), 0);
  assert_int_equal((intptr_t)out, MT_ETIMEDOUT);
  assert_int_equal(mt_greenlet_is_dead(g), 1);
  assert_code(mt_greenlet_throw(g, 5, NULL), MT_EINVAL);
  mt_greenlet_free(g);

  /* kill: MT_ECANCELLED at its switch point, its cleanup runs, sticky */
  g = mt_greenlet_new(waits_and_cleans, NULL, NULL, NULL);
  assert_code(mt_greenlet_switch(g, NULL, &out), 0);
  saw_cancel_after = 0;
  assert_int_equal(mt__coro_cancelled(), 0);
  assert_code(mt_greenlet_kill(g), 0);
  assert_int_equal(cleanups, 1);
  assert_int_equal(saw_cancel_after, MT_ECANCELLED);
  assert_int_equal(mt__coro_cancelled(), 0); /* main was not killed */
  assert_int_equal(mt_greenlet_is_dead(g), 1);
  assert_code(mt_greenlet_kill(g), 0); /* already dead */
  mt_greenlet_free(g);

  /* a greenlet not started dies without running */
  g = mt_greenlet_new(waits_and_cleans, NULL, NULL, NULL);
  assert_code(mt_greenlet_kill(g), 0);
  assert_int_equal(mt_greenlet_is_dead(g), 1);
  assert_int_equal(mt_greenlet_is_started(g), 0);
  assert_int_equal(cleanups, 1);
  mt_greenlet_free(g);
  g = mt_greenlet_new(waits_and_cleans, NULL, NULL, NULL);
  assert_code(mt_greenlet_throw(g, MT_ECANCELLED, &out), 0);
  assert_null(out);
  assert_int_equal(mt_greenlet_is_dead(g), 1);
  assert_int_equal(cleanups, 1);
  mt_greenlet_free(g);

  /* throw into the main greenlet from a child */
  assert_code(mt_greenlet_kill(mt_greenlet_current()), MT_EINVAL);
  assert_code(mt_greenlet_kill(NULL), MT_EINVAL);
}

static void *throws_into_parent(void *arg, void *value) {
  (void)value;
  mt_greenlet_throw(arg, MT_EBROKEN, NULL);
  return NULL;
}

static void *kills_itself(void *arg, void *value) {
  (void)arg, (void)value;
  int r = mt_greenlet_kill(mt_greenlet_current());
  assert_int_equal(mt__coro_cancelled(), MT_ECANCELLED);
  return (void *)(intptr_t)r;
}

static void throw_into_main(void **state) {
  (void)state;
  mt_greenlet_t *main = mt_greenlet_current();
  mt_greenlet_t *g = mt_greenlet_new(throws_into_parent, main, NULL, NULL);
  void *out = (void *)1;
  assert_code(mt_greenlet_switch(g, NULL, &out), MT_EBROKEN);
  assert_null(out);
  mt_greenlet_free(g); /* suspended in its throw: killed, returns */
  g = mt_greenlet_new(kills_itself, NULL, NULL, NULL);
  assert_code(mt_greenlet_switch(g, NULL, &out), 0);
  assert_int_equal((intptr_t)out, MT_ECANCELLED);
  mt_greenlet_free(g);
}

/* ---- free: the running greenlet, and one that refuses to die ---- */
static void *frees_itself(void *arg, void *value) {
  (void)arg, (void)value;
  mt_greenlet_free(mt_greenlet_current()); /* released when it returns */
  return (void *)0x5E1F;
}

static void *ignores_kill(void *arg, void *value) {
  (void)value;
  mt_greenlet_t *main = arg;
  for (;;) mt_greenlet_switch(main, (void *)0x1, NULL); /* never returns */
  return NULL;
}

static void free_cases(void **state) {
  (void)state;
  mt_greenlet_t *main = mt_greenlet_current();
  void *out;
  mt_greenlet_t *g = mt_greenlet_new(frees_itself, NULL, NULL, NULL);
  assert_code(mt_greenlet_switch(g, NULL, &out), 0);
  assert_ptr_equal(out, (void *)0x5E1F);
  g = mt_greenlet_new(ignores_kill, main, NULL, NULL);
  assert_code(mt_greenlet_switch(g, NULL, &out), 0);
  assert_code(mt_greenlet_kill(g), MT_EBUSY); /* it switched back alive */
  mt_greenlet_free(g); /* dropped without unwinding */
  mt_greenlet_free(NULL);
  mt_greenlet_free(main); /* the root: nothing */
  assert_ptr_equal(mt_greenlet_current(), main);
}

/* ---- bad input and other threads ---- */
static mt_greenlet_t *other_thread_g;
static void *make_and_wait(void *arg) {
  (void)arg;
  other_thread_g = mt_greenlet_new(returns_arg, NULL, NULL, NULL);
  return NULL;
}

static void bad_input(void **state) {
  (void)state;
  errno = 0;
  assert_null(mt_greenlet_new(NULL, NULL, NULL, NULL));
  assert_int_equal(errno, EINVAL);
  mt_greenlet_opts_t o = MT_GREENLET_OPTS_INIT;
  o.stack_size = 1000;
  errno = 0;
  assert_null(mt_greenlet_new(returns_arg, NULL, NULL, &o));
  assert_int_equal(errno, EINVAL);
  mt_greenlet_opts_t zero = {0};
  assert_null(mt_greenlet_new(returns_arg, NULL, NULL, &zero));
  assert_int_equal(errno, EINVAL);
  o.stack_size = 40000; /* rounded up to pages */
  o.name = "worker";
  mt_greenlet_t *g = mt_greenlet_new(returns_arg, (void *)3, NULL, &o);
  assert_non_null(g);
  assert_string_equal(mt_greenlet_name(g), "worker");
  void *out;
  assert_code(mt_greenlet_switch(g, NULL, &out), 0);
  assert_ptr_equal(out, (void *)3);
  mt_greenlet_free(g);
  assert_code(mt_greenlet_switch(NULL, NULL, &out), MT_EINVAL);
  assert_code(mt_greenlet_throw(NULL, MT_ECANCELLED, NULL), MT_EINVAL);
  assert_code(mt_greenlet_is_dead(NULL), MT_EINVAL);
  assert_code(mt_greenlet_is_started(NULL), MT_EINVAL);
  assert_code(mt_greenlet_set_parent(NULL, NULL), MT_EINVAL);
  assert_null(mt_greenlet_name(NULL));
  assert_null(mt_greenlet_parent(NULL));

  /* a greenlet of another thread: EPERM, and freeing it here is safe */
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, make_and_wait, NULL), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_non_null(other_thread_g);
  assert_code(mt_greenlet_switch(other_thread_g, NULL, NULL), MT_EPERM);
  assert_code(mt_greenlet_kill(other_thread_g), MT_EPERM);
  assert_code(mt_greenlet_set_parent(other_thread_g, mt_greenlet_current()), MT_EPERM);
  errno = 0;
  assert_null(mt_greenlet_new(returns_arg, NULL, other_thread_g, NULL));
  assert_int_equal(errno, EPERM);
  mt_greenlet_free(other_thread_g);
}

/* ---- many greenlets, switched round-robin, exact counts ---- */
static long rr_switches, rr_cleanups;

static void *rr_body(void *arg, void *value) {
  mt_greenlet_t *main = arg;
  long mine = (long)(intptr_t)value;
  for (;;) {
    void *v;
    int r = mt_greenlet_switch(main, (void *)(intptr_t)mine, &v);
    if (r == MT_ECANCELLED) {
      rr_cleanups++;
      return NULL;
    }
    rr_switches++;
    mine += (long)(intptr_t)v;
  }
}

static void many(void **state) {
  (void)state;
  long n = mt_test_scaled(10000 / BACKEND_SHARE, 50);
  long rounds = 5;
  mt_greenlet_t *main = mt_greenlet_current();
  mt_greenlet_t **v = calloc((size_t)n, sizeof *v);
  rr_switches = rr_cleanups = 0;
  for (long i = 0; i < n; i++) {
    v[i] = mt_greenlet_new(rr_body, main, NULL, NULL);
    assert_non_null(v[i]);
  }
  long total = 0;
  for (long i = 0; i < n; i++) { /* start each with its index */
    void *out;
    assert_code(mt_greenlet_switch(v[i], (void *)(intptr_t)i, &out), 0);
    assert_int_equal((intptr_t)out, i);
  }
  for (long k = 1; k <= rounds; k++)
    for (long i = 0; i < n; i++) {
      void *out;
      assert_code(mt_greenlet_switch(v[i], (void *)(intptr_t)k, &out), 0);
      assert_int_equal((intptr_t)out, i + k * (k + 1) / 2);
      total += (long)(intptr_t)out;
    }
  assert_int_equal(rr_switches, n * rounds);
  long expect = 0;
  for (long k = 1; k <= rounds; k++) expect += n * (n - 1) / 2 + n * (k * (k + 1) / 2);
  assert_int_equal(total, expect);
  for (long i = 0; i < n; i++) mt_greenlet_free(v[i]); /* each unwinds */
  assert_int_equal(rr_cleanups, n);
  /* the same again: stacks come from the pool or are mapped afresh */
  for (long i = 0; i < n; i++) {
    v[i] = mt_greenlet_new(returns_arg, (void *)(intptr_t)(i + 1), NULL, NULL);
    assert_non_null(v[i]);
  }
  total = 0;
  for (long i = 0; i < n; i++) {
    void *out;
    assert_code(mt_greenlet_switch(v[i], NULL, &out), 0);
    total += (long)(intptr_t)out;
    mt_greenlet_free(v[i]);
  }
  assert_int_equal(total, n * (n + 1) / 2);
  free(v);
}

/* greenlets on several threads at once, each its own root */
static void *thread_body(void *arg) {
  long n = (long)(intptr_t)arg, sum = 0;
  mt_greenlet_t *main = mt_greenlet_current();
  for (long i = 0; i < n; i++) {
    mt_greenlet_t *g = mt_greenlet_new(adder, main, NULL, NULL);
    void *out;
    mt_greenlet_switch(g, (void *)(intptr_t)i, &out);
    mt_greenlet_switch(g, (void *)(intptr_t)1, &out);
    mt_greenlet_switch(g, NULL, &out);
    sum += (long)(intptr_t)out;
    mt_greenlet_free(g);
  }
  return (void *)(intptr_t)sum;
}

static void threads(void **state) {
  (void)state;
  long n = mt_test_scaled(2000 / BACKEND_SHARE, 20);
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, thread_body, (void *)(intptr_t)n), 0);
  for (int i = 0; i < 4; i++) {
    void *r;
    assert_int_equal(pthread_join(th[i], &r), 0);
    assert_int_equal((intptr_t)r, 10 * (n * (n - 1) / 2 + n));
  }
}

static void backend(void **state) {
  (void)state;
#ifdef MT_CORO_UCONTEXT
  assert_string_equal(mt__ctx_backend(), "ucontext");
#elif defined(__x86_64__)
  assert_string_equal(mt__ctx_backend(), "x86_64");
#endif
  print_message("context switch backend: %s\n", mt__ctx_backend());
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(backend),        cmocka_unit_test(notes_order),
      cmocka_unit_test(values),         cmocka_unit_test(parent_chain),
      cmocka_unit_test(parent_chain_nested), cmocka_unit_test(throw_kill),
      cmocka_unit_test(throw_into_main), cmocka_unit_test(free_cases),
      cmocka_unit_test(bad_input),      cmocka_unit_test(many),
      cmocka_unit_test(threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
