/* list.c - Manager().list() in shared memory (see dict.c for why there is
 * no server process).  Layout: header | capacity cells | arena.  Append
 * writes the cell at `len` then stores len + 1 (the commit); pop stores
 * len - 1 then frees the bytes; set goes through the cell's two halves.
 * So, as for the dict, an operation interrupted by a death is either fully
 * applied or absent, and repair() reclaims orphaned blocks.  Only append and
 * pop change the length: there is no insert or del in the middle, which
 * could not be made crash-atomic without a journal. */
#include "multitask/manager.h"

#include <string.h>

#include "core/core.h"
#include "manager/arena.h"
#include "platform/platform.h"
#include "sync/mutex.h"
#include "wait/wait.h"

#define HEADER_BYTES 4096

struct mt_shlist {
  mt__mutex_t lock;
  uint64_t map_bytes, capacity, len;
  uint64_t arena_off;
  mt__arena_t arena;
};

static mt__cell_t *cells(mt_shlist_t *l) { return (mt__cell_t *)((char *)l + HEADER_BYTES); }
static char *abase(mt_shlist_t *l) { return (char *)l + l->arena_off; }

static void repair(mt_shlist_t *l) {
  char *base = abase(l);
  mt__arena_unmark_all(&l->arena, base);
  for (uint64_t i = 0; i < l->len; i++)
    if (!mt__cell_mark(&l->arena, base, &cells(l)[i])) {
      /* cannot happen with the commit order; keep the list usable */
      memset(&cells(l)[i], 0, sizeof(mt__cell_t));
      cells(l)[i].type[0] = MT_SHITEM_INT;
    }
  mt__arena_rebuild_free(&l->arena, base);
}

static void list_lock(mt_shlist_t *l) {
  if (mt__mutex_lock(&l->lock, true, MT__NO_DEADLINE) == MT_EOWNERDEAD) repair(l);
}
static void list_unlock(mt_shlist_t *l) { mt__mutex_unlock(&l->lock, true); }

mt_shlist_t *mt_shlist_new(size_t capacity, size_t arena) {
  if (capacity == 0) capacity = MT_SHDICT_DEFAULT_CAPACITY;
  if (arena == 0) arena = MT_SHDICT_DEFAULT_ARENA;
  if (capacity > ((size_t)1 << 32) || arena > ((size_t)1 << 40)) return mt__fail_null(MT_EINVAL);
  uint64_t cbytes = ((uint64_t)capacity * sizeof(mt__cell_t) + 4095) & ~(uint64_t)4095;
  uint64_t total = HEADER_BYTES + cbytes + arena;
  mt_shlist_t *l = mt__alloc_ok() ? mt__sys_map_reserve(total) : NULL;
  if (!l) return mt__fail_null(MT_ENOMEM);
  mt__mutex_init(&l->lock);
  l->map_bytes = total;
  l->capacity = capacity;
  l->arena_off = HEADER_BYTES + cbytes;
  mt__arena_init(&l->arena, arena);
  return l;
}

void mt_shlist_free(mt_shlist_t *l) {
  if (l) mt__sys_unmap(l, l->map_bytes);
}

static int append(mt_shlist_t *l, const mt__vin_t *v) {
  if (!l) return MT_EINVAL;
  list_lock(l);
  int r = MT_EFULL;
  if (l->len < l->capacity) {
    mt__cell_t *c = &cells(l)[l->len];
    memset(c, 0, sizeof *c);
    r = mt__cell_store(&l->arena, abase(l), c, v);
    if (r == 0) __atomic_store_n(&l->len, l->len + 1, __ATOMIC_RELEASE); /* commit */
  }
  list_unlock(l);
  return r;
}

int mt_shlist_append_int(mt_shlist_t *l, int64_t v) {
  mt__vin_t in = {.type = MT_SHITEM_INT, .i = v};
  return append(l, &in);
}
int mt_shlist_append_double(mt_shlist_t *l, double v) {
  mt__vin_t in = {.type = MT_SHITEM_DOUBLE, .d = v};
  return append(l, &in);
}
int mt_shlist_append_bytes(mt_shlist_t *l, const void *buf, size_t len) {
  if ((!buf && len) || len > INT32_MAX) return MT_EINVAL;
  mt__vin_t in = {.type = MT_SHITEM_BYTES, .p = buf, .len = len};
  return append(l, &in);
}

/* The cell at a Python index, NULL when out of range.  Caller holds the lock. */
static mt__cell_t *at(mt_shlist_t *l, long index) {
  long n = (long)l->len;
  if (index < 0) index += n;
  if (index < 0 || index >= n) return NULL;
  return &cells(l)[index];
}

static int set(mt_shlist_t *l, long index, const mt__vin_t *v) {
  if (!l) return MT_EINVAL;
  list_lock(l);
  mt__cell_t *c = at(l, index);
  int r = c ? mt__cell_store(&l->arena, abase(l), c, v) : MT_ERANGE;
  list_unlock(l);
  return r;
}

int mt_shlist_set_int(mt_shlist_t *l, long index, int64_t v) {
  mt__vin_t in = {.type = MT_SHITEM_INT, .i = v};
  return set(l, index, &in);
}
int mt_shlist_set_double(mt_shlist_t *l, long index, double v) {
  mt__vin_t in = {.type = MT_SHITEM_DOUBLE, .d = v};
  return set(l, index, &in);
}
int mt_shlist_set_bytes(mt_shlist_t *l, long index, const void *buf, size_t len) {
  if ((!buf && len) || len > INT32_MAX) return MT_EINVAL;
  mt__vin_t in = {.type = MT_SHITEM_BYTES, .p = buf, .len = len};
  return set(l, index, &in);
}

static int read_cell(mt_shlist_t *l, long index, int *type, uint64_t *val) {
  if (!l) return MT_EINVAL;
  list_lock(l);
  mt__cell_t *c = at(l, index);
  if (c) {
    *type = c->type[c->sel];
    *val = c->val[c->sel];
  }
  list_unlock(l);
  return c ? 0 : MT_ERANGE;
}

int mt_shlist_get_int(mt_shlist_t *l, long index, int64_t *out) {
  int type;
  uint64_t val;
  if (!out) return MT_EINVAL;
  int r = read_cell(l, index, &type, &val);
  if (r) return r;
  if (type != MT_SHITEM_INT) return MT_EINVAL;
  *out = (int64_t)val;
  return 0;
}

int mt_shlist_get_double(mt_shlist_t *l, long index, double *out) {
  int type;
  uint64_t val;
  if (!out) return MT_EINVAL;
  int r = read_cell(l, index, &type, &val);
  if (r) return r;
  if (type == MT_SHITEM_INT) *out = (double)(int64_t)val;
  else if (type == MT_SHITEM_DOUBLE) memcpy(out, &val, sizeof *out);
  else return MT_EINVAL;
  return 0;
}

int mt_shlist_get_bytes(mt_shlist_t *l, long index, void *buf, size_t cap) {
  if (!l || (!buf && cap)) return MT_EINVAL;
  list_lock(l);
  mt__cell_t *c = at(l, index);
  int r;
  if (!c) r = MT_ERANGE;
  else if (c->type[c->sel] != MT_SHITEM_BYTES) r = MT_EINVAL;
  else r = mt__cell_get_bytes(abase(l), c, buf, cap);
  list_unlock(l);
  return r;
}

int mt_shlist_type(mt_shlist_t *l, long index) {
  int type;
  uint64_t val;
  int r = read_cell(l, index, &type, &val);
  return r ? r : type;
}

int mt_shlist_incr(mt_shlist_t *l, long index, int64_t delta, int64_t *result) {
  if (!l) return MT_EINVAL;
  list_lock(l);
  mt__cell_t *c = at(l, index);
  int r = 0;
  int64_t nv = 0;
  if (!c) r = MT_ERANGE;
  else if (c->type[c->sel] != MT_SHITEM_INT) r = MT_EINVAL;
  else if (__builtin_add_overflow((int64_t)c->val[c->sel], delta, &nv)) r = MT_ERANGE;
  else __atomic_store_n(&c->val[c->sel], (uint64_t)nv, __ATOMIC_RELAXED);
  list_unlock(l);
  if (r == 0 && result) *result = nv;
  return r;
}

int mt_shlist_pop(mt_shlist_t *l) {
  if (!l) return MT_EINVAL;
  list_lock(l);
  int r = MT_ERANGE;
  if (l->len > 0) {
    uint64_t n = l->len - 1;
    __atomic_store_n(&l->len, n, __ATOMIC_RELEASE); /* commit */
    mt__cell_release(&l->arena, abase(l), &cells(l)[n]);
    r = 0;
  }
  list_unlock(l);
  return r;
}

long mt_shlist_len(mt_shlist_t *l) {
  if (!l) return MT_EINVAL;
  return (long)__atomic_load_n(&l->len, __ATOMIC_RELAXED);
}
