/* arena.h - the allocator of the shared dict and list: power-of-two blocks
 * carved from one reserved region, free lists per size class, and the
 * two-halved value cell whose update commits with a single byte store.
 * Everything is offsets (the region may be at any address). */
#ifndef MT_MANAGER_ARENA_H
#define MT_MANAGER_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MT__ARENA_CLASSES 32

/* Block header (8 bytes before the payload); `mark` is used by repair. */
typedef struct mt__block {
  uint32_t cls;
  uint32_t mark;
} mt__block_t;

typedef struct mt__arena {
  uint64_t cap;                          /* bytes reserved */
  uint64_t top;                          /* bump pointer; commits a new block */
  uint64_t free_head[MT__ARENA_CLASSES]; /* 0 = empty (offset 0 is never a block) */
} mt__arena_t;

/* A value: two halves, `sel` names the live one.  An update writes the
 * other half then flips sel (the commit point), then frees the old bytes. */
typedef struct mt__cell {
  uint8_t sel;
  uint8_t type[2];
  uint8_t pad;
  uint32_t len[2];
  uint64_t val[2]; /* int64 / double bits / arena offset of the bytes */
} mt__cell_t;

/* A value to store. */
typedef struct mt__vin {
  int type;
  int64_t i;
  double d;
  const void *p;
  size_t len;
} mt__vin_t;

void mt__arena_init(mt__arena_t *a, uint64_t cap);
/* Offset of a block with room for len bytes, or MT_EFULL. */
int64_t mt__arena_alloc(mt__arena_t *a, char *base, size_t len);
void mt__arena_free(mt__arena_t *a, char *base, uint64_t off);
static inline void *mt__arena_ptr(char *base, uint64_t off) { return base + off + sizeof(mt__block_t); }

/* Stores v into the cell (see above).  0 or MT_EFULL. */
int mt__cell_store(mt__arena_t *a, char *base, mt__cell_t *c, const mt__vin_t *v);
/* Frees the cell's bytes (if any) after the cell stopped being reachable. */
void mt__cell_release(mt__arena_t *a, char *base, const mt__cell_t *c);
/* Copies bytes out: length, or MT_EMSGSIZE when cap is too small. */
int mt__cell_get_bytes(char *base, const mt__cell_t *c, void *buf, size_t cap);

/* Repair after a holder died: unmark every block, mark the live ones (a
 * false return from mark means the offset is not a valid block: drop the
 * entry), then rebuild the free lists from the unmarked blocks. */
void mt__arena_unmark_all(mt__arena_t *a, char *base);
bool mt__arena_mark(mt__arena_t *a, char *base, uint64_t off, size_t len);
bool mt__cell_mark(mt__arena_t *a, char *base, const mt__cell_t *c);
void mt__arena_rebuild_free(mt__arena_t *a, char *base);

#endif
