/* The notes' Lock example: 000_d8a1bcc7e9496ef7.txt, section 9 "线程间通信",
 * (1) "互斥锁": two threads change one global money 1,000,000 times each;
 * under a Lock the notes print 0.  Here one thread adds 1 and the other
 * subtracts 1, a million times each: without a lock updates are lost and
 * the total drifts away from 0; with the lock it is exactly 0.  (The notes'
 * order(n) adds n and subtracts it again in one call, so a lost update
 * shows only when a switch falls between its two statements; the +/- form
 * makes every lost update visible in the total.)
 *
 * The race is made to show on EVERY run; two things are deliberate:
 *  - the threads start their loops together (a barrier): a C thread does a
 *    million additions in about 2 ms, less than it may take to start the
 *    second thread, so without it the first could finish before the second
 *    begins (Python's loop takes about 0.3 s: there they overlap anyway);
 *  - every 1000th read-modify-write switches to the other thread between
 *    its read and its write, as CPython may switch threads at the bytecode
 *    boundary between LOAD_GLOBAL and STORE_GLOBAL (its switch interval is
 *    5 ms): it yields the CPU until the other thread has made progress
 *    (unless the other is itself at such a point, or done).  On a busy
 *    machine the two threads could otherwise run one after the other, a
 *    whole time slice each, and never interleave; with the switch the
 *    other thread runs while a stale value is held, and the write that
 *    follows wipes out what the other thread did meanwhile.
 * The locked run yields at the same points, inside the lock (the other
 * thread waits for the lock meanwhile): its total is exact. */
#include <multitask.h>
#include <sched.h>
#include <stdio.h>

#include "example.h"

#define N 1000000
static volatile long money;
static mt_lock_t *lock;
static mt_barrier_t *gate;
static long progress[2];      /* iterations done by each thread */
static int at_switch[2], done[2];

struct my_thread {
  long n; /* +1 or -1 */
  int me; /* 0 or 1 */
  bool with_lock;
};

/* The deliberate thread switch: let the other thread run until it made
 * progress, unless it is itself switching or done (or 1 s passed). */
static void thread_switch(int me) {
  int other = !me;
  long seen = __atomic_load_n(&progress[other], __ATOMIC_SEQ_CST);
  __atomic_store_n(&at_switch[me], 1, __ATOMIC_SEQ_CST);
  for (double give_up = ex_now() + 1.0;
       __atomic_load_n(&progress[other], __ATOMIC_SEQ_CST) == seen &&
       !__atomic_load_n(&at_switch[other], __ATOMIC_SEQ_CST) &&
       !__atomic_load_n(&done[other], __ATOMIC_SEQ_CST) && ex_now() < give_up;)
    sched_yield();
  __atomic_store_n(&at_switch[me], 0, __ATOMIC_SEQ_CST);
}

static void *run(void *arg) {
  struct my_thread *self = arg;
  mt_barrier_wait(gate, MT_FOREVER); /* both loops start together */
  for (long i = 0; i < N; i++) {
    if (self->with_lock) mt_lock_acquire(lock, MT_FOREVER); /* lock.acquire() */
    long read = money;                          /* LOAD_GLOBAL money */
    if (i % 1000 == 0) { /* the deliberate switch */
      if (self->with_lock)
        sched_yield(); /* the other thread waits for the lock: cannot progress */
      else
        thread_switch(self->me);
    }
    money = read + self->n;                     /* STORE_GLOBAL money */
    if (self->with_lock) mt_lock_release(lock); /* lock.release() */
    __atomic_store_n(&progress[self->me], i + 1, __ATOMIC_RELAXED);
  }
  __atomic_store_n(&done[self->me], 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static long once(bool with_lock) {
  money = 0;
  progress[0] = progress[1] = 0;
  done[0] = done[1] = 0;
  struct my_thread add = {+1, 0, with_lock}, sub = {-1, 1, with_lock};
  mt_thread_t *t1 = mt_thread_spawn(run, &add, NULL), *t2 = mt_thread_spawn(run, &sub, NULL);
  mt_thread_join(t1, MT_FOREVER, NULL);
  mt_thread_join(t2, MT_FOREVER, NULL);
  mt_thread_free(t1);
  mt_thread_free(t2);
  return money;
}

int main(void) {
  ex_init();
  lock = mt_lock_new(0);
  gate = mt_barrier_new(2, NULL, NULL, MT_FOREVER, 0);
  long without = once(false);
  printf("without a lock: money = %ld (%s)\n", without,
         without != 0 ? "not 0: updates were lost, the race" : "0: no update lost this time");
  long with = once(true);
  printf("with a lock: money = %ld\n", with); /* the notes' result: 0 */
  mt_barrier_free(gate);
  mt_lock_free(lock);
  return with == 0 ? 0 : 1;
}
