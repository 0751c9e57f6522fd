/* multitask/manager.h - the shared dict and list of multiprocessing's
 * Manager (Manager().dict(), Manager().list()), without a manager process.
 * docs/processes.md explains the choice and maps each Python name.
 *
 * Python's Manager runs a server process and every d[key] is a pickled
 * round trip over a socket (~50-100 us).  Here the table itself lives in
 * anonymous shared memory, reserved up front with MAP_NORESERVE (memory
 * mapped after a fork is invisible to existing children, so nothing can
 * grow later): an operation is a lock + a hash probe, ~100 ns.  Usable by
 * every process forked after the object was made (plain fork() too).
 *
 * Values are int64, double or bytes; keys are C strings (up to
 * MT_SHDICT_KEY_MAX bytes).  Every operation is atomic (one robust
 * process-shared lock per object).  If a process dies while holding it,
 * the next caller repairs the structure (an interrupted operation is
 * either fully applied or absent) and carries on.
 *
 * No operation takes a timeout, because none waits for a condition: each
 * waits only for the object's lock, which another process holds for one
 * operation (a hash probe and the copy of one value) and never while it
 * waits; a holder that died is noticed within ~10 ms.  The exception is
 * items()/keys(), whose callback runs under the lock: other processes'
 * operations on that object wait until the walk ends, so keep the callback
 * short.  _free never blocks (it unmaps in the calling process).
 */
#ifndef MULTITASK_MANAGER_H
#define MULTITASK_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "multitask/error.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

/* The type of one item stored in a shared dict or list (docs/api.md,
 * "Value types"). */
typedef enum mt_shitem_type {
  MT_SHITEM_INT = 1,    /* int64_t */
  MT_SHITEM_DOUBLE = 2, /* double */
  MT_SHITEM_BYTES = 3   /* a byte string */
} mt_shitem_type_t;

/* One item of a shared dict or list as mt_shdict_items() hands it to its
 * callback: the field named by type is set; bytes point into the shared
 * table and are valid only during the callback. */
typedef struct mt_shitem {
  mt_shitem_type_t type;
  int64_t i;
  double d;
  const void *bytes;
  size_t len;
} mt_shitem_t;

#define MT_SHDICT_KEY_MAX 4096
#define MT_SHDICT_DEFAULT_CAPACITY (1u << 20)       /* entries */
#define MT_SHDICT_DEFAULT_ARENA ((size_t)1 << 30)   /* bytes of keys + bytes values */

/* ---- dict (Manager().dict()) ------------------------------------------- */
typedef struct mt_shdict mt_shdict_t;

/* capacity: maximum number of entries (0: MT_SHDICT_DEFAULT_CAPACITY);
 * arena: bytes reserved for keys and bytes values (0: the default).  Only
 * touched pages use memory.  NULL with errno EINVAL / ENOMEM. */
mt_shdict_t *mt_shdict_new(size_t capacity, size_t arena);
void mt_shdict_free(mt_shdict_t *d);

/* d[key] = value.  0; MT_EFULL when capacity entries exist (or the arena is
 * exhausted); MT_EINVAL (NULL, key too long). */
int mt_shdict_set_int(mt_shdict_t *d, const char *key, int64_t value);
int mt_shdict_set_double(mt_shdict_t *d, const char *key, double value);
int mt_shdict_set_bytes(mt_shdict_t *d, const char *key, const void *buf, size_t len);
/* d[key]: 0; MT_ENOENT (Python's KeyError); MT_EINVAL when the stored value
 * has another type (get_double also accepts an int). */
int mt_shdict_get_int(mt_shdict_t *d, const char *key, int64_t *out);
int mt_shdict_get_double(mt_shdict_t *d, const char *key, double *out);
/* Copies the bytes into buf and returns their length; MT_EMSGSIZE (nothing
 * copied) when cap is smaller: call with cap 0 to learn the length. */
int mt_shdict_get_bytes(mt_shdict_t *d, const char *key, void *buf, size_t cap);
/* The mt_shitem_type_t of d[key], or MT_ENOENT. */
int mt_shdict_type(mt_shdict_t *d, const char *key);
/* del d[key]: 0 or MT_ENOENT. */
int mt_shdict_del(mt_shdict_t *d, const char *key);
/* key in d: 1 / 0. */
int mt_shdict_contains(mt_shdict_t *d, const char *key);
/* len(d). */
long mt_shdict_len(mt_shdict_t *d);
/* Atomic d[key] += delta (a missing key counts as 0); the new value in
 * *result (may be NULL).  MT_EINVAL if the value is not an int, MT_ERANGE
 * on overflow (nothing changes). */
int mt_shdict_incr(mt_shdict_t *d, const char *key, int64_t delta, int64_t *result);
/* items() / keys(): calls fn for every entry, under the dict's lock (fn
 * must not call this dict).  A non-zero return from fn stops the walk and
 * is returned; else the number of entries visited. */
long mt_shdict_items(mt_shdict_t *d, int (*fn)(const char *key, const mt_shitem_t *v, void *arg),
                     void *arg);
long mt_shdict_keys(mt_shdict_t *d, int (*fn)(const char *key, void *arg), void *arg);

/* ---- list (Manager().list()) -------------------------------------------
 * Indexes as Python: negative counts from the end; out of range is
 * MT_ERANGE (IndexError). */
typedef struct mt_shlist mt_shlist_t;

mt_shlist_t *mt_shlist_new(size_t capacity, size_t arena);
void mt_shlist_free(mt_shlist_t *l);
/* append: 0 or MT_EFULL. */
int mt_shlist_append_int(mt_shlist_t *l, int64_t v);
int mt_shlist_append_double(mt_shlist_t *l, double v);
int mt_shlist_append_bytes(mt_shlist_t *l, const void *buf, size_t len);
int mt_shlist_set_int(mt_shlist_t *l, long index, int64_t v);
int mt_shlist_set_double(mt_shlist_t *l, long index, double v);
int mt_shlist_set_bytes(mt_shlist_t *l, long index, const void *buf, size_t len);
int mt_shlist_get_int(mt_shlist_t *l, long index, int64_t *out);
int mt_shlist_get_double(mt_shlist_t *l, long index, double *out);
int mt_shlist_get_bytes(mt_shlist_t *l, long index, void *buf, size_t cap);
/* The mt_shitem_type_t of l[index], or MT_ERANGE. */
int mt_shlist_type(mt_shlist_t *l, long index);
/* Atomic l[index] += delta. */
int mt_shlist_incr(mt_shlist_t *l, long index, int64_t delta, int64_t *result);
/* Removes the last item (Python's pop()): 0 or MT_ERANGE when empty. */
int mt_shlist_pop(mt_shlist_t *l);
long mt_shlist_len(mt_shlist_t *l);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
