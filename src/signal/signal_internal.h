/* signal_internal.h - what other parts ask of src/signal/. */
#ifndef MT_SIGNAL_INTERNAL_H
#define MT_SIGNAL_INTERNAL_H

/* The dispatcher's eventfd in this process, -1 if none: a daemon closing
 * "every other descriptor" must keep it. */
int mt__signal_fd(void);

#endif
