/* multitask/greenlet.h - Python's greenlet: stackful coroutines switched by
 * hand, one thread at a time.
 *
 * A greenlet runs fn(arg, value) on its own stack.  mt_greenlet_switch(g,
 * value, &out) suspends the caller and resumes g: the first switch starts fn
 * with `value`, a later one makes g's own pending switch return 0 with *out
 * = value.  When fn returns, its return value goes to the parent (the
 * parent's pending switch returns 0 with *out = that value) and g is dead.
 * The parent is, by default, the greenlet that created g; a dead parent
 * hands over to its own parent, and so on up to the thread's root greenlet
 * (the thread's own stack, mt_greenlet_current() before any switch).
 *
 * A greenlet belongs to the thread that created it: switching to, throwing
 * into or killing it from another thread is MT_EPERM.  Nothing here
 * blocks: a switch only moves the thread to another stack.
 *
 * Stacks are mmap'ed with a guard page below them and pooled per thread; a
 * stack overflow kills the process with a message naming the greenlet
 * (docs/coroutines.md).  Python name -> C: greenlet(run, parent) ->
 * mt_greenlet_new, g.switch -> mt_greenlet_switch, g.throw ->
 * mt_greenlet_throw, getcurrent -> mt_greenlet_current, g.parent ->
 * mt_greenlet_parent/_set_parent, g.dead -> mt_greenlet_is_dead, bool(g)
 * and g.gr_frame -> mt_greenlet_is_started. */
#ifndef MULTITASK_GREENLET_H
#define MULTITASK_GREENLET_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

typedef struct mt_greenlet mt_greenlet_t;

typedef struct mt_greenlet_opts {
  size_t size;        /* sizeof(mt_greenlet_opts_t): set by MT_GREENLET_OPTS_INIT */
  const char *name;   /* NULL: "Greenlet-N" (generators: "Generator-N"); at most
                         31 bytes are kept.  The stack-overflow report uses it. */
  size_t stack_size;  /* 0: the default, 256 KiB; else at least 16 KiB
                         (MT_EINVAL below), rounded up to whole pages */
} mt_greenlet_opts_t;
#define MT_GREENLET_OPTS_INIT {sizeof(mt_greenlet_opts_t), NULL, 0}

/* A new greenlet that will run fn(arg, value), `value` being what the first
 * switch to it passes.  parent NULL: the current greenlet.  opts NULL: the
 * defaults.  Its stack is mapped here, so a later switch never fails for
 * memory.  NULL with errno: EINVAL (fn NULL, opts->size 0, stack too small),
 * EPERM (parent on another thread), ENOMEM (no memory, or no mapping left:
 * vm.max_map_count, RLIMIT_AS). */
mt_greenlet_t *mt_greenlet_new(void *(*fn)(void *arg, void *value), void *arg,
                               mt_greenlet_t *parent, const mt_greenlet_opts_t *opts);
/* Releases g.  A started greenlet that is not dead is first killed, as
 * Python does when it collects one: it sees MT_ECANCELLED at its switch
 * point, runs its cleanup and returns, and control comes back here.  If it
 * switches away instead of returning, or g belongs to another thread (which
 * cannot run it), its stack is released without unwinding.  Freeing the
 * running greenlet releases it when it finishes.  The root greenlet
 * (mt_greenlet_current on a plain thread) belongs to its thread: freeing it
 * does nothing.  NULL does nothing.  Never blocks. */
void mt_greenlet_free(mt_greenlet_t *g);

/* Suspends the caller and resumes g (a dead g: its first live parent).
 * Returns when something switches back: 0 and *out = the value passed (or
 * the return value of a child that finished), or the negative code thrown
 * into the caller (mt_greenlet_throw), *out = NULL.  Switching to the running
 * greenlet returns value at once.  out may be NULL.  MT_EINVAL for NULL,
 * MT_EPERM for a greenlet of another thread, MT_ENOMEM when this thread's
 * root greenlet cannot be made. */
int mt_greenlet_switch(mt_greenlet_t *g, void *value, void **out);
/* Like switch, but g's pending switch returns `code` (a negative MT_E*
 * code, else MT_EINVAL) instead of a value.  A greenlet not started yet dies
 * without running and its parent is resumed with 0 and NULL.  Throwing
 * into the running greenlet returns `code` at once. */
int mt_greenlet_throw(mt_greenlet_t *g, int code, void **out);
/* gevent's kill: records the kill in g for good (every later blocking call
 * of g returns MT_ECANCELLED too, once the wait layer parks greenlets:
 * issue 14 part 1), then throws MT_ECANCELLED into g with the caller as
 * its parent, so g unwinds its own cleanup and, when its fn returns, control
 * comes back here (if g is an ancestor of the caller its parent stays, to
 * avoid a cycle, and control goes there instead).  0 when g is dead afterwards (or was already; a greenlet
 * not started yet dies without running), MT_EBUSY when g switched back here
 * without finishing, MT_ECANCELLED when g is the caller itself (now marked),
 * MT_EINVAL for NULL or the root greenlet, MT_EPERM for another thread's. */
int mt_greenlet_kill(mt_greenlet_t *g);

/* The running greenlet of the calling thread (Python's getcurrent): its
 * root greenlet when none runs.  Borrowed: never free it.  NULL (errno
 * ENOMEM) when the root cannot be made. */
mt_greenlet_t *mt_greenlet_current(void);
/* g's parent (NULL for a root greenlet or NULL g). */
mt_greenlet_t *mt_greenlet_parent(mt_greenlet_t *g);
/* Python's g.parent = p: MT_EINVAL for NULL or a cycle (p has g among its
 * ancestors, or p == g), MT_EPERM when p is another thread's. */
int mt_greenlet_set_parent(mt_greenlet_t *g, mt_greenlet_t *parent);
/* 1 once switched to (a root greenlet: always), 0 before; MT_EINVAL for NULL. */
int mt_greenlet_is_started(mt_greenlet_t *g);
/* 1 once fn has returned (or g was killed/thrown into before it started). */
int mt_greenlet_is_dead(mt_greenlet_t *g);
/* Its name (NULL for NULL). */
const char *mt_greenlet_name(mt_greenlet_t *g);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
