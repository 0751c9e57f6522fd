/* arena.c - see arena.h.  Crash consistency: a new block is committed by
 * the store of `top` after its header is written; free lists are a cache
 * rebuilt from scratch by repair, so a death in the middle of a push or
 * pop loses nothing. */
#include "manager/arena.h"

#include <string.h>

#include "core/core.h"
#include "multitask/error.h"
#include "multitask/manager.h"

#define MIN_CLASS 4 /* 16-byte blocks: 8 of header, 8 of payload */
#define ARENA_START 16

void mt__arena_init(mt__arena_t *a, uint64_t cap) {
  memset(a, 0, sizeof *a);
  a->cap = cap;
  a->top = ARENA_START;
}

static uint32_t class_of(size_t len) {
  size_t need = len + sizeof(mt__block_t);
  uint32_t c = MIN_CLASS;
  while (((size_t)1 << c) < need) c++;
  return c;
}

int64_t mt__arena_alloc(mt__arena_t *a, char *base, size_t len) {
  if (len > ((size_t)1 << 30)) return MT_EFULL;
  if (!mt__alloc_ok()) return MT_ENOMEM; /* injected (tests): as if out of memory */
  uint32_t c = class_of(len);
  uint64_t off = a->free_head[c];
  if (off) {
    a->free_head[c] = *(uint64_t *)mt__arena_ptr(base, off);
    return (int64_t)off;
  }
  uint64_t size = (uint64_t)1 << c;
  if (a->top + size > a->cap) return MT_EFULL;
  off = a->top;
  mt__block_t *b = (mt__block_t *)(base + off);
  b->cls = c;
  b->mark = 0;
  __atomic_store_n(&a->top, off + size, __ATOMIC_RELEASE); /* commit */
  return (int64_t)off;
}

void mt__arena_free(mt__arena_t *a, char *base, uint64_t off) {
  mt__block_t *b = (mt__block_t *)(base + off);
  *(uint64_t *)mt__arena_ptr(base, off) = a->free_head[b->cls];
  a->free_head[b->cls] = off;
}

static uint64_t bits_of_double(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

int mt__cell_store(mt__arena_t *a, char *base, mt__cell_t *c, const mt__vin_t *v) {
  int half = 1 - c->sel;
  uint64_t val;
  uint32_t len = 0;
  if (v->type == MT_SHITEM_INT) {
    val = (uint64_t)v->i;
  } else if (v->type == MT_SHITEM_DOUBLE) {
    val = bits_of_double(v->d);
  } else {
    int64_t off = mt__arena_alloc(a, base, v->len);
    if (off < 0) return (int)off;
    if (v->len) memcpy(mt__arena_ptr(base, (uint64_t)off), v->p, v->len);
    val = (uint64_t)off;
    len = (uint32_t)v->len;
  }
  mt__cell_t old = *c;
  c->type[half] = (uint8_t)v->type;
  c->val[half] = val;
  c->len[half] = len;
  __atomic_store_n(&c->sel, (uint8_t)half, __ATOMIC_RELEASE); /* commit */
  mt__cell_release(a, base, &old);
  return 0;
}

void mt__cell_release(mt__arena_t *a, char *base, const mt__cell_t *c) {
  if (c->type[c->sel] == MT_SHITEM_BYTES) mt__arena_free(a, base, c->val[c->sel]);
}

int mt__cell_get_bytes(char *base, const mt__cell_t *c, void *buf, size_t cap) {
  size_t len = c->len[c->sel];
  if (cap < len) return MT_EMSGSIZE;
  if (len) memcpy(buf, mt__arena_ptr(base, c->val[c->sel]), len);
  return (int)len;
}

void mt__arena_unmark_all(mt__arena_t *a, char *base) {
  for (uint64_t off = ARENA_START; off < a->top;) {
    mt__block_t *b = (mt__block_t *)(base + off);
    b->mark = 0;
    off += (uint64_t)1 << b->cls;
  }
}

/* Valid = inside the committed part, on a block boundary we can trust
 * (class sane, block fits), and big enough for len. */
bool mt__arena_mark(mt__arena_t *a, char *base, uint64_t off, size_t len) {
  if (off < ARENA_START || off >= a->top || off % 16) return false;
  mt__block_t *b = (mt__block_t *)(base + off);
  if (b->cls < MIN_CLASS || b->cls >= MT__ARENA_CLASSES) return false;
  if (off + ((uint64_t)1 << b->cls) > a->top) return false;
  if (len + sizeof *b > ((size_t)1 << b->cls)) return false;
  if (b->mark) return false; /* referenced twice: keep the first */
  b->mark = 1;
  return true;
}

bool mt__cell_mark(mt__arena_t *a, char *base, const mt__cell_t *c) {
  int s = c->sel & 1;
  if (c->type[s] == MT_SHITEM_BYTES) return mt__arena_mark(a, base, c->val[s], c->len[s]);
  return c->type[s] == MT_SHITEM_INT || c->type[s] == MT_SHITEM_DOUBLE;
}

void mt__arena_rebuild_free(mt__arena_t *a, char *base) {
  memset(a->free_head, 0, sizeof a->free_head);
  for (uint64_t off = ARENA_START; off < a->top;) {
    mt__block_t *b = (mt__block_t *)(base + off);
    if (!b->mark) mt__arena_free(a, base, off);
    off += (uint64_t)1 << b->cls;
  }
}
