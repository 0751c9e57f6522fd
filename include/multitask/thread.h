/* multitask/thread.h - Python's threading.Thread, the module functions
 * (current_thread, main_thread, enumerate, active_count, get_ident) and
 * threading.local.  docs/threads.md maps each Python name.
 *
 * Daemon semantics as Python: when main returns or exit() is called, the
 * library (an atexit handler installed with the first thread) joins every
 * non-daemon thread it started; daemon threads do not hold the process.
 * (_exit(), abort() and a fatal signal do not wait, as in Python.)
 * Threads the library did not start are seen too, as Python's "dummy"
 * threads: the main thread is registered at load time as "MainThread";
 * another thread becomes "Dummy-N" (a daemon) the first time it calls
 * mt_thread_current() (or mt_thread_new/enumerate) and leaves the registry
 * when it exits.  The shared timer thread (timer.h) is internal and not
 * listed.
 *
 * Pointers returned by mt_thread_current/main are borrowed: a library
 * thread's object lives until its handle is freed and it finished; a
 * dummy's until that thread exits.  mt_thread_enumerate hands out
 * REFERENCES (each released with mt_thread_free), so its pointers stay
 * valid even for a thread that was started and forgotten and has ended.
 *
 * fork: in the child only the forking thread is left.  Every other thread
 * is unlisted and reads as finished (is_alive 0, join returns 0 at once);
 * the forking thread becomes the main thread, with its new native id. */
#ifndef MULTITASK_THREAD_H
#define MULTITASK_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "multitask/error.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

typedef struct mt_thread mt_thread_t;

typedef struct mt_thread_opts {
  size_t size;       /* set by MT_THREAD_OPTS_INIT; 0 is MT_EINVAL (docs/api.md) */
  const char *name;  /* NULL: "Thread-N" as Python.  At most 63 bytes
                        (else MT_ENAMETOOLONG).  A name given here or by
                        mt_thread_set_name is also the kernel name, first 15
                        bytes (/proc/<pid>/task/<tid>/comm); default names
                        are not pushed to the kernel (a 2.7 us prctl). */
  bool daemon;       /* default: inherited from the creating thread (as Python) */
  bool daemon_set;   /* true: use `daemon` above instead of inheriting */
  size_t stack_size; /* 0: the default; else >= PTHREAD_STACK_MIN (MT_EINVAL) */
} mt_thread_opts_t;
#define MT_THREAD_OPTS_INIT {.size = sizeof(mt_thread_opts_t)}

/* Makes a thread object (not started).  opts may be NULL.  NULL with errno
 * EINVAL (fn NULL, stack too small), ENAMETOOLONG, ENOMEM. */
mt_thread_t *mt_thread_new(void *(*fn)(void *arg), void *arg, const mt_thread_opts_t *opts);

/* ---- "subclass" style (as mt_process_run_t) --------------------------
 * Embed an mt_thread_run_t as the FIRST member of your own struct and set
 * its run function; the thread calls run with the pointer to that member,
 * i.e. your struct (Python's `class T(Thread): def run(self): ...`).  What
 * run returns is what join hands back.
 *
 *   struct counter { mt_thread_run_t base; int n; };
 *   static void *counter_run(mt_thread_run_t *self) {
 *     struct counter *c = (struct counter *)self; ... return NULL; }
 *   struct counter c = {{counter_run}, 3};
 *   mt_thread_t *t = mt_thread_new_run(&c.base, NULL);
 */
typedef struct mt_thread_run {
  void *(*run)(struct mt_thread_run *self);
} mt_thread_run_t;
/* The thread runs self->run(self); self must stay valid until the thread
 * has finished (it is not copied).  NULL with errno EINVAL (self or run
 * NULL), or as mt_thread_new. */
mt_thread_t *mt_thread_new_run(mt_thread_run_t *self, const mt_thread_opts_t *opts);

/* Starts it; once it returns the thread is alive and enumerated and its
 * ident is set.  The thread inherits the caller's signal mask (the
 * library's own threads block every signal instead).  MT_ESTARTED when started twice (or a dummy), MT_EAGAIN
 * when the system cannot make a thread, MT_EINVAL for NULL. */
int mt_thread_start(mt_thread_t *t);
/* Python's `Thread(...).start()` with the object dropped: starts t and
 * releases the caller's handle (mt_thread_free), so the thread frees its
 * own record when it ends.  t is released in EVERY case, also on error,
 * so `mt_thread_start_detached(mt_thread_new(fn, arg, NULL))` never leaks:
 * do not use t afterwards.  Returns mt_thread_start's code (MT_EINVAL for
 * NULL, e.g. a failed mt_thread_new).  A non-daemon detached thread still
 * holds the process at exit, as in Python. */
int mt_thread_start_detached(mt_thread_t *t);
/* Convenience: new + start. NULL with errno on failure. */
mt_thread_t *mt_thread_spawn(void *(*fn)(void *arg), void *arg, const mt_thread_opts_t *opts);
/* Waits for the thread to finish.  0, MT_ETIMEDOUT, MT_ENOTSTARTED,
 * MT_EDEADLK (joining yourself), MT_ENOTSUP (a dummy thread: it cannot be
 * joined), MT_EINVAL (NULL, bad timeout), MT_ECANCELLED (the calling
 * coroutine was killed while it waited).  Many threads may join the same
 * thread, and join again later.  If result is non-NULL it receives fn's
 * return value (NULL if the thread left by pthread_exit).  Destructors of
 * its mt_local values have run when join returns 0. */
int mt_thread_join(mt_thread_t *t, double timeout, void **result);
/* Releases one reference: the handle from mt_thread_new*, or one taken by
 * mt_thread_ref or handed out by mt_thread_enumerate.  When the last one
 * goes, a running thread is detached: it keeps running and its record is
 * released when it ends.  It never blocks.  Do not call it on a borrowed pointer
 * (mt_thread_current/main) you took no reference for: it would drop
 * someone else's (only for a dummy thread nobody holds a reference to is
 * it a harmless no-op, as it always was).  Like any reference, do not
 * release it while you still use it. */
void mt_thread_free(mt_thread_t *t);
/* Takes another reference to t (released with mt_thread_free): keeps the
 * object readable (name, ident, is_alive, join) however long the thread
 * lives, e.g. a pointer got from mt_thread_current.  Returns t (NULL for
 * NULL). */
mt_thread_t *mt_thread_ref(mt_thread_t *t);

int mt_thread_is_alive(const mt_thread_t *t);          /* 1 / 0, MT_EINVAL */
/* The name (NULL for NULL).  Not synchronised with a concurrent set_name. */
const char *mt_thread_name(const mt_thread_t *t);
/* Renames (also the kernel name if it runs).  MT_ENAMETOOLONG > 63 bytes. */
int mt_thread_set_name(mt_thread_t *t, const char *name);
int mt_thread_is_daemon(const mt_thread_t *t);         /* 1 / 0, MT_EINVAL */
int mt_thread_set_daemon(mt_thread_t *t, bool daemon); /* MT_ESTARTED once started */
/* Python's ident (pthread_t as an integer) and native_id (kernel tid);
 * 0 before start (and for NULL).  native_id may wait a moment for a thread
 * that has just been started to publish its tid. */
uint64_t mt_thread_ident(const mt_thread_t *t);
int32_t mt_thread_native_id(const mt_thread_t *t);

/* Module functions. */
/* The calling thread's object (a dummy is made for a foreign thread; NULL
 * only if that allocation fails).  Inside a greenlet: still the real
 * thread (the greenlet itself is mt_greenlet_current()). */
mt_thread_t *mt_thread_current(void);
/* The main thread (in a forked child: the thread that forked). */
mt_thread_t *mt_thread_main(void);
/* Fills out[0..n-1] with the live threads (started and not finished, dummy
 * threads included), in start order, and returns how many there are (which
 * may exceed n).  Each pointer stored is a REFERENCE: release each of the
 * min(n, count) with mt_thread_free (they stay valid until then, even when
 * their thread ends meanwhile).  out may be NULL when n is 0.  MT_EINVAL
 * for n < 0. */
int mt_thread_enumerate(mt_thread_t **out, int n);
int mt_thread_active_count(void);
uint64_t mt_thread_get_ident(void);
int32_t mt_thread_get_native_id(void);

/* ---- threading.local -------------------------------------------------
 * One slot; each thread sees its own value (NULL until it sets one).  dtor
 * (may be NULL) runs exactly once on each non-NULL value: when its thread
 * exits (library threads before join returns; threads made with
 * pthread_create too), or for the calling thread on mt_local_free.  Values
 * other threads still hold when the local is freed are destroyed when those
 * threads exit.  The main thread's values are not destroyed at process exit
 * (as C's exit() does not run thread destructors).  Any number of locals may
 * exist; get and set take no lock.  While a greenlet runs, "thread" above
 * reads "greenlet" (as gevent's greenlet-local threading.local): it sees
 * only the values it set itself, and they are destroyed when it ends (or
 * in mt_greenlet_free if it never finishes); a generator's body uses its
 * resumer's values (docs/coroutines.md). */
typedef struct mt_local mt_local_t;
/* NULL + ENOMEM (ENOTRECOVERABLE if the slot table was found torn: a
 * holder vanished inside it, which the fork handlers rule out). */
mt_local_t *mt_local_new(void (*dtor)(void *value));
/* Never blocks: destroys the calling thread's value now; other threads'
 * values when those threads exit (see above). */
void mt_local_free(mt_local_t *l);
void *mt_local_get(mt_local_t *l); /* NULL for NULL */
/* Replaces the caller's value WITHOUT destroying the previous one (you own
 * what get returned).  0, MT_EINVAL (NULL), MT_ENOMEM. */
int mt_local_set(mt_local_t *l, void *value);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
