/* shm.c - shared ctypes (Value, Array, RawValue, RawArray) and named
 * SharedMemory.
 *
 * Why anonymous MAP_SHARED for Value/Array.  Python backs them with a file
 * in a temporary directory (or /dev/shm) that a killed process may leave
 * behind.  multiprocessing objects are inherited by fork anyway, so an
 * anonymous shared mapping (mt__obj_alloc with MT_SHARED) is enough: no name,
 * nothing to unlink, nothing left after SIGKILL.
 *
 * Items are naturally aligned and at most 8 bytes, so each get/set is one
 * atomic load/store (relaxed: no ordering is promised beyond the lock's).
 * The optional lock is a separate MT_SHARED mt_lock_t (robust: a holder
 * that dies hands MT_EOWNERDEAD to the next acquirer).  The accessors never
 * take it themselves: Python's default lock is an RLock precisely so that
 * `with v.get_lock(): v.value += 1` can re-enter it; here the lock is a
 * plain Lock and the accessors are atomic on their own.
 *
 * Named segments: shm_open(O_CREAT|O_EXCL, 0600) + ftruncate + mmap.  The
 * handle records the creating pid; unlink is refused elsewhere and done at
 * most once (the flag lives in the handle, which a forked child copies but
 * cannot use to unlink because its pid differs).
 */
#include "multitask/shm.h"

#include <fcntl.h>
#include <float.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "core/core.h"
#include "platform/platform.h"

/* ---- typecodes ----------------------------------------------------------
 * 'q'/'Q' are C long long / unsigned long long (8 bytes, as 'l'/'L' here).
 * 'u' is wchar_t and 'w' Py_UCS4 (uint32_t): both hold one Unicode code
 * point, 0..0x10FFFF (Python 3.13 deprecates 'u' for 'w'; on Linux both
 * are 4 bytes, so they differ only in name and C type).  The unsigned
 * 64-bit codes 'L'/'Q' hold 0..UINT64_MAX: the u64 accessors reach all of
 * it, the i64 ones 0..INT64_MAX (MT_ERANGE above). */
_Static_assert(sizeof(wchar_t) == 4, "'u' is a 4-byte wchar_t on the supported systems");
#define UNICODE_MAX 0x10FFFF

size_t mt_typecode_size(char tc) {
  switch (tc) {
  case 'c': case 'b': case 'B': return 1;
  case 'h': case 'H': return 2;
  case 'i': case 'I': case 'f': case 'w': return 4;
  case 'u': return sizeof(wchar_t);
  case 'l': case 'L': case 'q': case 'Q': case 'd': return 8;
  default: return 0;
  }
}

static bool is_float(char tc) { return tc == 'f' || tc == 'd'; }
static bool is_u64(char tc) { return tc == 'L' || tc == 'Q'; }

static bool int_fits(char tc, int64_t x) {
  switch (tc) {
  case 'c': case 'B': return x >= 0 && x <= UINT8_MAX;
  case 'b': return x >= INT8_MIN && x <= INT8_MAX;
  case 'h': return x >= INT16_MIN && x <= INT16_MAX;
  case 'H': return x >= 0 && x <= UINT16_MAX;
  case 'i': return x >= INT32_MIN && x <= INT32_MAX;
  case 'I': return x >= 0 && x <= UINT32_MAX;
  case 'l': case 'q': return true;
  case 'L': case 'Q': return x >= 0;
  case 'u': case 'w': return x >= 0 && x <= UNICODE_MAX;
  default: return false;
  }
}

static int64_t load_int(char tc, const void *p) {
  switch (tc) {
  case 'c': case 'B': return __atomic_load_n((const uint8_t *)p, __ATOMIC_RELAXED);
  case 'b': return __atomic_load_n((const int8_t *)p, __ATOMIC_RELAXED);
  case 'h': return __atomic_load_n((const int16_t *)p, __ATOMIC_RELAXED);
  case 'H': return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
  case 'i': return __atomic_load_n((const int32_t *)p, __ATOMIC_RELAXED);
  case 'I': case 'u': case 'w': return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
  default: return __atomic_load_n((const int64_t *)p, __ATOMIC_RELAXED); /* 'L'/'Q': the bits */
  }
}

static void store_int(char tc, void *p, int64_t x) {
  switch (tc) {
  case 'c': case 'B': __atomic_store_n((uint8_t *)p, (uint8_t)x, __ATOMIC_RELAXED); break;
  case 'b': __atomic_store_n((int8_t *)p, (int8_t)x, __ATOMIC_RELAXED); break;
  case 'h': __atomic_store_n((int16_t *)p, (int16_t)x, __ATOMIC_RELAXED); break;
  case 'H': __atomic_store_n((uint16_t *)p, (uint16_t)x, __ATOMIC_RELAXED); break;
  case 'i': __atomic_store_n((int32_t *)p, (int32_t)x, __ATOMIC_RELAXED); break;
  case 'I': case 'u': case 'w': __atomic_store_n((uint32_t *)p, (uint32_t)x, __ATOMIC_RELAXED); break;
  default: __atomic_store_n((int64_t *)p, x, __ATOMIC_RELAXED); break;
  }
}

static double load_double(char tc, const void *p) {
  if (tc == 'f') {
    uint32_t bits = __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
  }
  if (tc == 'd') {
    uint64_t bits = __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
  }
  if (is_u64(tc)) return (double)(uint64_t)load_int(tc, p);
  return (double)load_int(tc, p);
}

static int store_double(char tc, void *p, double x) {
  if (tc == 'f') {
    if (x == x && (x > FLT_MAX || x < -FLT_MAX) && x - x == 0) return MT_ERANGE;
    float f = (float)x;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    __atomic_store_n((uint32_t *)p, bits, __ATOMIC_RELAXED);
    return 0;
  }
  if (tc != 'd') return MT_EINVAL;
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  __atomic_store_n((uint64_t *)p, bits, __ATOMIC_RELAXED);
  return 0;
}

static int set_int_item(char tc, void *p, int64_t x) {
  if (is_float(tc)) return store_double(tc, p, (double)x);
  if (!int_fits(tc, x)) return MT_ERANGE;
  store_int(tc, p, x);
  return 0;
}

/* get_i64: 'L'/'Q' above INT64_MAX do not fit. */
static int get_int_item(char tc, const void *p, int64_t *out) {
  if (is_float(tc)) return MT_EINVAL;
  int64_t x = load_int(tc, p);
  if (is_u64(tc) && x < 0) return MT_ERANGE;
  *out = x;
  return 0;
}

static int get_u64_item(char tc, const void *p, uint64_t *out) {
  if (is_float(tc)) return MT_EINVAL;
  int64_t x = load_int(tc, p);
  if (!is_u64(tc) && x < 0) return MT_ERANGE;
  *out = (uint64_t)x;
  return 0;
}

static int set_u64_item(char tc, void *p, uint64_t x) {
  if (is_float(tc)) return store_double(tc, p, (double)x);
  if (is_u64(tc)) {
    store_int(tc, p, (int64_t)x);
    return 0;
  }
  if (x > INT64_MAX) return MT_ERANGE;
  return set_int_item(tc, p, (int64_t)x);
}

/* ---- Value ---------------------------------------------------------------- */

struct mt_shvalue {
  char tc;
  mt_lock_t *lock;
  _Alignas(8) unsigned char data[8];
};

static mt_shvalue_t *value_alloc(char tc, bool lock) {
  if (!mt_typecode_size(tc)) return mt__fail_null(MT_EINVAL);
  mt_shvalue_t *v = mt__obj_alloc(sizeof *v, MT_SHARED);
  if (!v) return mt__fail_null(MT_ENOMEM);
  v->tc = tc;
  if (lock && !(v->lock = mt_lock_new(MT_SHARED))) {
    mt__obj_free(v, sizeof *v, MT_SHARED);
    return mt__fail_null(MT_ENOMEM);
  }
  return v;
}

mt_shvalue_t *mt_shvalue_new(char tc, int64_t initial, bool lock) {
  if (mt_typecode_size(tc) && !is_float(tc) && !int_fits(tc, initial))
    return mt__fail_null(MT_ERANGE);
  mt_shvalue_t *v = value_alloc(tc, lock);
  if (v) set_int_item(tc, v->data, initial);
  return v;
}

mt_shvalue_t *mt_shvalue_new_double(char tc, double initial, bool lock) {
  if (mt_typecode_size(tc) && !is_float(tc)) return mt__fail_null(MT_EINVAL);
  mt_shvalue_t *v = value_alloc(tc, lock);
  if (v && store_double(tc, v->data, initial) < 0) {
    mt_shvalue_free(v);
    return mt__fail_null(MT_ERANGE);
  }
  return v;
}

mt_shvalue_t *mt_shvalue_new_raw(char tc, int64_t initial) { return mt_shvalue_new(tc, initial, false); }

void mt_shvalue_free(mt_shvalue_t *v) {
  if (!v) return;
  if (v->lock) mt_lock_free(v->lock);
  mt__obj_free(v, sizeof *v, MT_SHARED);
}

mt_lock_t *mt_shvalue_get_lock(const mt_shvalue_t *v) { return v ? v->lock : NULL; }
char mt_shvalue_typecode(const mt_shvalue_t *v) { return v ? v->tc : 0; }

int mt_shvalue_get_i64(const mt_shvalue_t *v, int64_t *out) {
  if (!v || !out) return MT_EINVAL;
  return get_int_item(v->tc, v->data, out);
}

int mt_shvalue_set_i64(mt_shvalue_t *v, int64_t x) {
  return v ? set_int_item(v->tc, v->data, x) : MT_EINVAL;
}

int mt_shvalue_get_u64(const mt_shvalue_t *v, uint64_t *out) {
  if (!v || !out) return MT_EINVAL;
  return get_u64_item(v->tc, v->data, out);
}

int mt_shvalue_set_u64(mt_shvalue_t *v, uint64_t x) {
  return v ? set_u64_item(v->tc, v->data, x) : MT_EINVAL;
}

int mt_shvalue_get_double(const mt_shvalue_t *v, double *out) {
  if (!v || !out) return MT_EINVAL;
  *out = load_double(v->tc, v->data);
  return 0;
}

int mt_shvalue_set_double(mt_shvalue_t *v, double x) {
  return v ? store_double(v->tc, v->data, x) : MT_EINVAL;
}

/* CAS loop on the item's own width: works for every integer typecode. */
int mt_shvalue_add(mt_shvalue_t *v, int64_t delta, int64_t *result) {
  if (!v || is_float(v->tc)) return MT_EINVAL;
  size_t sz = mt_typecode_size(v->tc);
  for (;;) {
    int64_t old = load_int(v->tc, v->data);
    if (is_u64(v->tc) && old < 0) return MT_ERANGE; /* above INT64_MAX */
    int64_t nv;
    if (__builtin_add_overflow(old, delta, &nv) || !int_fits(v->tc, nv)) return MT_ERANGE;
    bool ok;
    switch (sz) {
    case 1: { uint8_t e = (uint8_t)old; ok = __atomic_compare_exchange_n((uint8_t *)v->data, &e, (uint8_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED); break; }
    case 2: { uint16_t e = (uint16_t)old; ok = __atomic_compare_exchange_n((uint16_t *)v->data, &e, (uint16_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED); break; }
    case 4: { uint32_t e = (uint32_t)old; ok = __atomic_compare_exchange_n((uint32_t *)v->data, &e, (uint32_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED); break; }
    default: { int64_t e = old; ok = __atomic_compare_exchange_n((int64_t *)v->data, &e, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED); break; }
    }
    if (ok) {
      if (result) *result = nv;
      return 0;
    }
  }
}

/* ---- Array ---------------------------------------------------------------- */

#define ARRAY_HEADER 64

struct mt_sharray {
  char tc;
  size_t n, isz, bytes;
  mt_lock_t *lock;
};

mt_sharray_t *mt_sharray_new(char tc, size_t n, bool lock) {
  size_t isz = mt_typecode_size(tc);
  if (!isz || n == 0 || n > (SIZE_MAX - ARRAY_HEADER) / isz) return mt__fail_null(MT_EINVAL);
  size_t bytes = ARRAY_HEADER + n * isz;
  mt_sharray_t *a = mt__obj_alloc(bytes, MT_SHARED);
  if (!a) return mt__fail_null(MT_ENOMEM);
  a->tc = tc;
  a->n = n;
  a->isz = isz;
  a->bytes = bytes;
  if (lock && !(a->lock = mt_lock_new(MT_SHARED))) {
    mt__obj_free(a, bytes, MT_SHARED);
    return mt__fail_null(MT_ENOMEM);
  }
  return a;
}

mt_sharray_t *mt_sharray_new_raw(char tc, size_t n) { return mt_sharray_new(tc, n, false); }

void mt_sharray_free(mt_sharray_t *a) {
  if (!a) return;
  if (a->lock) mt_lock_free(a->lock);
  mt__obj_free(a, a->bytes, MT_SHARED);
}

mt_lock_t *mt_sharray_get_lock(const mt_sharray_t *a) { return a ? a->lock : NULL; }
size_t mt_sharray_len(const mt_sharray_t *a) { return a ? a->n : 0; }
char mt_sharray_typecode(const mt_sharray_t *a) { return a ? a->tc : 0; }
size_t mt_sharray_itemsize(const mt_sharray_t *a) { return a ? a->isz : 0; }
void *mt_sharray_data(mt_sharray_t *a) { return a ? (char *)a + ARRAY_HEADER : NULL; }

/* The item's address, or NULL when the index is out of range. */
static void *item(const mt_sharray_t *a, long index) {
  long n = (long)a->n;
  if (index < 0) index += n;
  if (index < 0 || index >= n) return NULL;
  return (char *)a + ARRAY_HEADER + (size_t)index * a->isz;
}

int mt_sharray_get_i64(const mt_sharray_t *a, long index, int64_t *out) {
  if (!a || !out || is_float(a->tc)) return MT_EINVAL;
  void *p = item(a, index);
  if (!p) return MT_ERANGE;
  return get_int_item(a->tc, p, out);
}

int mt_sharray_get_u64(const mt_sharray_t *a, long index, uint64_t *out) {
  if (!a || !out || is_float(a->tc)) return MT_EINVAL;
  void *p = item(a, index);
  if (!p) return MT_ERANGE;
  return get_u64_item(a->tc, p, out);
}

int mt_sharray_set_u64(mt_sharray_t *a, long index, uint64_t x) {
  if (!a) return MT_EINVAL;
  void *p = item(a, index);
  return p ? set_u64_item(a->tc, p, x) : MT_ERANGE;
}

int mt_sharray_set_i64(mt_sharray_t *a, long index, int64_t x) {
  if (!a) return MT_EINVAL;
  void *p = item(a, index);
  return p ? set_int_item(a->tc, p, x) : MT_ERANGE;
}

int mt_sharray_get_double(const mt_sharray_t *a, long index, double *out) {
  if (!a || !out) return MT_EINVAL;
  void *p = item(a, index);
  if (!p) return MT_ERANGE;
  *out = load_double(a->tc, p);
  return 0;
}

int mt_sharray_set_double(mt_sharray_t *a, long index, double x) {
  if (!a) return MT_EINVAL;
  void *p = item(a, index);
  return p ? store_double(a->tc, p, x) : MT_ERANGE;
}

/* ---- Array from values, and a 'c' array's value / raw ------------------- */

/* Every value is checked before anything is made: nothing half-built. */
mt_sharray_t *mt_sharray_new_from_i64(char tc, const int64_t *values, size_t n, bool lock) {
  if (!mt_typecode_size(tc) || n == 0 || !values) return mt__fail_null(MT_EINVAL);
  if (!is_float(tc))
    for (size_t i = 0; i < n; i++)
      if (!int_fits(tc, values[i])) return mt__fail_null(MT_ERANGE);
  mt_sharray_t *a = mt_sharray_new(tc, n, lock);
  if (!a) return NULL;
  for (size_t i = 0; i < n; i++) set_int_item(tc, item(a, (long)i), values[i]);
  return a;
}

mt_sharray_t *mt_sharray_new_from_double(char tc, const double *values, size_t n, bool lock) {
  if (!mt_typecode_size(tc) || n == 0 || !values) return mt__fail_null(MT_EINVAL);
  if (!is_float(tc)) return mt__fail_null(MT_EINVAL); /* Python's TypeError */
  if (tc == 'f') {
    uint32_t probe;
    for (size_t i = 0; i < n; i++)
      if (store_double('f', &probe, values[i]) < 0) return mt__fail_null(MT_ERANGE);
  }
  mt_sharray_t *a = mt_sharray_new(tc, n, lock);
  if (!a) return NULL;
  for (size_t i = 0; i < n; i++) store_double(tc, item(a, (long)i), values[i]);
  return a;
}

mt_sharray_t *mt_sharray_new_from_str(const char *s, bool lock) {
  if (!s || !*s) return mt__fail_null(MT_EINVAL);
  size_t n = strlen(s);
  mt_sharray_t *a = mt_sharray_new('c', n, lock);
  if (!a) return NULL;
  memcpy(mt_sharray_data(a), s, n); /* not shared with anyone yet */
  return a;
}

/* Byte by byte with relaxed atomics: another process may set items
 * meanwhile (each byte is one item, as with get/set). */
static void copy_out(const mt_sharray_t *a, unsigned char *dst, size_t n) {
  const unsigned char *src = (const unsigned char *)a + ARRAY_HEADER;
  for (size_t i = 0; i < n; i++) dst[i] = __atomic_load_n(src + i, __ATOMIC_RELAXED);
}

static void copy_in(mt_sharray_t *a, const unsigned char *src, size_t n) {
  unsigned char *dst = (unsigned char *)a + ARRAY_HEADER;
  for (size_t i = 0; i < n; i++) __atomic_store_n(dst + i, src[i], __ATOMIC_RELAXED);
}

int mt_sharray_value(const mt_sharray_t *a, char *buf, size_t size) {
  if (!a || !buf || a->tc != 'c' || a->n > INT32_MAX) return MT_EINVAL;
  const unsigned char *src = (const unsigned char *)a + ARRAY_HEADER;
  size_t len = 0;
  while (len < a->n && __atomic_load_n(src + len, __ATOMIC_RELAXED)) len++;
  if (size < len + 1) return MT_ERANGE;
  copy_out(a, (unsigned char *)buf, len);
  buf[len] = 0;
  return (int)len;
}

int mt_sharray_set_value(mt_sharray_t *a, const char *s) {
  if (!a || !s || a->tc != 'c') return MT_EINVAL;
  size_t len = strlen(s);
  if (len > a->n) return MT_ERANGE;
  copy_in(a, (const unsigned char *)s, len);
  if (len < a->n) __atomic_store_n((unsigned char *)a + ARRAY_HEADER + len, 0, __ATOMIC_RELAXED);
  return 0;
}

int mt_sharray_raw(const mt_sharray_t *a, void *buf, size_t size) {
  if (!a || !buf || a->tc != 'c' || a->n > INT32_MAX) return MT_EINVAL;
  if (size < a->n) return MT_ERANGE;
  copy_out(a, buf, a->n);
  return (int)a->n;
}

int mt_sharray_set_raw(mt_sharray_t *a, const void *bytes, size_t len) {
  if (!a || (!bytes && len) || a->tc != 'c') return MT_EINVAL;
  if (len > a->n) return MT_ERANGE;
  copy_in(a, bytes, len);
  return 0;
}

/* ---- SharedMemory ---------------------------------------------------------- */

#define SHM_NAME_MAX 200

struct mt_shm {
  char name[SHM_NAME_MAX + 2]; /* with the leading '/' */
  void *buf;
  size_t size;
  pid_t creator; /* 0 when attached */
  bool unlinked;
};

/* 0, MT_EINVAL or MT_ENAMETOOLONG; writes "/name" to out. */
static int check_name(const char *name, char *out) {
  if (name[0] == '/') name++;
  size_t n = strlen(name);
  if (n == 0) return MT_EINVAL;
  if (n > SHM_NAME_MAX) return MT_ENAMETOOLONG;
  if (!strcmp(name, ".") || !strcmp(name, "..")) return MT_EINVAL;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return MT_EINVAL;
  }
  out[0] = '/';
  memcpy(out + 1, name, n + 1);
  return 0;
}

static void random_name(char *out) {
  static _Atomic unsigned seq;
  unsigned s = atomic_fetch_add(&seq, 1);
  uint64_t x = (uint64_t)mt__now_ns() ^ ((uint64_t)getpid() << 32) ^ ((uint64_t)s * 0x9e3779b97f4a7c15ull);
  snprintf(out, SHM_NAME_MAX, "/mt_%d_%016llx", (int)getpid(), (unsigned long long)x);
}

static int open_segment(mt_shm_t *s, bool create, size_t *size) {
  return mt__sys_shm_map(s->name, create, size, &s->buf);
}

mt_shm_t *mt_shm_new(const char *name, bool create, size_t size) {
  if (create && size == 0) return mt__fail_null(MT_EINVAL);
  if (!create && !name) return mt__fail_null(MT_EINVAL);
  mt_shm_t *s = mt__calloc(1, sizeof *s);
  if (!s) return mt__fail_null(MT_ENOMEM);
  int r = 0;
  for (int tries = 0; tries < 100; tries++) {
    if (name) r = check_name(name, s->name);
    else random_name(s->name);
    if (r == 0) r = open_segment(s, create, &size);
    if (name || r != MT_EEXIST) break;
  }
  if (r < 0) {
    mt__free(s);
    return mt__fail_null(r);
  }
  s->size = size;
  s->creator = create ? getpid() : 0;
  return s;
}

void *mt_shm_buf(const mt_shm_t *s) { return s ? s->buf : NULL; }
size_t mt_shm_size(const mt_shm_t *s) { return s ? s->size : 0; }
const char *mt_shm_name(const mt_shm_t *s) { return s ? s->name + 1 : NULL; }

int mt_shm_unlink(mt_shm_t *s) {
  if (!s) return MT_EINVAL;
  if (s->creator == 0 || s->creator != getpid()) return MT_EPERM;
  if (s->unlinked) return MT_ENOENT;
  s->unlinked = true;
  return mt__sys_shm_unlink(s->name);
}

int mt_shm_free(mt_shm_t *s) {
  if (!s) return 0; /* _free(NULL) does nothing (docs/api.md) */
  mt__sys_unmap(s->buf, s->size);
  mt__free(s);
  return 0;
}
