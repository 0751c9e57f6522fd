/* pipe_internal.h - what tests may look at inside a connection. */
#ifndef MT_PIPE_INTERNAL_H
#define MT_PIPE_INTERNAL_H

#include <stddef.h>

#include "multitask/pipe.h"

/* Capacity in bytes of the connection's receive buffer (0 when none). */
size_t mt__conn_rbuf_cap(const mt_conn_t *c);

#endif
