/* tflag.h - a one-shot flag for tests, on the library's wait layer (the
 * sync primitives are tested elsewhere; these tests must not depend on
 * them).  flag_wait blocks until flag_set, never by sleeping. */
#ifndef TFLAG_H
#define TFLAG_H

#include <stdint.h>
#include "wait/wait.h"

typedef struct { uint32_t word; } tflag_t;

static inline void flag_set(tflag_t *f) {
  __atomic_store_n(&f->word, 1, __ATOMIC_SEQ_CST);
  mt__wake_word(&f->word, INT32_MAX, false);
}
static inline int flag_is_set(tflag_t *f) {
  return (int)__atomic_load_n(&f->word, __ATOMIC_ACQUIRE);
}
/* 0 once set, MT_ETIMEDOUT at the deadline. */
static inline int flag_wait(tflag_t *f, double timeout) {
  int64_t deadline;
  mt__deadline(timeout, &deadline);
  while (!flag_is_set(f))
    if (mt__wait_word(&f->word, 0, false, deadline) == MT_ETIMEDOUT && !flag_is_set(f))
      return MT_ETIMEDOUT;
  return 0;
}

#endif
