/* pipe_internal.h - what tests may look at inside a connection. */
#ifndef MT_PIPE_INTERNAL_H
#define MT_PIPE_INTERNAL_H

#include <stddef.h>

#include "multitask/pipe.h"

/* Capacity in bytes of the connection's receive buffer (0 when none). */
size_t mt__conn_rbuf_cap(const mt_conn_t *c);
/* The descriptor the end sends on (a duplex end's differs from
 * mt_conn_fileno, which receives); -1 for a receive-only end. */
int mt__conn_send_fd(const mt_conn_t *c);

#endif
