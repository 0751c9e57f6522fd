/* The one place executor workers are started: through the thread part
 * (mt_thread_spawn), so workers are real mt_thread_t threads (enumerate,
 * current_thread().name, ...).  They are daemon threads: a program that
 * returns from main without shutting its executor down is not held by idle
 * workers (use mt_executor_free or MT_WITH_EXECUTOR to wait for the work).
 * Workers block every signal: process signals go to the application's own
 * threads, as Python delivers them to the main thread. */
#include "executor/pool_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "multitask/thread.h"
#include "platform/platform.h"

typedef struct {
  void (*fn)(void *arg);
  void *arg;
} start_t;

static void *trampoline(void *p) {
  start_t s = *(start_t *)p;
  free(p);
  s.fn(s.arg);
  return NULL;
}

int mt__exec_spawn(void (*fn)(void *arg), void *arg, const char *name) {
  start_t *s = malloc(sizeof *s);
  if (!s) return MT_ENOMEM;
  s->fn = fn;
  s->arg = arg;
  mt_thread_opts_t o = {.name = name, .daemon = true, .daemon_set = true};
  sigset_t all, old;
  sigfillset(&all);
  mt__sys_sigmask(SIG_BLOCK, &all, &old);
  mt_thread_t *t = mt_thread_spawn(trampoline, s, &o);
  int e = errno;
  mt__sys_sigmask(SIG_SETMASK, &old, NULL);
  if (!t) {
    free(s);
    return e ? -e : MT_EAGAIN;
  }
  mt_thread_free(t); /* detached: the pool counts its workers itself */
  return 0;
}
