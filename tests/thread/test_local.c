/* threading.local: per-thread values, destructors exactly once per thread
 * and value, many locals, slot reuse, threads the library did not start. */
#include "mt_test.h"
#include "tflag.h"

#include <pthread.h>
#include <string.h>

static int dtor_calls;
static int dtor_b_calls;
static void count_dtor(void *v) {
  (void)v;
  __atomic_add_fetch(&dtor_calls, 1, __ATOMIC_RELAXED);
}
static void count_dtor_b(void *v) {
  (void)v;
  __atomic_add_fetch(&dtor_b_calls, 1, __ATOMIC_RELAXED);
}
static void reset_counts(void) {
  __atomic_store_n(&dtor_calls, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&dtor_b_calls, 0, __ATOMIC_RELAXED);
}

static mt_local_t *g_local;

/* One object, compared by address (two equal literals need not be one). */
static char notmain[] = "notmain";

static void *set_notmain(void *arg) {
  (void)arg;
  void *before = mt_local_get(g_local);
  mt_local_set(g_local, notmain);
  return mt_local_get(g_local) == (void *)notmain ? before : (void *)1;
}

/* The notes' example: main sets "main", a thread sets "notmain", main
 * still sees "main". */
static void per_thread_values(void **state) {
  (void)state;
  g_local = mt_local_new(NULL);
  assert_non_null(g_local);
  assert_null(mt_local_get(g_local));
  assert_code(mt_local_set(g_local, "main"), 0);
  mt_thread_t *t = mt_thread_spawn(set_notmain, NULL, NULL);
  void *r = (void *)1;
  assert_code(mt_thread_join(t, MT_FOREVER, &r), 0);
  assert_null(r); /* the thread started with no value */
  assert_string_equal(mt_local_get(g_local), "main");
  mt_thread_free(t);
  mt_local_free(g_local);
}

static void errors(void **state) {
  (void)state;
  assert_null(mt_local_get(NULL));
  assert_code(mt_local_set(NULL, "x"), MT_EINVAL);
  mt_local_free(NULL);
}

enum { NLOCALS = 50 };
static mt_local_t *locals[NLOCALS];

static void *set_all(void *arg) {
  (void)arg;
  static int dummy;
  for (int i = 0; i < NLOCALS; i++) mt_local_set(locals[i], &dummy);
  mt_local_set(locals[0], &dummy); /* replacing: still one value */
  mt_local_set(locals[1], NULL);    /* NULL: nothing to destroy */
  return NULL;
}

static void dtors_once_per_thread(void **state) {
  (void)state;
  reset_counts();
  for (int i = 0; i < NLOCALS; i++) locals[i] = mt_local_new(count_dtor);
  long nthreads = mt_test_scaled(200, 8);
  for (long k = 0; k < nthreads; k++) {
    mt_thread_t *t = mt_thread_spawn(set_all, NULL, NULL);
    assert_code(mt_thread_join(t, MT_FOREVER, NULL), 0);
    mt_thread_free(t);
    /* destructors ran before join returned */
    assert_int_equal(__atomic_load_n(&dtor_calls, __ATOMIC_RELAXED), (k + 1) * (NLOCALS - 1));
  }
  /* the main thread's own value is destroyed by mt_local_free */
  static int mine;
  mt_local_set(locals[3], &mine);
  for (int i = 0; i < NLOCALS; i++) mt_local_free(locals[i]);
  assert_int_equal(dtor_calls, nthreads * (NLOCALS - 1) + 1);
}

static void many_locals(void **state) {
  (void)state;
  reset_counts();
  long n = mt_test_scaled(10000, 500);
  mt_local_t **v = calloc((size_t)n, sizeof *v);
  for (long i = 0; i < n; i++) {
    v[i] = mt_local_new(count_dtor);
    assert_non_null(v[i]);
    assert_code(mt_local_set(v[i], (void *)(intptr_t)(i + 1)), 0);
  }
  for (long i = 0; i < n; i++) assert_ptr_equal(mt_local_get(v[i]), (void *)(intptr_t)(i + 1));
  for (long i = 0; i < n; i++) mt_local_free(v[i]);
  assert_int_equal(dtor_calls, n);
  free(v);
}

typedef struct {
  mt_local_t *a;
  mt_local_t *b; /* set by main once a was freed */
  tflag_t a_set, b_made, done;
  void *b_seen;
} reuse_t;

static void *reuse_body(void *arg) {
  reuse_t *r = arg;
  static int va, vb;
  mt_local_set(r->a, &va);
  flag_set(&r->a_set);
  flag_wait(&r->b_made, MT_FOREVER);
  r->b_seen = mt_local_get(r->b); /* must not see a's value */
  mt_local_set(r->b, &vb);         /* destroys a's stale value */
  return NULL;
}

static void slot_reuse(void **state) {
  (void)state;
  reset_counts();
  reuse_t r = {0};
  r.a = mt_local_new(count_dtor);
  mt_thread_t *t = mt_thread_spawn(reuse_body, &r, NULL);
  flag_wait(&r.a_set, MT_FOREVER);
  mt_local_free(r.a); /* the other thread's value stays until it exits */
  assert_int_equal(dtor_calls, 0);
  r.b = mt_local_new(count_dtor_b); /* reuses a's slot */
  flag_set(&r.b_made);
  assert_code(mt_thread_join(t, MT_FOREVER, NULL), 0);
  mt_thread_free(t);
  assert_null(r.b_seen);
  assert_int_equal(dtor_calls, 1);   /* a's value, with a's destructor */
  assert_int_equal(dtor_b_calls, 1); /* b's value at exit */
  mt_local_free(r.b);
}

static void *foreign_body(void *arg) {
  static int v;
  mt_local_set(arg, &v);
  return NULL;
}

static void foreign_thread_dtors(void **state) {
  (void)state;
  reset_counts();
  mt_local_t *l = mt_local_new(count_dtor);
  int base = mt_thread_active_count();
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, foreign_body, l), 0);
  pthread_join(th, NULL);
  assert_int_equal(dtor_calls, 1);
  assert_int_equal(mt_thread_active_count(), base); /* no dummy was made */
  mt_local_free(l);
}

static mt_local_t *again_local;
static int again_calls;
static void set_again_dtor(void *v) {
  (void)v;
  static int x;
  if (++again_calls < 10) mt_local_set(again_local, &x); /* keeps coming back */
}
static void *set_again_body(void *arg) {
  (void)arg;
  static int x;
  mt_local_set(again_local, &x);
  return NULL;
}

static void dtor_sets_again_is_bounded(void **state) {
  (void)state;
  again_local = mt_local_new(set_again_dtor);
  mt_thread_t *t = mt_thread_spawn(set_again_body, NULL, NULL);
  assert_code(mt_thread_join(t, MT_FOREVER, NULL), 0);
  mt_thread_free(t);
  assert_true(again_calls >= 1 && again_calls <= 8);
  mt_local_free(again_local);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(per_thread_values),  cmocka_unit_test(errors),
      cmocka_unit_test(dtors_once_per_thread), cmocka_unit_test(many_locals),
      cmocka_unit_test(slot_reuse),          cmocka_unit_test(foreign_thread_dtors),
      cmocka_unit_test(dtor_sets_again_is_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
