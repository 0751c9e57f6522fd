/* The one place executor workers are started: through the thread part
 * (mt_thread_spawn), so workers are real mt_thread_t threads (enumerate,
 * current_thread().name, ...).  They are daemon threads: a program that
 * returns from main without shutting its executor down is not held by idle
 * workers (use mt_executor_free or MT_WITH_EXECUTOR to wait for the work).
 * Workers block every signal (mt__thread_start_internal): process signals
 * go to the application's own threads, as Python delivers them to the main
 * thread. */
#include "executor/pool_internal.h"
#include "core/core.h"

#include <errno.h>
#include <stdlib.h>

#include "multitask/thread.h"
#include "thread/thread.h"

typedef struct {
  void (*fn)(void *arg);
  void *arg;
} start_t;

static void *trampoline(void *p) {
  start_t s = *(start_t *)p;
  mt__free(p);
  s.fn(s.arg);
  return NULL;
}

int mt__exec_spawn(void (*fn)(void *arg), void *arg, const char *name) {
  start_t *s = mt__malloc(sizeof *s);
  if (!s) return MT_ENOMEM;
  s->fn = fn;
  s->arg = arg;
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.name = name;
  o.daemon = true;
  o.daemon_set = true;
  mt_thread_t *t = mt_thread_new(trampoline, s, &o);
  int r = t ? mt__thread_start_internal(t) : (errno ? -errno : MT_ENOMEM);
  if (r < 0) {
    mt_thread_free(t);
    mt__free(s);
    return r;
  }
  mt_thread_free(t); /* detached: the pool counts its workers itself */
  return 0;
}
