/* coro.h - internals of the coroutine runtime (greenlet.c, generator.c,
 * stack.c), and the per-thread "current context" record that the wait layer
 * (issue 14 part 1) and the hub (issue 15) build on.
 *
 * Invariants (all fields are touched by their own thread only, except
 * `refs`, `killed` and the record's `refs`, which are atomic):
 * - a thread that ever used a greenlet has one mt__coro_thread_t; its
 *   `root` greenlet stands for the thread's own stack and never dies;
 * - `current` is the greenlet running on this thread (root when none);
 * - every greenlet's parent chain ends at the root of the same thread;
 * - a greenlet holds one reference on its parent and one on its thread's
 *   record, so neither is released while it exists. */
#ifndef MT_CORO_INTERNAL_H
#define MT_CORO_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coro/context.h"
#include "multitask/greenlet.h"
#include "platform/switch.h"

typedef struct mt__stack {
  void *base;   /* the mapping: guard region, then the stack */
  size_t guard; /* bytes of guard at base */
  size_t size;  /* usable bytes above the guard */
} mt__stack_t;

/* src/coro/stack.c: a stack of `size` usable bytes (page multiple), from the
 * calling thread's pool when one of that size is free.  0 or MT_ENOMEM. */
int mt__stack_get(size_t size, mt__stack_t *s);
/* Back to the calling thread's pool (or unmapped when the pool is full or
 * the thread is exiting). */
void mt__stack_put(mt__stack_t *s);
/* Unmaps every pooled stack of the calling thread (thread exit); later
 * puts of the thread unmap at once. */
void mt__stack_pool_drain(void);
/* The calling thread's hub is about to sleep (`now`: mt__now_ns()): ends a
 * stale period of the pool's decay (stack.c).  Returns the deadline by which
 * to call it again while the pool holds stacks past its base size, else
 * MT__NO_DEADLINE. */
int64_t mt__stack_pool_idle(int64_t now);
/* Tests: stacks mapped so far by the process, stacks pooled by this thread. */
long mt__stack_maps(void);
int mt__stack_pooled(void);
size_t mt__stack_default_size(void);
/* Valgrind: a stack is registered while a greenlet uses it (no-ops when
 * the build has no valgrind headers). */
unsigned mt__stack_vg_register(mt__stack_t *s);
void mt__stack_vg_deregister(unsigned id);
size_t mt__stack_page(void);

enum { MT__G_NEW, MT__G_STARTED, MT__G_DEAD };

/* A name made on first use ("<prefix>-<num>", e.g. "Task-7"): spawning
 * costs no printf.  Any thread may ask for it (mt_coro_name); the first
 * asker formats `text` under `state` (0 not formatted, 1 being formatted,
 * 2 ready; atomic) and the others wait for 2, so the text is written once
 * and stays at the same address while its object lives. */
typedef struct mt__name {
  char text[32];
  const char *prefix; /* NULL: `text` is a given name (state 2) */
  unsigned long num;
  uint32_t state;
} mt__name_t;
/* `given` (copied, truncated to 31 bytes) or, when NULL, prefix-num later. */
void mt__name_init(mt__name_t *n, const char *given, const char *prefix, unsigned long num);
const char *mt__name_get(mt__name_t *n);

struct mt__coro_thread;

struct mt_greenlet {
  mt__ctx_t ctx;                  /* where it left off while suspended */
  struct mt__coro_thread *thread; /* the thread it belongs to (never changes) */
  mt_greenlet_t *parent;          /* where it goes when fn returns */
  void *(*fn)(void *arg, void *value);
  void *arg;
  mt__stack_t stack; /* base NULL for the root, and once dead */
  unsigned vg_id;    /* Valgrind's id of the stack */
  int state;         /* MT__G_* */
  bool started;      /* switched to at least once (the root: always) */
  bool freed;        /* mt_greenlet_free was called (the user's reference is gone) */
  atomic_int refs;   /* user + children */
  atomic_bool killed; /* sticky: set by mt_greenlet_kill, never cleared */
  atomic_bool cancel_once; /* asyncio's task.cancel() (hub.c): the next wait returns
                              MT_ECANCELLED, once */
  atomic_bool expired; /* a timeout scope ran out (hub.c, group.c): every wait returns
                          MT_ECANCELLED until the scope ends */
  void *gen;          /* the mt_generator_t it runs, if any */
  mt__context_t context; /* its identity and locals (context.h); unused by
                            the root and by generators */
  /* compact (hub.c's compact tasks): runs on its thread's shared stack
   * (thread->shared); while another compact greenlet owns that stack, the
   * bytes this one used live in `save` (save_len of them, the top of the
   * stack down to its saved stack pointer) and go back to the same address
   * before it runs again.  `stack` is then a copy of the shared stack's
   * descriptor (for the overflow report), never released by this greenlet. */
  bool compact;
  unsigned char *save;
  size_t save_len, save_cap;
  void *tsan_fiber;
  void *asan_fake;          /* ASan's fake stack while suspended */
  const void *asan_bottom;  /* the stack ASan sees (root: learnt on first switch) */
  size_t asan_size;
  mt__name_t name;
  mt__name_t *alias; /* a task's greenlet: the name is its task's (hub.c) */
};

/* The per-thread record of the running greenlet.  The identity that RLocks
 * and locals use is the "current context" of coro/context.h, which the
 * switches below keep in step with `current`. */
typedef struct mt__coro_thread {
  mt_greenlet_t *current;
  mt_greenlet_t *root;
  /* what travels with a switch: the value (also in registers, as the
   * switch's return value; this copy is what a new greenlet's entry reads)
   * and a code (0 or thrown) */
  void *xfer_value;
  int xfer_code;
  mt_greenlet_t *prev;     /* who switched last (sanitizer bookkeeping) */
  mt_greenlet_t *dead;     /* finished on its own stack: released by the next one to run */
  void *altstack;          /* alternate signal stack token */
  atomic_int refs;         /* the thread + its greenlets + ref_pool */
  mt__stack_t shared;      /* compact greenlets' stack (base NULL until the first) */
  mt_greenlet_t *owner;    /* the compact greenlet whose frames are on it now */
  unsigned shared_vg;      /* Valgrind's id of the shared stack */
  mt_greenlet_t *spare;    /* freed greenlet structs kept for reuse (linked by parent) */
  int nspare;
  uint64_t id_next, id_end; /* context ids this thread may hand out (greenlet.c) */
  int ref_pool;            /* references on `refs` held for greenlets to come (greenlet.c) */
  bool exited;
} mt__coro_thread_t;

/* The calling thread's record, made on first use (NULL: out of memory). */
mt__coro_thread_t *mt__coro_thread(void);
/* The running greenlet, or NULL when this thread never used one (no
 * allocation: what the wait layer calls on every park). */
mt_greenlet_t *mt__coro_current(void);
/* MT_ECANCELLED when the running greenlet was killed (the kill is sticky:
 * every later blocking call of it must return MT_ECANCELLED), or was
 * cancelled (cancel_once: this call consumes it), or is inside a timeout
 * scope that ran out (`expired`: sticky until the scope ends), else 0.  Only the start
 * of a wait may call it (it consumes a cancellation). */
int mt__coro_cancelled(void);
/* A wait whose park said MT_ECANCELLED (r) but which counts as woken after
 * all (a waker popped its node first, or the object completed): the cancel
 * was consumed and not delivered, so it is armed again for the next wait
 * (asyncio's cancel is never lost).  Any other r: nothing. */
void mt__coro_cancel_undelivered(int r);
/* Sets g's parent without the cycle check (generators: the caller of next). */
void mt__greenlet_reparent(mt_greenlet_t *g, mt_greenlet_t *parent);
/* The greenlet API, with a name prefix for defaults ("Generator"); NULL:
 * no name of its own (the caller sets `alias`). */
mt_greenlet_t *mt__greenlet_new(void *(*fn)(void *, void *), void *arg, mt_greenlet_t *parent,
                                const mt_greenlet_opts_t *opts, const char *prefix);
/* A compact greenlet (above): its stack is the thread's shared one
 * (mt__stack_default_size() bytes, made by the first), so opts->stack_size
 * may not exceed it (EINVAL).  NULL + errno like mt_greenlet_new; ENOTSUP
 * where the switch backend cannot tell a context's stack pointer. */
/* true when p points into this thread's shared stack (compact greenlets'):
 * its bytes there belong to whichever compact greenlet runs, so a pointer
 * kept past a switch is wrong (spawn and to_thread refuse it: MT_EINVAL). */
bool mt__on_shared_stack(const void *p);
mt_greenlet_t *mt__greenlet_new_compact(void *(*fn)(void *, void *), void *arg,
                                        mt_greenlet_t *parent, const mt_greenlet_opts_t *opts,
                                        const char *prefix);

#endif
