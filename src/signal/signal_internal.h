/* signal_internal.h - what other parts ask of src/signal/. */
#ifndef MT_SIGNAL_INTERNAL_H
#define MT_SIGNAL_INTERNAL_H

/* The dispatcher's eventfd in this process, -1 if none: a daemon closing
 * "every other descriptor" must keep it. */
int mt__signal_fd(void);
/* The calling thread's interrupt eventfd (mt_signal_set_interruptible),
 * -1 if it did not opt in: the daemon must keep that one too. */
int mt__signal_intr_fd(void);

#endif
