/* signal_internal.h - what other parts ask of src/signal/. */
#ifndef MT_SIGNAL_INTERNAL_H
#define MT_SIGNAL_INTERNAL_H

/* The dispatcher's eventfd in this process, -1 if none: a daemon closing
 * "every other descriptor" must keep it. */
int mt__signal_fd(void);
/* The calling thread's interrupt eventfd (mt_signal_set_interruptible),
 * -1 if it did not opt in: the daemon must keep that one too. */
int mt__signal_intr_fd(void);
/* Marks the calling thread as one of the library's own (its workers, the
 * timer thread, the dispatcher): user code running there (a task, a
 * callback, a handler) cannot opt it in (MT_EPERM), since it runs the
 * next user's code too. */
void mt__signal_library_thread(void);

#endif
