/* multitask/thread.h - Python's threading.Thread, the module functions
 * (current_thread, main_thread, enumerate, active_count, get_ident) and
 * threading.local.  docs/threading.md maps each Python name.
 *
 * Daemon semantics as Python: when main returns or exit() is called, the
 * library (an atexit handler installed with the first thread) joins every
 * non-daemon thread it started; daemon threads do not hold the process.
 * Threads the library did not start (the main thread, threads made with
 * pthread_create) are seen too, as Python's "dummy" threads, from the first
 * time they call into this API. */
#ifndef MULTITASK_THREAD_H
#define MULTITASK_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "multitask/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mt_thread mt_thread_t;

typedef struct mt_thread_opts {
  const char *name;  /* NULL: "Thread-N" as Python; the first 15 bytes are
                        also the kernel name (/proc/<pid>/task/<tid>/comm) */
  bool daemon;       /* default: inherited from the creating thread (as Python) */
  bool daemon_set;   /* true: use `daemon` above instead of inheriting */
  size_t stack_size; /* 0: the default */
} mt_thread_opts_t;

/* Makes a thread object (not started).  opts may be NULL. */
mt_thread_t *mt_thread_new(void *(*fn)(void *arg), void *arg, const mt_thread_opts_t *opts);
/* Starts it.  MT_ESTARTED when started twice. */
int mt_thread_start(mt_thread_t *t);
/* Convenience: new + start. NULL with errno on failure. */
mt_thread_t *mt_thread_spawn(void *(*fn)(void *arg), void *arg, const mt_thread_opts_t *opts);
/* Waits for the thread to finish.  0, MT_ETIMEDOUT, MT_ENOTSTARTED,
 * MT_EDEADLK (joining yourself).  Many threads may join the same thread.
 * If result is non-NULL it receives fn's return value. */
int mt_thread_join(mt_thread_t *t, double timeout, void **result);
/* Frees the object.  A running thread is detached: it keeps running and its
 * resources are released when it ends.  Dummy threads cannot be freed. */
void mt_thread_free(mt_thread_t *t);

int mt_thread_is_alive(const mt_thread_t *t);          /* 1 / 0 */
const char *mt_thread_name(const mt_thread_t *t);
int mt_thread_set_name(mt_thread_t *t, const char *name);
int mt_thread_is_daemon(const mt_thread_t *t);         /* 1 / 0 */
int mt_thread_set_daemon(mt_thread_t *t, bool daemon); /* MT_ESTARTED once started */
/* Python's ident (pthread_t as an integer) and native_id (kernel tid);
 * 0 before start. */
uint64_t mt_thread_ident(const mt_thread_t *t);
int32_t mt_thread_native_id(const mt_thread_t *t);

/* Module functions. */
mt_thread_t *mt_thread_current(void);
mt_thread_t *mt_thread_main(void);
/* Fills out[0..n-1] with the live threads (started and not finished, dummy
 * threads included) and returns how many there are (which may exceed n). */
int mt_thread_enumerate(mt_thread_t **out, int n);
int mt_thread_active_count(void);
uint64_t mt_thread_get_ident(void);
int32_t mt_thread_get_native_id(void);

/* ---- threading.local -------------------------------------------------
 * One slot; each thread sees its own value.  dtor (may be NULL) runs on a
 * thread's non-NULL value when that thread exits and, for the calling
 * thread, on mt_local_free.  Any number of locals may exist. */
typedef struct mt_local mt_local_t;
mt_local_t *mt_local_new(void (*dtor)(void *value));
void mt_local_free(mt_local_t *l);
void *mt_local_get(mt_local_t *l);
int mt_local_set(mt_local_t *l, void *value);

#ifdef __cplusplus
}
#endif
#endif
