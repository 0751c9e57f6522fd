/* Value / Array / RawValue / RawArray and named SharedMemory. */
#include "mt_test.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

static int start_all(mt_process_t **ps, int n, int (*fn)(void *), void *arg) {
  for (int i = 0; i < n; i++) {
    ps[i] = mt_process_new(fn, arg, NULL);
    if (!ps[i] || mt_process_start(ps[i]) != 0) return -1;
  }
  return 0;
}

static void join_all_ok(mt_process_t **ps, int n) {
  for (int i = 0; i < n; i++) {
    int code = -1;
    assert_code(mt_process_join(ps[i], MT_FOREVER), 0);
    assert_code(mt_process_exitcode(ps[i], &code), 0);
    assert_int_equal(code, 0);
    mt_process_free(ps[i]);
  }
}

/* ---- Value with lock: 4 processes x N increments ----------------------- */

static long n_incr;

static int incr_locked(void *arg) {
  mt_shvalue_t *v = arg;
  for (long i = 0; i < n_incr; i++) {
    if (mt_lock_acquire(mt_shvalue_get_lock(v), MT_FOREVER) != 0) return 1;
    int64_t x;
    mt_shvalue_get_i64(v, &x);
    mt_shvalue_set_i64(v, x + 1);
    mt_lock_release(mt_shvalue_get_lock(v));
  }
  return 0;
}

static int incr_atomic(void *arg) {
  for (long i = 0; i < n_incr; i++)
    if (mt_shvalue_add(arg, 1, NULL) != 0) return 1;
  return 0;
}

static void test_value_lock_counts(void **state) {
  (void)state;
  n_incr = mt_test_scaled(100000, 1000);
  mt_shvalue_t *v = mt_shvalue_new('l', 0, true);
  assert_non_null(v);
  assert_non_null(mt_shvalue_get_lock(v));
  mt_process_t *ps[4];
  assert_int_equal(start_all(ps, 4, incr_locked, v), 0);
  join_all_ok(ps, 4);
  int64_t x;
  assert_code(mt_shvalue_get_i64(v, &x), 0);
  assert_int_equal(x, 4 * n_incr);

  assert_code(mt_shvalue_set_i64(v, 0), 0);
  assert_int_equal(start_all(ps, 4, incr_atomic, v), 0);
  join_all_ok(ps, 4);
  assert_code(mt_shvalue_get_i64(v, &x), 0);
  assert_int_equal(x, 4 * n_incr);
  mt_shvalue_free(v);
}

/* ---- typecodes -------------------------------------------------------------- */

static const char *int_codes = "cbBhHiIlLqQuw";

static void bounds(char tc, int64_t *lo, int64_t *hi) {
  switch (tc) {
  case 'c': case 'B': *lo = 0; *hi = 255; break;
  case 'b': *lo = -128; *hi = 127; break;
  case 'h': *lo = -32768; *hi = 32767; break;
  case 'H': *lo = 0; *hi = 65535; break;
  case 'i': *lo = INT32_MIN; *hi = INT32_MAX; break;
  case 'I': *lo = 0; *hi = UINT32_MAX; break;
  case 'l': case 'q': *lo = INT64_MIN; *hi = INT64_MAX; break;
  case 'u': case 'w': *lo = 0; *hi = 0x10FFFF; break; /* one code point */
  default: *lo = 0; *hi = INT64_MAX; break; /* 'L'/'Q' through the i64 accessors */
  }
}

static void test_value_typecodes(void **state) {
  (void)state;
  for (const char *t = int_codes; *t; t++) {
    int64_t lo, hi, x;
    bounds(*t, &lo, &hi);
    mt_shvalue_t *v = mt_shvalue_new_raw(*t, hi);
    assert_non_null(v);
    assert_null(mt_shvalue_get_lock(v));
    assert_int_equal(mt_shvalue_typecode(v), *t);
    assert_code(mt_shvalue_get_i64(v, &x), 0);
    assert_true(x == hi);
    assert_code(mt_shvalue_set_i64(v, lo), 0);
    assert_code(mt_shvalue_get_i64(v, &x), 0);
    assert_true(x == lo);
    if (hi < INT64_MAX) assert_code(mt_shvalue_set_i64(v, hi + 1), MT_ERANGE);
    if (lo > INT64_MIN) assert_code(mt_shvalue_set_i64(v, lo - 1), MT_ERANGE);
    assert_code(mt_shvalue_get_i64(v, &x), 0);
    assert_true(x == lo); /* nothing stored on MT_ERANGE */
    assert_code(mt_shvalue_set_double(v, 1.5), MT_EINVAL);
    double d;
    assert_code(mt_shvalue_get_double(v, &d), 0);
    assert_true(d == (double)lo);
    assert_code(mt_shvalue_set_i64(v, hi), 0);
    if (hi < INT64_MAX) assert_code(mt_shvalue_add(v, 1, NULL), MT_ERANGE);
    assert_code(mt_shvalue_add(v, -1, &x), 0);
    assert_true(x == hi - 1);
    mt_shvalue_free(v);
    if (hi < INT64_MAX) {
      assert_null(mt_shvalue_new(*t, hi + 1, false));
      assert_int_equal(errno, ERANGE);
    }
  }
  mt_shvalue_t *f = mt_shvalue_new_double('f', 0.5, true);
  mt_shvalue_t *d = mt_shvalue_new_double('d', 1.0 / 3, false);
  double x;
  int64_t i;
  assert_code(mt_shvalue_get_double(f, &x), 0);
  assert_true(x == 0.5);
  assert_code(mt_shvalue_get_double(d, &x), 0);
  assert_true(x == 1.0 / 3);
  assert_code(mt_shvalue_set_double(f, 1e300), MT_ERANGE);
  assert_code(mt_shvalue_set_i64(d, 7), 0);
  assert_code(mt_shvalue_get_double(d, &x), 0);
  assert_true(x == 7.0);
  assert_code(mt_shvalue_get_i64(d, &i), MT_EINVAL);
  assert_code(mt_shvalue_add(d, 1, NULL), MT_EINVAL);
  mt_shvalue_free(f);
  mt_shvalue_free(d);
  assert_null(mt_shvalue_new('x', 0, false));
  assert_int_equal(errno, EINVAL);
  assert_null(mt_shvalue_new_double('i', 1.0, false));
  assert_code(mt_shvalue_get_i64(NULL, &i), MT_EINVAL);
  assert_code(mt_shvalue_set_i64(NULL, 1), MT_EINVAL);
  mt_shvalue_free(NULL);
}

/* Array round trip through a child for every typecode. */
static int array_child(void *arg) {
  mt_sharray_t *a = arg;
  long n = (long)mt_sharray_len(a);
  char tc = mt_sharray_typecode(a);
  for (long i = 0; i < n; i++) {
    if (tc == 'f' || tc == 'd') {
      double x;
      if (mt_sharray_get_double(a, i, &x) || x != (double)i + 0.25) return 1;
      if (mt_sharray_set_double(a, i, -x)) return 2;
    } else {
      int64_t x;
      if (mt_sharray_get_i64(a, i, &x) || x != i % 100) return 3;
      if (mt_sharray_set_i64(a, i, (i % 100) + 1)) return 4;
    }
  }
  return 0;
}

static void test_array_typecodes(void **state) {
  (void)state;
  const char *codes = "cbBhHiIlLqQuwfd";
  for (const char *t = codes; *t; t++) {
    long n = 300;
    mt_sharray_t *a = *t == 'i' ? mt_sharray_new(*t, (size_t)n, true) : mt_sharray_new_raw(*t, (size_t)n);
    assert_non_null(a);
    assert_int_equal(mt_sharray_len(a), n);
    assert_int_equal(mt_sharray_itemsize(a), mt_typecode_size(*t));
    assert_true((*t == 'i') == (mt_sharray_get_lock(a) != NULL));
    bool fl = *t == 'f' || *t == 'd';
    for (long i = 0; i < n; i++) {
      if (fl) assert_code(mt_sharray_set_double(a, i, (double)i + 0.25), 0);
      else assert_code(mt_sharray_set_i64(a, i, i % 100), 0);
    }
    mt_process_t *p;
    assert_int_equal(start_all(&p, 1, array_child, a), 0);
    join_all_ok(&p, 1);
    for (long i = 0; i < n; i++) {
      if (fl) {
        double x;
        assert_code(mt_sharray_get_double(a, i, &x), 0);
        assert_true(x == -((double)i + 0.25));
      } else {
        int64_t x;
        assert_code(mt_sharray_get_i64(a, i, &x), 0);
        assert_int_equal(x, i % 100 + 1);
      }
    }
    int64_t x;
    double dx;
    assert_code(mt_sharray_get_double(a, n, &dx), MT_ERANGE);
    assert_code(mt_sharray_get_double(a, -n - 1, &dx), MT_ERANGE);
    assert_code(mt_sharray_get_double(a, -1, &dx), 0);
    assert_code(mt_sharray_set_i64(a, n, 1), MT_ERANGE);
    assert_code(mt_sharray_set_double(a, n, 1), MT_ERANGE);
    if (!fl) {
      assert_code(mt_sharray_get_i64(a, n, &x), MT_ERANGE);
      assert_code(mt_sharray_get_i64(a, -1, &x), 0);
      assert_int_equal(x, (n - 1) % 100 + 1);
    }
    mt_sharray_free(a);
  }
  assert_null(mt_sharray_new('i', 0, false));
  assert_null(mt_sharray_new('x', 3, false));
  mt_sharray_free(NULL);
}

/* ---- 'q' 'Q' 'u' 'w' and the unsigned 64-bit accessors (issue 12) ------------ */

static void test_u64_and_wide(void **state) {
  (void)state;
  assert_int_equal(mt_typecode_size('q'), 8);
  assert_int_equal(mt_typecode_size('Q'), 8);
  assert_int_equal(mt_typecode_size('u'), sizeof(wchar_t));
  assert_int_equal(mt_typecode_size('w'), 4);
  int64_t i;
  uint64_t u;
  double d;
  for (const char *t = "LQ"; *t; t++) {
    mt_shvalue_t *v = mt_shvalue_new(*t, 0, true);
    assert_non_null(v);
    assert_code(mt_shvalue_set_u64(v, UINT64_MAX), 0);
    assert_code(mt_shvalue_get_u64(v, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_code(mt_shvalue_get_i64(v, &i), MT_ERANGE); /* does not fit int64 */
    assert_code(mt_shvalue_get_double(v, &d), 0);
    assert_true(d == 18446744073709551615.0);
    assert_code(mt_shvalue_add(v, -1, NULL), MT_ERANGE); /* add works in 0..INT64_MAX */
    assert_code(mt_shvalue_get_u64(v, &u), 0);
    assert_true(u == UINT64_MAX); /* unchanged */
    assert_code(mt_shvalue_set_u64(v, (uint64_t)INT64_MAX + 1), 0);
    assert_code(mt_shvalue_get_u64(v, &u), 0);
    assert_true(u == (uint64_t)INT64_MAX + 1);
    assert_code(mt_shvalue_set_i64(v, -1), MT_ERANGE);
    assert_code(mt_shvalue_set_u64(v, 41), 0);
    assert_code(mt_shvalue_add(v, 1, &i), 0);
    assert_int_equal(i, 42);
    mt_shvalue_free(v);
  }
  /* signed and narrow codes through the u64 accessors: their ranges */
  mt_shvalue_t *q = mt_shvalue_new('q', -5, false);
  assert_code(mt_shvalue_get_u64(q, &u), MT_ERANGE); /* negative */
  assert_code(mt_shvalue_set_u64(q, (uint64_t)INT64_MAX + 1), MT_ERANGE);
  assert_code(mt_shvalue_set_u64(q, (uint64_t)INT64_MAX), 0);
  assert_code(mt_shvalue_get_i64(q, &i), 0);
  assert_true(i == INT64_MAX);
  assert_code(mt_shvalue_set_i64(q, INT64_MIN), 0);
  assert_code(mt_shvalue_get_i64(q, &i), 0);
  assert_true(i == INT64_MIN);
  mt_shvalue_free(q);
  mt_shvalue_t *b = mt_shvalue_new('B', 7, false);
  assert_code(mt_shvalue_set_u64(b, 256), MT_ERANGE);
  assert_code(mt_shvalue_set_u64(b, 255), 0);
  assert_code(mt_shvalue_get_u64(b, &u), 0);
  assert_true(u == 255);
  mt_shvalue_free(b);
  mt_shvalue_t *dv = mt_shvalue_new_double('d', 0, false);
  assert_code(mt_shvalue_set_u64(dv, (uint64_t)1 << 53), 0); /* converts */
  assert_code(mt_shvalue_get_double(dv, &d), 0);
  assert_true(d == 9007199254740992.0);
  assert_code(mt_shvalue_get_u64(dv, &u), MT_EINVAL);
  mt_shvalue_free(dv);
  assert_code(mt_shvalue_get_u64(NULL, &u), MT_EINVAL);
  assert_code(mt_shvalue_set_u64(NULL, 1), MT_EINVAL);

  /* wide characters: one code point, 0..0x10FFFF, as the C type */
  for (const char *t = "uw"; *t; t++) {
    mt_shvalue_t *w = mt_shvalue_new(*t, 0x20AC, false); /* the euro sign */
    assert_non_null(w);
    assert_code(mt_shvalue_get_i64(w, &i), 0);
    assert_int_equal(i, 0x20AC);
    assert_code(mt_shvalue_set_i64(w, 0x10FFFF), 0);
    assert_code(mt_shvalue_set_i64(w, 0x110000), MT_ERANGE);
    assert_code(mt_shvalue_set_i64(w, -1), MT_ERANGE);
    assert_code(mt_shvalue_set_u64(w, 0x110000), MT_ERANGE);
    assert_code(mt_shvalue_get_u64(w, &u), 0);
    assert_true(u == 0x10FFFF);
    mt_shvalue_free(w);
    assert_null(mt_shvalue_new(*t, 0x110000, false));
    assert_int_equal(errno, ERANGE);
  }
  const int64_t hello[] = {'h', 0xE9, 'l', 0x20AC};
  mt_sharray_t *wu = mt_sharray_new_from_i64('u', hello, 4, false);
  mt_sharray_t *ww = mt_sharray_new_from_i64('w', hello, 4, false);
  assert_non_null(wu);
  assert_non_null(ww);
  const wchar_t *wc = mt_sharray_data(wu);
  const uint32_t *uc = mt_sharray_data(ww);
  for (int k = 0; k < 4; k++) {
    assert_true(wc[k] == (wchar_t)hello[k]);
    assert_true(uc[k] == (uint32_t)hello[k]);
  }
  mt_sharray_free(wu);
  mt_sharray_free(ww);

  /* Array of 'Q': every bit pattern, across a process */
  mt_sharray_t *a = mt_sharray_new('Q', 4, false);
  for (long k = 0; k < 4; k++) assert_code(mt_sharray_set_u64(a, k, UINT64_MAX - (uint64_t)k), 0);
  assert_code(mt_sharray_set_u64(a, 4, 1), MT_ERANGE);
  assert_code(mt_sharray_get_u64(a, -5, &u), MT_ERANGE);
  assert_code(mt_sharray_get_u64(a, -1, &u), 0);
  assert_true(u == UINT64_MAX - 3);
  assert_code(mt_sharray_get_i64(a, 0, &i), MT_ERANGE);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    uint64_t x;
    for (long k = 0; k < 4; k++)
      if (mt_sharray_get_u64(a, k, &x) || x != UINT64_MAX - (uint64_t)k ||
          mt_sharray_set_u64(a, k, x - 10))
        _exit(1);
    _exit(0);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  for (long k = 0; k < 4; k++) {
    assert_code(mt_sharray_get_u64(a, k, &u), 0);
    assert_true(u == UINT64_MAX - (uint64_t)k - 10);
  }
  mt_sharray_free(a);
  mt_sharray_t *fa = mt_sharray_new('f', 1, false);
  assert_code(mt_sharray_get_u64(fa, 0, &u), MT_EINVAL);
  mt_sharray_free(fa);
  assert_code(mt_sharray_get_u64(NULL, 0, &u), MT_EINVAL);
  assert_code(mt_sharray_set_u64(NULL, 0, 1), MT_EINVAL);
}

/* ---- Array from values; a 'c' array's value and raw (issue 12) -------------- */

static void test_array_from_values(void **state) {
  (void)state;
  const int64_t v4[] = {11, 22, 33, 44};
  mt_sharray_t *a = mt_sharray_new_from_i64('i', v4, 4, true);
  assert_non_null(a);
  assert_non_null(mt_sharray_get_lock(a));
  assert_int_equal(mt_sharray_len(a), 4);
  assert_int_equal(mt_sharray_typecode(a), 'i');
  for (long k = 0; k < 4; k++) {
    int64_t x;
    assert_code(mt_sharray_get_i64(a, k, &x), 0);
    assert_int_equal(x, v4[k]);
  }
  mt_sharray_free(a);
  a = mt_sharray_new_from_i64('d', v4, 2, false); /* Array('d', [11, 22]) */
  assert_null(mt_sharray_get_lock(a));
  double d;
  assert_code(mt_sharray_get_double(a, 1, &d), 0);
  assert_true(d == 22.0);
  mt_sharray_free(a);
  const double dv[] = {0.5, -1.25, 3e10};
  a = mt_sharray_new_from_double('d', dv, 3, true);
  for (long k = 0; k < 3; k++) {
    assert_code(mt_sharray_get_double(a, k, &d), 0);
    assert_true(d == dv[k]);
  }
  mt_sharray_free(a);
  a = mt_sharray_new_from_double('f', dv, 3, false);
  assert_code(mt_sharray_get_double(a, 1, &d), 0);
  assert_true(d == -1.25);
  mt_sharray_free(a);
  /* errors: nothing made */
  const int64_t bad[] = {1, 256};
  errno = 0;
  assert_null(mt_sharray_new_from_i64('B', bad, 2, false));
  assert_int_equal(errno, ERANGE);
  const int64_t neg[] = {-1};
  errno = 0;
  assert_null(mt_sharray_new_from_i64('Q', neg, 1, false));
  assert_int_equal(errno, ERANGE);
  errno = 0;
  assert_null(mt_sharray_new_from_i64('x', v4, 4, false));
  assert_int_equal(errno, EINVAL);
  errno = 0;
  assert_null(mt_sharray_new_from_i64('i', NULL, 4, false));
  assert_int_equal(errno, EINVAL);
  errno = 0;
  assert_null(mt_sharray_new_from_i64('i', v4, 0, false));
  assert_int_equal(errno, EINVAL);
  errno = 0;
  assert_null(mt_sharray_new_from_double('i', dv, 3, false)); /* Python's TypeError */
  assert_int_equal(errno, EINVAL);
  const double huge[] = {1.0, 1e300};
  errno = 0;
  assert_null(mt_sharray_new_from_double('f', huge, 2, false));
  assert_int_equal(errno, ERANGE);
  errno = 0;
  assert_null(mt_sharray_new_from_double('d', NULL, 1, false));
  assert_int_equal(errno, EINVAL);
}

static void test_char_array_value_raw(void **state) {
  (void)state;
  mt_sharray_t *c = mt_sharray_new_from_str("hello", true);
  assert_non_null(c);
  assert_int_equal(mt_sharray_typecode(c), 'c');
  assert_int_equal(mt_sharray_len(c), 5);
  char buf[16];
  assert_int_equal(mt_sharray_value(c, buf, sizeof buf), 5);
  assert_string_equal(buf, "hello");
  assert_code(mt_sharray_value(c, buf, 5), MT_ERANGE); /* no room for the NUL */
  assert_int_equal(mt_sharray_raw(c, buf, 5), 5);
  assert_memory_equal(buf, "hello", 5);
  assert_code(mt_sharray_raw(c, buf, 4), MT_ERANGE);
  /* .value = b"hi": two bytes and a NUL; .raw keeps what follows */
  assert_code(mt_sharray_set_value(c, "hi"), 0);
  assert_int_equal(mt_sharray_value(c, buf, sizeof buf), 2);
  assert_string_equal(buf, "hi");
  assert_int_equal(mt_sharray_raw(c, buf, sizeof buf), 5);
  assert_memory_equal(buf, "hi\0lo", 5);
  assert_code(mt_sharray_set_value(c, "toolong"), MT_ERANGE);
  assert_int_equal(mt_sharray_value(c, buf, sizeof buf), 2); /* unchanged */
  assert_code(mt_sharray_set_value(c, "HELLO"), 0); /* exactly full: no NUL */
  assert_int_equal(mt_sharray_value(c, buf, sizeof buf), 5);
  assert_string_equal(buf, "HELLO");
  assert_code(mt_sharray_set_raw(c, "ab\0", 3), 0);
  assert_int_equal(mt_sharray_raw(c, buf, sizeof buf), 5);
  assert_memory_equal(buf, "ab\0LO", 5);
  assert_int_equal(mt_sharray_value(c, buf, sizeof buf), 2);
  assert_code(mt_sharray_set_raw(c, "123456", 6), MT_ERANGE);
  assert_code(mt_sharray_set_raw(c, NULL, 0), 0);
  /* seen and changed by another process */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char b[8];
    int ok = mt_sharray_value(c, b, sizeof b) == 2 && strcmp(b, "ab") == 0;
    _exit(ok && mt_sharray_set_value(c, "kid") == 0 ? 0 : 1);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  assert_int_equal(mt_sharray_value(c, buf, sizeof buf), 3);
  assert_string_equal(buf, "kid");
  /* errors */
  assert_code(mt_sharray_value(NULL, buf, sizeof buf), MT_EINVAL);
  assert_code(mt_sharray_value(c, NULL, 4), MT_EINVAL);
  assert_code(mt_sharray_set_value(c, NULL), MT_EINVAL);
  assert_code(mt_sharray_raw(NULL, buf, sizeof buf), MT_EINVAL);
  assert_code(mt_sharray_set_raw(c, NULL, 2), MT_EINVAL);
  mt_sharray_free(c);
  mt_sharray_t *i = mt_sharray_new('i', 2, false); /* not a 'c' array */
  assert_code(mt_sharray_value(i, buf, sizeof buf), MT_EINVAL);
  assert_code(mt_sharray_set_value(i, "x"), MT_EINVAL);
  assert_code(mt_sharray_raw(i, buf, sizeof buf), MT_EINVAL);
  assert_code(mt_sharray_set_raw(i, "x", 1), MT_EINVAL);
  mt_sharray_free(i);
  errno = 0;
  assert_null(mt_sharray_new_from_str("", false));
  assert_int_equal(errno, EINVAL);
  errno = 0;
  assert_null(mt_sharray_new_from_str(NULL, false));
  assert_int_equal(errno, EINVAL);
}

/* ---- SharedMemory ------------------------------------------------------------ */

static int count_our_shm(const char *prefix) {
  int n = 0;
  DIR *d = opendir("/dev/shm");
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (!strncmp(e->d_name, prefix, strlen(prefix))) n++;
  if (d) closedir(d);
  return n;
}

static int attacher(void *arg) {
  mt_shm_t *s = mt_shm_new(arg, false, 0);
  if (!s) return 1;
  if (strcmp(mt_shm_buf(s), "hello") != 0) return 2;
  strcpy((char *)mt_shm_buf(s) + 100, "world");
  if (mt_shm_unlink(s) != MT_EPERM) return 3; /* only the creator */
  mt_shm_free(s);
  return 0;
}

static void test_named_shm(void **state) {
  (void)state;
  char name[64];
  snprintf(name, sizeof name, "mttest_%d", (int)getpid());
  mt_shm_t *s = mt_shm_new(name, true, 4096);
  assert_non_null(s);
  assert_string_equal(mt_shm_name(s), name);
  assert_int_equal(mt_shm_size(s), 4096);
  char path[128];
  snprintf(path, sizeof path, "/dev/shm/%s", name);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  strcpy(mt_shm_buf(s), "hello");
  assert_null(mt_shm_new(name, true, 4096));
  assert_int_equal(errno, EEXIST);
  mt_process_t *p;
  assert_int_equal(start_all(&p, 1, attacher, name), 0);
  join_all_ok(&p, 1);
  assert_string_equal((char *)mt_shm_buf(s) + 100, "world");
  mt_shm_t *a = mt_shm_new(name, false, 8192);
  assert_null(a);
  assert_int_equal(errno, EINVAL);
  a = mt_shm_new(name, false, 0);
  assert_non_null(a);
  assert_code(mt_shm_unlink(a), MT_EPERM);
  mt_shm_free(a);
  assert_code(mt_shm_unlink(s), 0);
  assert_code(mt_shm_unlink(s), MT_ENOENT);
  assert_int_equal(stat(path, &st), -1);
  mt_shm_free(s);
  assert_null(mt_shm_new(name, false, 0));
  assert_int_equal(errno, ENOENT);

  /* names */
  assert_null(mt_shm_new("a/b", true, 10));
  assert_int_equal(errno, EINVAL);
  assert_null(mt_shm_new("", true, 10));
  assert_null(mt_shm_new("..", true, 10));
  assert_null(mt_shm_new("x", true, 0));
  char longname[300];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  assert_null(mt_shm_new(longname, true, 10));
  assert_int_equal(errno, ENAMETOOLONG);
  /* anonymous name */
  s = mt_shm_new(NULL, true, 100);
  assert_non_null(s);
  assert_memory_equal(mt_shm_name(s), "mt_", 3);
  assert_code(mt_shm_unlink(s), 0);
  mt_shm_free(s);
}

/* Value/Array/dict leave nothing in /dev/shm, even when a user is killed. */
static int die_holding(void *arg) {
  mt_shvalue_t *v = arg;
  mt_lock_acquire(mt_shvalue_get_lock(v), MT_FOREVER);
  raise(SIGKILL);
  return 0;
}

static void test_no_dev_shm_entries(void **state) {
  (void)state;
  char prefix[32];
  snprintf(prefix, sizeof prefix, "mt_%d_", (int)getpid());
  int before = count_our_shm("mt");
  mt_shvalue_t *v = mt_shvalue_new('i', 0, true);
  mt_sharray_t *a = mt_sharray_new('d', 1000, true);
  mt_shdict_t *d = mt_shdict_new(1000, 1 << 20);
  mt_process_t *p;
  assert_int_equal(start_all(&p, 1, die_holding, v), 0);
  assert_code(mt_process_join(p, MT_FOREVER), 0);
  mt_process_free(p);
  assert_int_equal(count_our_shm("mt"), before);
  assert_int_equal(count_our_shm(prefix), 0);
  /* the lock the dead child held is handed over */
  assert_code(mt_lock_acquire(mt_shvalue_get_lock(v), 10), MT_EOWNERDEAD);
  assert_code(mt_lock_consistent(mt_shvalue_get_lock(v)), 0);
  assert_code(mt_lock_release(mt_shvalue_get_lock(v)), 0);
  mt_shvalue_free(v);
  mt_sharray_free(a);
  mt_shdict_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_value_lock_counts),
      cmocka_unit_test(test_value_typecodes),
      cmocka_unit_test(test_array_typecodes),
      cmocka_unit_test(test_u64_and_wide),
      cmocka_unit_test(test_array_from_values),
      cmocka_unit_test(test_char_array_value_raw),
      cmocka_unit_test(test_named_shm),
      cmocka_unit_test(test_no_dev_shm_entries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
