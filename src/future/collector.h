/* collector.h - watchers that wait() and as_completed() hang on futures.
 * See wait.c. */
#ifndef MT_FUTURE_COLLECTOR_H
#define MT_FUTURE_COLLECTOR_H

#include <stdbool.h>
#include "future/future_internal.h"

/* Called by notify() with f->lock held: tells every watcher of f that it
 * is done and unlinks them all. */
void mt__watch_notify_all(mt_future_t *f);
/* Under f->lock: sets LISTENERS unless f is done (false then). */
bool mt__future_listen_locked(mt_future_t *f);

#endif
