/* scope.h - between the hub (hub.c) and timeout scopes (group.c).
 *
 * Each fiber of a hub (a task, or the thread's own stack) keeps the
 * deadline of its open timeout scopes: the earliest of them (nesting: the
 * innermost scope stores the outer value and restores it at its end), and
 * the innermost scope itself.  The hub ends every park of the fiber by that
 * deadline; when it is the deadline that ends a park, the fiber's greenlet
 * is marked `expired` (coro/coro.h) and the park returns MT_ECANCELLED. */
#ifndef MT_CORO_SCOPE_H
#define MT_CORO_SCOPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct mt__scopes {
  int64_t deadline; /* MT__NO_DEADLINE when no scope is open */
  void *top;        /* the innermost open mt_timeout_t */
} mt__scopes_t;

/* The running fiber's scopes; NULL when the thread has no hub (or the hub
 * greenlet itself runs). */
mt__scopes_t *mt__hub_scopes(void);
/* Deadlines pending in the calling thread's hub's timer heap (tests). */
size_t mt__hub_timer_count(void);

#endif
