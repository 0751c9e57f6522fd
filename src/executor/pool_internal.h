/* pool_internal.h - what the executor files share. */
#ifndef MT_EXECUTOR_POOL_INTERNAL_H
#define MT_EXECUTOR_POOL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "multitask/executor.h"

/* Starts a detached daemon worker thread (mt_thread_spawn) running
 * fn(arg), named `name` (the kernel keeps the first 15 bytes).  0 or a
 * negative code. */
int mt__exec_spawn(void (*fn)(void *arg), void *arg, const char *name);

/* Tests: true makes a thread-pool worker near its submitter move off its
 * CPU whatever the machine's load (thread_pool.c near_move), so the move
 * can be checked on a busy machine too. */
void mt__pool_near_move_always(bool on);

/* Tests: while on, a thread-pool worker that just opened its mailbox
 * (became the idle spinner's owner) waits there, as if preempted, until
 * turned off; mt__pool_owners_held counts the workers that got there
 * (the word, which is woken at each: tests wait on it). */
void mt__pool_hold_owner(bool on);
uint32_t *mt__pool_owners_held(void);

/* Tests: how many tasks a thread pool's submit handed to a spinning worker
 * through its mailbox (thread_pool.c, "the mailbox"). */
uint64_t mt__pool_handoffs(mt_executor_t *ex);

struct mt_executor {
  const mt_executor_ops_t *ops;
  void *self;
};

#endif
