/* multitask/generator.h - Python's generators: a function that yields
 * values to whoever calls next or send, each on its own stack.
 *
 *   static void *consumer(mt_generator_t *self, void *arg) {
 *     void *n = NULL;
 *     while (mt_generator_yield(self, reply, &n) == 0 && n) { ... }
 *     return NULL;                       // the StopIteration value
 *   }
 *   mt_generator_t *c = mt_generator_new(consumer, NULL, NULL);
 *   mt_generator_send(c, NULL, NULL);    // start it (Python: send(None))
 *   mt_generator_send(c, item, &reply);
 *   mt_generator_close(c);               // consumer sees MT_ECANCELLED
 *   mt_generator_free(c);
 *
 * A generator runs on a greenlet whose parent is set, at every next/send,
 * to the caller: yield goes back to it.  It belongs to the thread that made
 * it (MT_EPERM from another).  Python -> C: next(g) -> mt_generator_next,
 * g.send(v) -> mt_generator_send, g.throw -> mt_generator_throw, g.close() ->
 * mt_generator_close (GeneratorExit is MT_ECANCELLED), StopIteration ->
 * MT_ECLOSED (with the return value in *out), `for v in g` ->
 * MT_GENERATOR_FOR(v, g). */
#ifndef MULTITASK_GENERATOR_H
#define MULTITASK_GENERATOR_H

#include "multitask/greenlet.h"
#include "multitask/sync.h" /* MT__WITH, the one scope pattern */

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

typedef struct mt_generator mt_generator_t;

/* A generator that will run fn(self, arg) at the first next/send.  opts:
 * the greenlet options (name, stack size); NULL for the defaults.  NULL with
 * errno EINVAL (fn NULL, bad opts), ENOMEM. */
mt_generator_t *mt_generator_new(void *(*fn)(mt_generator_t *self, void *arg), void *arg,
                                 const mt_greenlet_opts_t *opts);
/* Closes it if it is suspended at a yield (it sees MT_ECANCELLED there and
 * runs its cleanup, as Python does when it collects one), then releases it.
 * From another thread it is released without unwinding.  NULL does nothing. */
void mt_generator_free(mt_generator_t *gen);

/* Inside the generator: hands `value` to the caller of next/send and
 * suspends.  0 and *sent = the value the next send passes (NULL for next),
 * MT_ECANCELLED when the generator is being closed (it should clean up and
 * return), or the code given to mt_generator_throw.  sent may be NULL.
 * MT_EPERM when gen is not the one running, MT_EINVAL for NULL. */
int mt_generator_yield(mt_generator_t *gen, void *value, void **sent);

/* Runs the generator to its next yield: 0 and *out = the yielded value.
 * MT_ECLOSED when it returned (*out = its return value, Python's
 * StopIteration.value) or is closed (*out = NULL); MT_EBUSY when called
 * from inside the generator itself ("already executing"); MT_EPERM from
 * another thread; MT_EINVAL for NULL.  out may be NULL. */
int mt_generator_next(mt_generator_t *gen, void **out);
/* Like next, with `value` becoming the result of the pending yield.  The
 * first send must pass NULL (Python's send(None)), else MT_EINVAL. */
int mt_generator_send(mt_generator_t *gen, void *value, void **out);
/* Makes the pending yield return `code` (negative MT_E* code, else
 * MT_EINVAL); then as next.  Not started yet: it is closed without running,
 * MT_ECLOSED. */
int mt_generator_throw(mt_generator_t *gen, int code, void **out);
/* Python's close(): a suspended generator sees MT_ECANCELLED at its yield
 * and must return; 0 when it did (or it was not started, or is already
 * finished), MT_EBUSY when it yielded again instead (Python's "generator
 * ignored GeneratorExit"; it stays suspended).  MT_EBUSY from inside it. */
int mt_generator_close(mt_generator_t *gen);
/* 1 once it returned or was closed, 0 before; MT_EINVAL for NULL. */
int mt_generator_is_closed(mt_generator_t *gen);

/* `for v in gen`: runs the body with each yielded value in `void *v`. */
#define MT_GENERATOR_FOR(v, gen) for (void *v = NULL; mt_generator_next((gen), &v) == 0;)

/* ---- contextlib.contextmanager ---------------------------------------------
 * MT_WITH_GENERATOR(v, gen) { ... } is Python's `with cm() as v:` for a
 * generator written as a @contextmanager: gen runs to its first yield (the
 * set-up), the body runs with `void *v` = the yielded value, and however the
 * body is left (end, break, return, goto) gen is resumed once, its yield
 * returning 0, so it runs its clean-up and returns.  A generator that
 * yields again there is closed (it sees MT_ECANCELLED; Python raises
 * "generator didn't stop").  One that ends or fails before yielding skips
 * the body (Python: "generator didn't yield").  C has no exceptions, so
 * the yield never returns an error for the body's sake.  gen stays the
 * caller's: free it after the scope.  The begin/value/end functions are what
 * the macro expands to. */
mt_generator_t *mt_generator_scope_begin(mt_generator_t *gen);
void *mt_generator_scope_value(const mt_generator_t *gen);
void mt_generator_scope_end(mt_generator_t **genp);
#define MT_WITH_GENERATOR(v, gen)                                                      \
  MT__WITH(mt_generator_t, mt_generator_scope_begin, mt_generator_scope_end, gen)     \
  for (void *v __attribute__((unused)) = mt_generator_scope_value(MT__CAT(mt__with_, __LINE__)), \
            *MT__CAT(mt__once_, __LINE__) = (void *)1;                                \
       MT__CAT(mt__once_, __LINE__) != NULL; MT__CAT(mt__once_, __LINE__) = NULL)

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
