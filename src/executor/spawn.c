/* The one place executor workers are started.  Until the thread part
 * (multitask/thread.h) lands, workers are detached pthreads; switching to
 * mt_thread_spawn changes only this file. */
#include "executor/pool_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  void (*fn)(void *arg);
  void *arg;
  char name[16];
} start_t;

static void *trampoline(void *p) {
  start_t s = *(start_t *)p;
  free(p);
  pthread_setname_np(pthread_self(), s.name);
  s.fn(s.arg);
  return NULL;
}

int mt__exec_spawn(void (*fn)(void *arg), void *arg, const char *name) {
  start_t *s = malloc(sizeof *s);
  if (!s) return MT_ENOMEM;
  s->fn = fn;
  s->arg = arg;
  snprintf(s->name, sizeof s->name, "%s", name);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* Workers never take process signals meant for the main thread. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pthread_t t;
  int e = pthread_create(&t, &attr, trampoline, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (e) {
    free(s);
    return -e;
  }
  return 0;
}
