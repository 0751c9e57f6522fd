/* Generators: the notes' consumer/producer ("200 OK"), next/send/throw,
 * close (GeneratorExit = MT_ECANCELLED), the iteration helper, StopIteration
 * (MT_ECLOSED with the return value), misuse. */
#include "mt_test.h"

#include <string.h>

static const char *const OK = "200 OK";

/* def consumer(): r = ''; while True: n = yield r; if not n: return; ...; r = '200 OK' */
static long consumed[8];
static int n_consumed, consumer_cleanups;

static void *consumer(mt_generator_t *self, void *arg) {
  (void)arg;
  const char *r = "";
  for (;;) {
    void *n;
    int rc = mt_generator_yield(self, (void *)r, &n);
    if (rc == MT_ECANCELLED) { /* GeneratorExit from close() */
      consumer_cleanups++;
      return NULL;
    }
    if (!n) return (void *)"done";
    consumed[n_consumed++] = (long)(intptr_t)n;
    r = OK;
  }
}

static void producer_consumer(void **state) {
  (void)state;
  n_consumed = consumer_cleanups = 0;
  mt_generator_t *c = mt_generator_new(consumer, NULL, NULL);
  assert_non_null(c);
  void *r = (void *)1;
  assert_code(mt_generator_send(c, (void *)5, &r), MT_EINVAL); /* send(non-None) first */
  assert_code(mt_generator_send(c, NULL, &r), 0);              /* c.send(None) */
  assert_string_equal(r, "");
  for (long n = 1; n <= 5; n++) {
    assert_code(mt_generator_send(c, (void *)(intptr_t)n, &r), 0);
    assert_ptr_equal(r, OK);
  }
  assert_int_equal(n_consumed, 5);
  for (int i = 0; i < 5; i++) assert_int_equal(consumed[i], i + 1);
  assert_int_equal(mt_generator_is_closed(c), 0);
  assert_code(mt_generator_close(c), 0);
  assert_int_equal(consumer_cleanups, 1);
  assert_int_equal(mt_generator_is_closed(c), 1);
  assert_code(mt_generator_close(c), 0); /* again: nothing */
  assert_code(mt_generator_next(c, &r), MT_ECLOSED);
  assert_null(r);
  mt_generator_free(c);

  /* it returns on a falsy send: StopIteration with the return value */
  c = mt_generator_new(consumer, NULL, NULL);
  assert_code(mt_generator_next(c, &r), 0);
  assert_code(mt_generator_send(c, NULL, &r), MT_ECLOSED);
  assert_string_equal(r, "done");
  assert_int_equal(consumer_cleanups, 1);
  mt_generator_free(c);
}

/* def count(n): for i in range(n): yield i; return 'end' */
static void *count(mt_generator_t *self, void *arg) {
  long n = (long)(intptr_t)arg;
  for (long i = 0; i < n; i++) {
    int r = mt_generator_yield(self, (void *)(intptr_t)i, NULL);
    if (r < 0) return (void *)(intptr_t)r; /* thrown or closed */
  }
  return (void *)"end";
}

static void iterate(void **state) {
  (void)state;
  long n = mt_test_scaled(100000, 1000);
  mt_generator_t *g = mt_generator_new(count, (void *)(intptr_t)n, NULL);
  long sum = 0, seen = 0;
  MT_GENERATOR_FOR(v, g) {
    assert_int_equal((intptr_t)v, seen);
    sum += (long)(intptr_t)v;
    seen++;
  }
  assert_int_equal(seen, n);
  assert_int_equal(sum, n * (n - 1) / 2);
  assert_int_equal(mt_generator_is_closed(g), 1);
  mt_generator_free(g);

  /* throw: the pending yield returns the code */
  g = mt_generator_new(count, (void *)10, NULL);
  void *out;
  assert_code(mt_generator_next(g, &out), 0);
  assert_code(mt_generator_next(g, &out), 0);
  assert_ptr_equal(out, (void *)1);
  assert_code(mt_generator_throw(g, MT_ETIMEDOUT, &out), MT_ECLOSED);
  assert_int_equal((intptr_t)out, MT_ETIMEDOUT);
  assert_code(mt_generator_throw(g, 1, &out), MT_EINVAL);
  mt_generator_free(g);
  /* throw before it starts: closed without running */
  g = mt_generator_new(count, (void *)10, NULL);
  assert_code(mt_generator_throw(g, MT_ETIMEDOUT, &out), MT_ECLOSED);
  assert_null(out);
  assert_int_equal(mt_generator_is_closed(g), 1);
  mt_generator_free(g);
  /* close before it starts, and free of a suspended one (closes it) */
  g = mt_generator_new(count, (void *)10, NULL);
  assert_code(mt_generator_close(g), 0);
  assert_code(mt_generator_next(g, &out), MT_ECLOSED);
  mt_generator_free(g);
  consumer_cleanups = 0;
  g = mt_generator_new(consumer, NULL, NULL);
  assert_code(mt_generator_next(g, &out), 0);
  mt_generator_free(g);
  assert_int_equal(consumer_cleanups, 1);
}

/* a generator that ignores close and yields again */
static int stubborn_exits;
static void *stubborn(mt_generator_t *self, void *arg) {
  (void)arg;
  int r = mt_generator_yield(self, (void *)1, NULL);
  assert_int_equal(r, MT_ECANCELLED);
  r = mt_generator_yield(self, (void *)2, NULL); /* ignores GeneratorExit */
  stubborn_exits++;
  return NULL;
}

/* a generator that calls next on itself: "already executing" */
static void *recursive(mt_generator_t *self, void *arg) {
  (void)arg;
  void *out;
  int r = mt_generator_next(self, &out);
  mt_generator_yield(self, (void *)(intptr_t)r, NULL);
  assert_code(mt_generator_close(self), MT_EBUSY);
  return NULL;
}

/* generators nested: one generator consumes another */
static void *doubles(mt_generator_t *self, void *arg) {
  mt_generator_t *inner = arg;
  MT_GENERATOR_FOR(v, inner) {
    if (mt_generator_yield(self, (void *)((intptr_t)v * 2), NULL) < 0) break;
  }
  return NULL;
}

static void misuse(void **state) {
  (void)state;
  stubborn_exits = 0;
  mt_generator_t *g = mt_generator_new(stubborn, NULL, NULL);
  void *out;
  assert_code(mt_generator_next(g, &out), 0);
  assert_code(mt_generator_close(g), MT_EBUSY);
  assert_int_equal(mt_generator_is_closed(g), 0);
  assert_code(mt_generator_next(g, &out), MT_ECLOSED); /* it returns now */
  assert_int_equal(stubborn_exits, 1);
  mt_generator_free(g);

  g = mt_generator_new(recursive, NULL, NULL);
  assert_code(mt_generator_next(g, &out), 0);
  assert_int_equal((intptr_t)out, MT_EBUSY);
  assert_code(mt_generator_next(g, &out), MT_ECLOSED);
  mt_generator_free(g);

  mt_generator_t *inner = mt_generator_new(count, (void *)5, NULL);
  g = mt_generator_new(doubles, inner, NULL);
  long sum = 0;
  MT_GENERATOR_FOR(v, g) sum += (long)(intptr_t)v;
  assert_int_equal(sum, 2 * (0 + 1 + 2 + 3 + 4));
  mt_generator_free(g);
  mt_generator_free(inner);

  /* yield from outside its generator, and NULLs */
  g = mt_generator_new(count, (void *)3, NULL);
  assert_code(mt_generator_yield(g, NULL, NULL), MT_EPERM);
  mt_generator_free(g);
  assert_code(mt_generator_yield(NULL, NULL, NULL), MT_EINVAL);
  assert_code(mt_generator_next(NULL, &out), MT_EINVAL);
  assert_code(mt_generator_send(NULL, NULL, &out), MT_EINVAL);
  assert_code(mt_generator_close(NULL), MT_EINVAL);
  assert_code(mt_generator_is_closed(NULL), MT_EINVAL);
  errno = 0;
  assert_null(mt_generator_new(NULL, NULL, NULL));
  assert_int_equal(errno, EINVAL);
  mt_generator_free(NULL);
}

/* ---- contextlib.contextmanager: MT_WITH_GENERATOR ---------------------------
 * def f1(li, arg): li.append(arg); try: yield li; finally: log 'exit'; li.remove(arg) */
static char cm_log[64];
static int li[4], n_li;

static void logc(char c) {
  size_t n = strlen(cm_log);
  cm_log[n] = c;
  cm_log[n + 1] = '\0';
}

static void *f1(mt_generator_t *self, void *arg) {
  li[n_li++] = (int)(intptr_t)arg;
  logc('E');
  int r = mt_generator_yield(self, li, NULL);
  logc(r == 0 ? 'X' : 'C'); /* normal exit, or closed */
  n_li--;
  return NULL;
}

static int scope_returning(mt_generator_t *g) {
  MT_WITH_GENERATOR(v, g) {
    logc('b');
    if (v) return 7; /* the clean-up still runs */
    logc('!');
  }
  return 0;
}

static void *no_yield(mt_generator_t *self, void *arg) {
  (void)self, (void)arg;
  logc('n');
  return NULL;
}

static void *yields_twice(mt_generator_t *self, void *arg) {
  (void)arg;
  mt_generator_yield(self, NULL, NULL);
  int r = mt_generator_yield(self, NULL, NULL); /* "didn't stop": closed here */
  logc(r == MT_ECANCELLED ? 'C' : '?');
  return NULL;
}

static void contextmanager(void **state) {
  (void)state;
  /* with f1(li, 3): print(li) -> [1, 3], then the clean-up */
  cm_log[0] = '\0';
  n_li = 1, li[0] = 1;
  mt_generator_t *g = mt_generator_new(f1, (void *)(intptr_t)3, NULL);
  assert_non_null(g);
  int bodies = 0;
  MT_WITH_GENERATOR(v, g) {
    assert_ptr_equal(v, li);
    assert_int_equal(n_li, 2);
    assert_int_equal(((int *)v)[1], 3);
    logc('b');
    bodies++;
  }
  assert_int_equal(bodies, 1);
  assert_string_equal(cm_log, "EbX");
  assert_int_equal(n_li, 1);
  assert_int_equal(mt_generator_is_closed(g), 1);
  mt_generator_free(g);

  /* break and return leave through the clean-up too */
  cm_log[0] = '\0';
  g = mt_generator_new(f1, (void *)(intptr_t)4, NULL);
  MT_WITH_GENERATOR(v, g) {
    logc('b');
    if (v) break;
    logc('!');
  }
  assert_string_equal(cm_log, "EbX");
  mt_generator_free(g);
  cm_log[0] = '\0';
  g = mt_generator_new(f1, (void *)(intptr_t)5, NULL);
  assert_int_equal(scope_returning(g), 7);
  assert_string_equal(cm_log, "EbX");
  assert_int_equal(n_li, 1);
  mt_generator_free(g);

  /* a generator that does not yield: the body is skipped */
  cm_log[0] = '\0';
  g = mt_generator_new(no_yield, NULL, NULL);
  MT_WITH_GENERATOR(v, g) logc('b');
  assert_string_equal(cm_log, "n");
  mt_generator_free(g);

  /* one that yields again at the exit is closed there */
  cm_log[0] = '\0';
  g = mt_generator_new(yields_twice, NULL, NULL);
  MT_WITH_GENERATOR(v, g) logc('b');
  assert_string_equal(cm_log, "bC");
  assert_int_equal(mt_generator_is_closed(g), 1);
  mt_generator_free(g);

  /* NULL: skipped, nothing else happens */
  cm_log[0] = '\0';
  MT_WITH_GENERATOR(v, NULL) logc('b');
  assert_string_equal(cm_log, "");
  assert_null(mt_generator_scope_value(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(producer_consumer),
      cmocka_unit_test(iterate),
      cmocka_unit_test(misuse),
      cmocka_unit_test(contextmanager),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
