/* context.h - the "current context": who is running on this thread, for
 * the objects whose identity is finer than a thread's.
 *
 * A context is the thread's own (no greenlet running, or its root
 * greenlet) or a greenlet's.  Greenlet switches (src/coro/greenlet.c, the
 * one writer) set mt__context_cur, so everything built on greenlets (the
 * hub's tasks too) switches it for free.  A generator has no context of its
 * own: its body runs in the context of whoever resumed it, as a Python
 * generator runs in its caller's thread (or gevent greenlet).
 *
 * Users:
 * - RLock ownership (src/sync/lock.c) and so Condition's "caller holds the
 *   lock" check: the owner is (mutex word tid + thread stamp, see
 *   sync/mutex.h) plus mt__context_id(), so two greenlets of one thread do
 *   not share an RLock, as in gevent.
 * - threading.local (src/thread/local.c): values live in the current
 *   context's table; a greenlet's are destroyed when it ends or is freed.
 * A Lock, an Event, a thread handle do NOT use it: a Lock has no owner
 * beyond robust owner death (a thread's or process's), and
 * mt_thread_current() is always the real thread.
 *
 * Ids: 0 is the thread's own context; a greenlet gets a serial from one
 * process-wide 64-bit counter when it is made, never reused (a greenlet's
 * address would be: a new greenlet could inherit a dead one's RLock).  The
 * id is unique only within a thread, which is all it needs to be: owner
 * checks compare it after the thread identity matched.
 *
 * Cost: mt__context_id() is one initial-exec TLS load; a switch adds two
 * TLS stores. */
#ifndef MT_CORO_CONTEXT_H
#define MT_CORO_CONTEXT_H

#include <stdint.h>

/* One context's threading.local table (src/thread/local.c owns the
 * entries). */
typedef struct mt__local_tab {
  struct mt__local_entry *tab;
  uint32_t cap;
} mt__local_tab_t;

typedef struct mt__context {
  uint64_t id;            /* != 0 (0 is the thread's own context) */
  mt__local_tab_t locals; /* its threading.local values */
} mt__context_t;

/* The running greenlet's context; NULL while the thread's own runs.  Its
 * id is kept beside it, so an RLock's check is one load with no branch. */
extern _Thread_local mt__context_t *mt__context_cur __attribute__((tls_model("initial-exec")));
extern _Thread_local uint64_t mt__context_cur_id __attribute__((tls_model("initial-exec")));

static inline uint64_t mt__context_id(void) { return mt__context_cur_id; }

/* src/thread/local.c: destroys every value of the table (running the
 * destructors in the calling context, repeatedly while they set new ones)
 * and frees it.  Greenlets call it when they end or are freed. */
void mt__locals_release(mt__local_tab_t *t);

#endif
