/* multitask/shm.h - multiprocessing's shared ctypes (Value, Array,
 * RawValue, RawArray) and multiprocessing.shared_memory.SharedMemory.
 * docs/processes.md maps each Python name.
 *
 * Value and Array live in anonymous MAP_SHARED memory: every process forked
 * after they were made sees the same bytes, and they never appear in
 * /dev/shm (nothing to clean up, even after SIGKILL).
 *
 * Typecodes (as Python's array module, x86-64 sizes):
 *   'c' char (0..255)   'b' int8    'B' uint8    'h' int16   'H' uint16
 *   'i' int32           'I' uint32  'l' int64    'L' uint64  'q' int64
 *   'Q' uint64          'f' float   'd' double
 *   'u' wchar_t, 'w' Py_UCS4 (uint32_t): one Unicode code point each,
 *       0..0x10FFFF, both 4 bytes here (Python 3.13 deprecates 'u' for 'w';
 *       'q'/'Q' are long long as 'l'/'L' are long, 8 bytes on Linux)
 * Integer accessors take/return int64_t (or uint64_t for the _u64 ones):
 * storing a value that does not fit the typecode returns MT_ERANGE and
 * stores nothing (Python's ctypes silently truncates).  'L'/'Q' hold
 * 0..UINT64_MAX: the _u64 accessors reach all of it; get_i64 of a value
 * above INT64_MAX is MT_ERANGE, as is get_u64 of a negative value.
 * Every single get or set is indivisible (an atomic load/store of the
 * naturally aligned item); a read-modify-write such as v = v + 1 needs the
 * lock (mt_shvalue_get_lock) or mt_shvalue_add.
 */
#ifndef MULTITASK_SHM_H
#define MULTITASK_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "multitask/error.h"
#include "multitask/sync.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

/* ---- Value / RawValue ------------------------------------------------- */
typedef struct mt_shvalue mt_shvalue_t;

/* Value(typecode, initial, lock): lock true makes an MT_SHARED mt_lock_t
 * reachable with mt_shvalue_get_lock.  For 'f'/'d' use mt_shvalue_new_double.
 * NULL with errno EINVAL (bad typecode), ERANGE (initial does not fit),
 * ENOMEM. */
mt_shvalue_t *mt_shvalue_new(char typecode, int64_t initial, bool lock);
mt_shvalue_t *mt_shvalue_new_double(char typecode, double initial, bool lock);
/* RawValue: the same without a lock. */
mt_shvalue_t *mt_shvalue_new_raw(char typecode, int64_t initial);
/* Unmaps it in the calling process; never blocks (other processes keep
 * their mapping). */
void mt_shvalue_free(mt_shvalue_t *v);
/* The lock (Python's get_lock()); NULL for a raw value. */
mt_lock_t *mt_shvalue_get_lock(const mt_shvalue_t *v);
/* The typecode ('\0' for NULL: a char has no room for a code). */
char mt_shvalue_typecode(const mt_shvalue_t *v);
/* Integer typecodes: 0 / MT_ERANGE / MT_EINVAL (NULL, float typecode for
 * get_i64).  set_i64 on 'f'/'d' converts.  get_double works for all. */
int mt_shvalue_get_i64(const mt_shvalue_t *v, int64_t *out);
int mt_shvalue_set_i64(mt_shvalue_t *v, int64_t x);
int mt_shvalue_get_double(const mt_shvalue_t *v, double *out);
/* MT_EINVAL on an integer typecode (Python's TypeError). */
int mt_shvalue_set_double(mt_shvalue_t *v, double x);
/* Unsigned 64-bit access (for 'L'/'Q' above INT64_MAX; works on every
 * integer typecode within its range).  set_u64 on 'f'/'d' converts. */
int mt_shvalue_get_u64(const mt_shvalue_t *v, uint64_t *out);
int mt_shvalue_set_u64(mt_shvalue_t *v, uint64_t x);
/* Atomic v += delta without the lock (integer typecodes): the new value in
 * *result (may be NULL).  MT_ERANGE and no change if it would not fit
 * (for 'L'/'Q': the value and the result must be 0..INT64_MAX). */
int mt_shvalue_add(mt_shvalue_t *v, int64_t delta, int64_t *result);

/* ---- Array / RawArray ------------------------------------------------- */
typedef struct mt_sharray mt_sharray_t;

/* Array(typecode, n, lock): n zeroed items.  NULL with errno EINVAL (bad
 * typecode, n == 0) or ENOMEM. */
mt_sharray_t *mt_sharray_new(char typecode, size_t n, bool lock);
mt_sharray_t *mt_sharray_new_raw(char typecode, size_t n);
/* As mt_shvalue_free. */
void mt_sharray_free(mt_sharray_t *a);
mt_lock_t *mt_sharray_get_lock(const mt_sharray_t *a);
/* len, typecode and itemsize are 0 for NULL (no room for a code). */
size_t mt_sharray_len(const mt_sharray_t *a);
char mt_sharray_typecode(const mt_sharray_t *a);
size_t mt_sharray_itemsize(const mt_sharray_t *a);
/* The items themselves (n * itemsize bytes), for bulk use (NULL for NULL). */
void *mt_sharray_data(mt_sharray_t *a);
/* Bounds-checked: index >= len is MT_ERANGE (Python's IndexError); a
 * negative index counts from the end as in Python. */
int mt_sharray_get_i64(const mt_sharray_t *a, long index, int64_t *out);
int mt_sharray_set_i64(mt_sharray_t *a, long index, int64_t x);
int mt_sharray_get_double(const mt_sharray_t *a, long index, double *out);
int mt_sharray_set_double(mt_sharray_t *a, long index, double x);
int mt_sharray_get_u64(const mt_sharray_t *a, long index, uint64_t *out);
int mt_sharray_set_u64(mt_sharray_t *a, long index, uint64_t x);

/* Array(typecode, [values...]) / RawArray (lock false): n items set from
 * values.  _i64 works for every typecode ('f'/'d' convert, as Python's
 * Array('d', [1, 2])); _double only for 'f'/'d' (EINVAL otherwise,
 * Python's TypeError).  Every value is checked first: a value that does
 * not fit is ERANGE and nothing is made.  NULL with errno EINVAL (bad
 * typecode, values NULL, n == 0), ERANGE, ENOMEM. */
mt_sharray_t *mt_sharray_new_from_i64(char typecode, const int64_t *values, size_t n,
                                      bool lock);
mt_sharray_t *mt_sharray_new_from_double(char typecode, const double *values, size_t n,
                                         bool lock);
/* Array('c', b"text"): a 'c' array of strlen(s) bytes holding s (no NUL).
 * NULL with errno EINVAL (s NULL or empty), ENOMEM. */
mt_sharray_t *mt_sharray_new_from_str(const char *s, bool lock);
/* A 'c' array's .value: the bytes up to the first NUL (or all of them)
 * copied into buf with a NUL after them; returns their count.  MT_ERANGE
 * when buf (size bytes) cannot hold them and the NUL (nothing copied),
 * MT_EINVAL (NULL, not a 'c' array).  set_value: Python's `.value = s`:
 * writes strlen(s) bytes and a NUL after them when there is room;
 * MT_ERANGE (nothing written) when s is longer than the array. */
int mt_sharray_value(const mt_sharray_t *a, char *buf, size_t size);
int mt_sharray_set_value(mt_sharray_t *a, const char *s);
/* A 'c' array's .raw: all len bytes into buf; returns len.  MT_ERANGE when
 * size < len (nothing copied).  set_raw writes len bytes at the start
 * (MT_ERANGE when len exceeds the array; the rest is left as it was). */
int mt_sharray_raw(const mt_sharray_t *a, void *buf, size_t size);
int mt_sharray_set_raw(mt_sharray_t *a, const void *bytes, size_t len);

/* Size in bytes of a typecode's item, 0 if the typecode is unknown. */
size_t mt_typecode_size(char typecode);

/* ---- SharedMemory (multiprocessing.shared_memory) ----------------------
 * A named POSIX segment (/dev/shm/<name>), for processes that are not
 * related by fork.  Names: 1..200 characters of [A-Za-z0-9._-], with an
 * optional leading '/'.  Created with mode 0600.  The segment is unlinked
 * exactly once, by mt_shm_unlink of the process that created it; a process
 * that only attached can never unlink it (Python's resource tracker does,
 * gh-82300). */
typedef struct mt_shm mt_shm_t;

/* create: a new segment of `size` bytes (> 0): NULL with errno EEXIST when
 * the name exists.  name NULL with create: a fresh random name.  Attach
 * (create false): errno ENOENT when missing; size 0 maps the whole
 * segment, a size above the segment's is EINVAL.  Bad name: EINVAL /
 * ENAMETOOLONG. */
mt_shm_t *mt_shm_new(const char *name, bool create, size_t size);
/* The mapping and its size (NULL / 0 for NULL). */
void *mt_shm_buf(const mt_shm_t *s);
size_t mt_shm_size(const mt_shm_t *s);
/* The name as Python shows it (without the leading '/'). */
const char *mt_shm_name(const mt_shm_t *s);
/* Removes the name: 0; MT_EPERM from a process that did not create it;
 * MT_ENOENT the second time. */
int mt_shm_unlink(mt_shm_t *s);
/* Unmaps and frees the handle (Python's close()); never blocks.  Does not
 * unlink.  0 (also for NULL, which does nothing). */
int mt_shm_free(mt_shm_t *s);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
