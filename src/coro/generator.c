/* generator.c - Python's generators on greenlets.
 *
 * A generator is a greenlet running fn(self, arg).  next/send re-parent it
 * to the caller and switch to it; yield switches back to that parent with
 * the value.  When fn returns, the greenlet dies and its return value goes to
 * the same parent, so the caller tells "yielded" from "returned" by the
 * greenlet's state.  close throws MT_ECANCELLED (GeneratorExit) at the
 * pending yield.  `running` is set while the caller waits in a switch to
 * the generator, which catches a generator that calls next on itself (or
 * is resumed through another greenlet it switched to). */
#include "multitask/generator.h"
#include "coro/coro.h"
#include "core/core.h"

#include <errno.h>

struct mt_generator {
  mt_greenlet_t *g;
  void *(*fn)(mt_generator_t *self, void *arg);
  void *arg;
  bool running; /* between a resume's switch and its return */
  bool closed;  /* returned, closed, or thrown into before it started */
  void *entered; /* what it yielded at mt_generator_scope_begin */
};

static void *gen_main(void *arg, void *value) {
  (void)value; /* the first send is NULL */
  mt_generator_t *gen = arg;
  return gen->fn(gen, gen->arg);
}

mt_generator_t *mt_generator_new(void *(*fn)(mt_generator_t *self, void *arg), void *arg,
                                 const mt_greenlet_opts_t *opts) {
  if (!fn) {
    errno = EINVAL;
    return NULL;
  }
  mt_generator_t *gen = mt__calloc(1, sizeof *gen);
  if (!gen) {
    errno = ENOMEM;
    return NULL;
  }
  gen->g = mt__greenlet_new(gen_main, gen, NULL, opts, "Generator");
  if (!gen->g) {
    int e = errno;
    mt__free(gen);
    errno = e;
    return NULL;
  }
  gen->g->gen = gen;
  gen->fn = fn;
  gen->arg = arg;
  return gen;
}

/* Checks the caller: 0, or the code to return. */
static int check(mt_generator_t *gen) {
  if (!gen) return MT_EINVAL;
  mt__coro_thread_t *t = mt__coro_thread();
  if (!t) return MT_ENOMEM;
  if (gen->g->thread != t) return MT_EPERM;
  if (gen->running) return MT_EBUSY;
  return 0;
}

static int resume(mt_generator_t *gen, void *value, int code, void **out) {
  if (out) *out = NULL;
  int r = check(gen);
  if (r) return r;
  if (gen->closed) return MT_ECLOSED;
  if (!gen->g->started && code == 0 && value) return MT_EINVAL; /* a non-None value sent before the first next */
  mt__greenlet_reparent(gen->g, mt__coro_current());
  gen->running = true;
  void *v = NULL;
  r = code ? mt_greenlet_throw(gen->g, code, &v) : mt_greenlet_switch(gen->g, value, &v);
  gen->running = false;
  if (out) *out = v;
  if (gen->g->state == MT__G_DEAD) {
    gen->closed = true;
    return MT_ECLOSED; /* StopIteration, *out = the return value */
  }
  return r;
}

int mt_generator_next(mt_generator_t *gen, void **out) { return resume(gen, NULL, 0, out); }

int mt_generator_send(mt_generator_t *gen, void *value, void **out) {
  return resume(gen, value, 0, out);
}

int mt_generator_throw(mt_generator_t *gen, int code, void **out) {
  if (code >= 0) {
    if (out) *out = NULL;
    return MT_EINVAL;
  }
  return resume(gen, NULL, code, out);
}

int mt_generator_yield(mt_generator_t *gen, void *value, void **sent) {
  if (sent) *sent = NULL;
  if (!gen) return MT_EINVAL;
  if (mt__coro_current() != gen->g) return MT_EPERM;
  return mt_greenlet_switch(gen->g->parent, value, sent);
}

int mt_generator_close(mt_generator_t *gen) {
  int r = check(gen);
  if (r) return r;
  if (gen->closed) return 0;
  if (!gen->g->started) { /* never runs */
    gen->closed = true;
    mt_greenlet_kill(gen->g);
    return 0;
  }
  r = resume(gen, NULL, MT_ECANCELLED, NULL);
  return r == MT_ECLOSED ? 0 : MT_EBUSY; /* it yielded instead of returning */
}

int mt_generator_is_closed(mt_generator_t *gen) {
  if (!gen) return MT_EINVAL;
  return gen->closed;
}

void mt_generator_free(mt_generator_t *gen) {
  if (!gen || gen->running) return; /* from inside itself: not allowed, ignored */
  mt_greenlet_t *cur = mt__coro_current();
  if (cur && cur->thread == gen->g->thread) mt_generator_close(gen);
  mt_greenlet_free(gen->g); /* kills it if close could not end it */
  mt__free(gen);
}

/* contextlib.contextmanager: enter = run to the first yield. */
mt_generator_t *mt_generator_scope_begin(mt_generator_t *gen) {
  void *v;
  if (mt_generator_next(gen, &v) != 0) return NULL; /* didn't yield: body skipped */
  gen->entered = v;
  return gen;
}

void *mt_generator_scope_value(const mt_generator_t *gen) { return gen ? gen->entered : NULL; }

/* exit = resume it once so it runs its clean-up; a second yield is closed. */
void mt_generator_scope_end(mt_generator_t **genp) {
  mt_generator_t *gen = *genp;
  if (!gen) return;
  *genp = NULL;
  gen->entered = NULL;
  if (mt_generator_next(gen, NULL) == 0) mt_generator_close(gen); /* didn't stop */
}
