/* dict.c - Manager().dict() in shared memory, without a manager process.
 *
 * Why no server.  Python's Manager proxies every operation to a server
 * process: pickling, a socket round trip and two context switches, ~50 us
 * per d[key], and the server is a single point of failure.  Processes made
 * by fork already share memory, so the table lives in one anonymous
 * MAP_SHARED region and an operation costs a futex lock and a probe.  The
 * price: the size is fixed at creation (a mapping made after a fork is
 * invisible to existing children), so the region is reserved up front with
 * MAP_NORESERVE, and only touched pages cost memory.  Processes that are
 * not related by fork cannot use it (they would need the named SharedMemory).
 *
 * Layout of the region: header | table 0 | table 1 | arena.  A table is an
 * open-addressing hash table (linear probing, tombstones) of 2^k slots,
 * 2^k >= 2 * capacity, load (live + tombstones) kept <= 3/4.  When
 * tombstones push the load over, the live entries are re-inserted into the
 * other table and `active` flips (one store).  Keys and bytes values live in
 * the arena (arena.c).
 *
 * Locking: one robust process-shared mt__mutex_t per dict; every public
 * call holds it for its whole duration (items() callbacks included).
 *
 * Crash consistency (a process SIGKILLed while holding the lock): every
 * mutation has a single-store commit point (slot state FULL / TOMB, the
 * cell's sel byte, `active`), written after everything it publishes.  The
 * next locker gets MT_EOWNERDEAD and runs repair(): it drops entries whose
 * blocks are not valid, recounts, and rebuilds the arena's free lists from
 * the blocks still referenced, so blocks of an interrupted operation are
 * reclaimed.  An operation is thus either fully applied or absent.
 */
#include "multitask/manager.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "manager/arena.h"
#include "platform/platform.h"
#include "sync/mutex.h"
#include "wait/wait.h"

enum { EMPTY = 0, FULL = 1, TOMB = 2 };

typedef struct slot {
  uint64_t hash;
  uint64_t key_off;
  uint32_t key_len;
  uint32_t state;
  mt__cell_t cell;
} slot_t;

#define HEADER_BYTES 4096

struct mt_shdict {
  mt__mutex_t lock;
  uint64_t map_bytes;
  uint64_t capacity, nslots;
  uint64_t table_bytes; /* page multiple */
  uint64_t count; /* FULL slots of the active table */
  uint64_t used;  /* FULL + TOMB slots of the active table */
  uint32_t active;
  uint64_t table_off[2];
  uint64_t arena_off;
  mt__arena_t arena;
};

static slot_t *table(mt_shdict_t *d) { return (slot_t *)((char *)d + d->table_off[d->active]); }
static char *abase(mt_shdict_t *d) { return (char *)d + d->arena_off; }

static uint64_t hash_key(const char *k, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)k[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

/* ---- repair ----------------------------------------------------------- */

static void repair(mt_shdict_t *d) {
  slot_t *t = table(d);
  char *base = abase(d);
  mt__arena_unmark_all(&d->arena, base);
  uint64_t count = 0, used = 0;
  for (uint64_t i = 0; i < d->nslots; i++) {
    slot_t *s = &t[i];
    if (s->state == FULL) {
      bool ok = mt__arena_mark(&d->arena, base, s->key_off, s->key_len + 1) &&
                hash_key(mt__arena_ptr(base, s->key_off), s->key_len) == s->hash &&
                mt__cell_mark(&d->arena, base, &s->cell);
      if (!ok) s->state = TOMB;
      else count++;
    }
    if (s->state != EMPTY) used++;
  }
  d->count = count;
  d->used = used;
  mt__arena_rebuild_free(&d->arena, base);
}

static void dict_lock(mt_shdict_t *d) {
  if (mt__mutex_lock(&d->lock, true, MT__NO_DEADLINE) == MT_EOWNERDEAD) repair(d);
}
static void dict_unlock(mt_shdict_t *d) { mt__mutex_unlock(&d->lock, true); }

/* ---- create / free ----------------------------------------------------- */

mt_shdict_t *mt_shdict_new(size_t capacity, size_t arena) {
  if (capacity == 0) capacity = MT_SHDICT_DEFAULT_CAPACITY;
  if (arena == 0) arena = MT_SHDICT_DEFAULT_ARENA;
  if (capacity > ((size_t)1 << 32) || arena > ((size_t)1 << 40)) return mt__fail_null(MT_EINVAL);
  uint64_t nslots = 16;
  while (nslots < 2 * (uint64_t)capacity) nslots <<= 1;
  /* page-aligned tables: zeroing one gives whole pages back (MADV_REMOVE) */
  uint64_t tbytes = (nslots * sizeof(slot_t) + 4095) & ~(uint64_t)4095;
  uint64_t total = HEADER_BYTES + 2 * tbytes + arena;
  mt_shdict_t *d = mt__alloc_ok() ? mt__sys_map_reserve(total) : NULL;
  if (!d) return mt__fail_null(MT_ENOMEM);
  mt__mutex_init(&d->lock);
  d->map_bytes = total;
  d->capacity = capacity;
  d->nslots = nslots;
  d->table_bytes = tbytes;
  d->table_off[0] = HEADER_BYTES;
  d->table_off[1] = HEADER_BYTES + tbytes;
  d->arena_off = HEADER_BYTES + 2 * tbytes;
  mt__arena_init(&d->arena, arena);
  return d;
}

void mt_shdict_free(mt_shdict_t *d) {
  if (d) mt__sys_unmap(d, d->map_bytes);
}

/* ---- lookup ------------------------------------------------------------ */

typedef struct probe {
  slot_t *found; /* the key's slot, or NULL */
  slot_t *free;  /* where to insert it: first tombstone or the empty slot */
  uint64_t hash;
  size_t len;
} probe_t;

static void find(mt_shdict_t *d, const char *key, probe_t *pr) {
  slot_t *t = table(d);
  char *base = abase(d);
  uint64_t mask = d->nslots - 1;
  pr->found = pr->free = NULL;
  for (uint64_t i = pr->hash & mask;; i = (i + 1) & mask) {
    slot_t *s = &t[i];
    if (s->state == EMPTY) {
      if (!pr->free) pr->free = s;
      return;
    }
    if (s->state == TOMB) {
      if (!pr->free) pr->free = s;
      continue;
    }
    if (s->hash == pr->hash && s->key_len == pr->len &&
        memcmp(mt__arena_ptr(base, s->key_off), key, pr->len) == 0) {
      pr->found = s;
      return;
    }
  }
}

static int key_probe(mt_shdict_t *d, const char *key, probe_t *pr) {
  if (!d || !key) return MT_EINVAL;
  pr->len = strnlen(key, MT_SHDICT_KEY_MAX + 1);
  if (pr->len > MT_SHDICT_KEY_MAX) return MT_EINVAL;
  pr->hash = hash_key(key, pr->len);
  return 0;
}

/* Moves the live entries to the other table; flips `active` (the commit). */
static void rehash(mt_shdict_t *d) {
  uint32_t other = 1 - d->active;
  slot_t *from = table(d);
  slot_t *to = (slot_t *)((char *)d + d->table_off[other]);
  uint64_t mask = d->nslots - 1;
  mt__sys_zero_shared(to, d->table_bytes);
  for (uint64_t i = 0; i < d->nslots; i++) {
    if (from[i].state != FULL) continue;
    uint64_t j = from[i].hash & mask;
    while (to[j].state != EMPTY) j = (j + 1) & mask;
    to[j] = from[i];
  }
  __atomic_store_n(&d->active, other, __ATOMIC_RELEASE);
  d->used = d->count;
  mt__sys_zero_shared(from, d->table_bytes);
}

/* Inserts a new key (not present: pr from find) with value v. */
static int insert(mt_shdict_t *d, const char *key, probe_t *pr, const mt__vin_t *v) {
  if (d->count >= d->capacity) return MT_EFULL;
  if (pr->free->state == EMPTY && (d->used + 1) * 4 > d->nslots * 3) {
    rehash(d);
    find(d, key, pr);
  }
  char *base = abase(d);
  int64_t koff = mt__arena_alloc(&d->arena, base, pr->len + 1);
  if (koff < 0) return (int)koff;
  memcpy(mt__arena_ptr(base, (uint64_t)koff), key, pr->len + 1);
  slot_t *s = pr->free;
  bool was_empty = s->state == EMPTY;
  memset(&s->cell, 0, sizeof s->cell);
  int r = mt__cell_store(&d->arena, base, &s->cell, v);
  if (r < 0) {
    mt__arena_free(&d->arena, base, (uint64_t)koff);
    return r;
  }
  s->hash = pr->hash;
  s->key_off = (uint64_t)koff;
  s->key_len = (uint32_t)pr->len;
  __atomic_store_n(&s->state, FULL, __ATOMIC_RELEASE); /* commit */
  d->count++;
  if (was_empty) d->used++;
  return 0;
}

static int dict_set(mt_shdict_t *d, const char *key, const mt__vin_t *v) {
  probe_t pr;
  int r = key_probe(d, key, &pr);
  if (r) return r;
  dict_lock(d);
  find(d, key, &pr);
  if (pr.found) r = mt__cell_store(&d->arena, abase(d), &pr.found->cell, v);
  else r = insert(d, key, &pr, v);
  dict_unlock(d);
  return r;
}

int mt_shdict_set_int(mt_shdict_t *d, const char *key, int64_t value) {
  mt__vin_t v = {.type = MT_SHITEM_INT, .i = value};
  return dict_set(d, key, &v);
}

int mt_shdict_set_double(mt_shdict_t *d, const char *key, double value) {
  mt__vin_t v = {.type = MT_SHITEM_DOUBLE, .d = value};
  return dict_set(d, key, &v);
}

int mt_shdict_set_bytes(mt_shdict_t *d, const char *key, const void *buf, size_t len) {
  if (!buf && len) return MT_EINVAL;
  if (len > INT32_MAX) return MT_EINVAL;
  mt__vin_t v = {.type = MT_SHITEM_BYTES, .p = buf, .len = len};
  return dict_set(d, key, &v);
}

/* Looks key up under the lock and copies the live half of its cell. */
static int dict_read(mt_shdict_t *d, const char *key, int *type, uint64_t *val) {
  probe_t pr;
  int r = key_probe(d, key, &pr);
  if (r) return r;
  dict_lock(d);
  find(d, key, &pr);
  if (pr.found) {
    const mt__cell_t *c = &pr.found->cell;
    *type = c->type[c->sel];
    *val = c->val[c->sel];
  }
  dict_unlock(d);
  return pr.found ? 0 : MT_ENOENT;
}

int mt_shdict_get_int(mt_shdict_t *d, const char *key, int64_t *out) {
  int type;
  uint64_t val;
  if (!out) return MT_EINVAL;
  int r = dict_read(d, key, &type, &val);
  if (r) return r;
  if (type != MT_SHITEM_INT) return MT_EINVAL;
  *out = (int64_t)val;
  return 0;
}

int mt_shdict_get_double(mt_shdict_t *d, const char *key, double *out) {
  int type;
  uint64_t val;
  if (!out) return MT_EINVAL;
  int r = dict_read(d, key, &type, &val);
  if (r) return r;
  if (type == MT_SHITEM_INT) *out = (double)(int64_t)val;
  else if (type == MT_SHITEM_DOUBLE) memcpy(out, &val, sizeof *out);
  else return MT_EINVAL;
  return 0;
}

int mt_shdict_get_bytes(mt_shdict_t *d, const char *key, void *buf, size_t cap) {
  probe_t pr;
  if (!buf && cap) return MT_EINVAL;
  int r = key_probe(d, key, &pr);
  if (r) return r;
  dict_lock(d);
  find(d, key, &pr);
  if (!pr.found) r = MT_ENOENT;
  else if (pr.found->cell.type[pr.found->cell.sel] != MT_SHITEM_BYTES) r = MT_EINVAL;
  else r = mt__cell_get_bytes(abase(d), &pr.found->cell, buf, cap);
  dict_unlock(d);
  return r;
}

int mt_shdict_type(mt_shdict_t *d, const char *key) {
  int type;
  uint64_t val;
  int r = dict_read(d, key, &type, &val);
  return r ? r : type;
}

int mt_shdict_contains(mt_shdict_t *d, const char *key) {
  int r = mt_shdict_type(d, key);
  if (r == MT_ENOENT) return 0;
  return r < 0 ? r : 1;
}

int mt_shdict_del(mt_shdict_t *d, const char *key) {
  probe_t pr;
  int r = key_probe(d, key, &pr);
  if (r) return r;
  dict_lock(d);
  find(d, key, &pr);
  if (pr.found) {
    slot_t *s = pr.found;
    __atomic_store_n(&s->state, TOMB, __ATOMIC_RELEASE); /* commit */
    d->count--;
    mt__cell_release(&d->arena, abase(d), &s->cell);
    mt__arena_free(&d->arena, abase(d), s->key_off);
  }
  dict_unlock(d);
  return pr.found ? 0 : MT_ENOENT;
}

long mt_shdict_len(mt_shdict_t *d) {
  if (!d) return MT_EINVAL;
  dict_lock(d); /* also repairs (recounts) after a dead holder */
  long n = (long)d->count;
  dict_unlock(d);
  return n;
}

int mt_shdict_incr(mt_shdict_t *d, const char *key, int64_t delta, int64_t *result) {
  probe_t pr;
  int r = key_probe(d, key, &pr);
  if (r) return r;
  dict_lock(d);
  find(d, key, &pr);
  int64_t nv = delta;
  if (pr.found) {
    mt__cell_t *c = &pr.found->cell;
    if (c->type[c->sel] != MT_SHITEM_INT) r = MT_EINVAL;
    else if (__builtin_add_overflow((int64_t)c->val[c->sel], delta, &nv)) r = MT_ERANGE;
    else __atomic_store_n(&c->val[c->sel], (uint64_t)nv, __ATOMIC_RELAXED); /* one store */
  } else {
    mt__vin_t v = {.type = MT_SHITEM_INT, .i = delta};
    r = insert(d, key, &pr, &v);
  }
  dict_unlock(d);
  if (r == 0 && result) *result = nv;
  return r;
}

long mt_shdict_items(mt_shdict_t *d, int (*fn)(const char *key, const mt_shitem_t *v, void *arg),
                     void *arg) {
  if (!d || !fn) return MT_EINVAL;
  dict_lock(d);
  slot_t *t = table(d);
  char *base = abase(d);
  long n = 0;
  int stop = 0;
  for (uint64_t i = 0; i < d->nslots && !stop; i++) {
    if (t[i].state != FULL) continue;
    const mt__cell_t *c = &t[i].cell;
    mt_shitem_t v = {.type = (mt_shitem_type_t)c->type[c->sel]};
    uint64_t raw = c->val[c->sel];
    if (v.type == MT_SHITEM_INT) v.i = (int64_t)raw;
    else if (v.type == MT_SHITEM_DOUBLE) memcpy(&v.d, &raw, sizeof v.d);
    else {
      v.bytes = mt__arena_ptr(base, raw);
      v.len = c->len[c->sel];
    }
    stop = fn(mt__arena_ptr(base, t[i].key_off), &v, arg);
    n++;
  }
  dict_unlock(d);
  return stop ? stop : n;
}

struct keys_ctx {
  int (*fn)(const char *key, void *arg);
  void *arg;
};

static int keys_adapter(const char *key, const mt_shitem_t *v, void *arg) {
  (void)v;
  struct keys_ctx *k = arg;
  return k->fn(key, k->arg);
}

long mt_shdict_keys(mt_shdict_t *d, int (*fn)(const char *key, void *arg), void *arg) {
  if (!fn) return MT_EINVAL;
  struct keys_ctx k = {fn, arg};
  return mt_shdict_items(d, keys_adapter, &k);
}
