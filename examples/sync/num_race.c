/* The notes' unlocked counters.
 *  part 0, 001_a745250b55c36603.txt, section 9.3.2, 6 "线程是数据共享的": n =
 *    100; 100 threads each do n -= 1 once; main joins them and prints n: 0,
 *    because threads share the global (the notes add: do not change globals
 *    in threads lightly).  Here each thread does one atomic decrement, so
 *    the 0 is certain: a plain `n -= 1` is a read-modify-write that two
 *    cores can interleave, and under load one such update was lost (the
 *    check printed 1), where CPython's GIL makes the notes' 0 what one
 *    sees.  Parts 1 and 2 below show what unguarded updates do.
 * 004_5c065b13d5e62cce.txt:
 *  part 1, section "先执行 并发线程再执行 下一个主线程": 30 threads each
 *    sleep(1), print "hi i am thread N ...lalala" and do NUM += 1; main
 *    joins them and prints "----> NUM".  Without a lock NUM ends below 30;
 *    with a Lock around print + NUM += 1 it is exactly 30.
 *  part 2, section "Lock、Rlock类" 例子一 / 例子二: 10 threads sleep(1) then
 *    gl_num += 1 and print it, main prints "main thread stop" at once; then
 *    the same under an RLock held across a sleep: 1 .. 10 in order.  A
 *    thread's print waits (up to 30 s) for main's line: the notes' order
 *    rests on the sleep, and a starved machine could take longer than it
 *    to start the ten threads (tests/scenarios saw a number first).
 * Waits are the notes' seconds divided by 10 (times MT_EXAMPLE_SCALE).
 *
 * DELIBERATE: each `+= 1` reads the global, yields for 5 ms (CPython's
 * switch interval: a thread switch may fall between the bytecodes that load
 * and store the global) and then writes the value it read plus one.  The
 * threads wake from the same sleep within microseconds of one another, so
 * several of them read the same value and all but one of their increments
 * are lost, on every run.  Without the yield a C `+= 1` takes a nanosecond
 * and the threads, waking a few microseconds apart, would rarely collide:
 * the race would be there but would almost never show.  The locked runs
 * take the same yield inside the lock and count exactly. */
#include <multitask.h>
#include <stdio.h>

#include "example.h"

static volatile int NUM, gl_num, n = 100;
static mt_lock_t *lock;
static mt_rlock_t *rlock;
static mt_event_t *main_spoke; /* part 2: main printed "main thread stop" */

static void plus_one(volatile int *global) {
  int read = *global; /* LOAD_GLOBAL */
  struct timespec switch_interval = {0, 5 * 1000 * 1000};
  nanosleep(&switch_interval, NULL); /* the deliberate thread switch */
  *global = read + 1; /* STORE_GLOBAL */
}

/* part 0 */
static void *func(void *arg) {
  (void)arg;
  __atomic_fetch_sub(&n, 1, __ATOMIC_RELAXED); /* global n; n -= 1 */
  return NULL;
}

/* part 1 */
static void *run(void *arg) {
  long num = (long)arg;
  ex_sleep(0.1); /* time.sleep(1) */
  printf("hi i am thread %ld ...lalala\n", num);
  plus_one(&NUM);
  return NULL;
}

static void *run_locked(void *arg) {
  long num = (long)arg;
  mt_lock_acquire(lock, MT_FOREVER); /* lock.acquire() */
  printf("hi i am thread %ld ...lalala\n", num);
  plus_one(&NUM);
  mt_lock_release(lock); /* lock.release() */
  ex_sleep(0.1);
  return NULL;
}

/* part 2 */
static void *show(void *arg) {
  (void)arg;
  ex_sleep(0.1);
  plus_one(&gl_num);
  mt_event_wait(main_spoke, 30);
  printf("%d\n", gl_num);
  return NULL;
}

static void *func_rlock(void *arg) {
  (void)arg;
  mt_rlock_acquire(rlock, MT_FOREVER);
  plus_one(&gl_num);
  ex_sleep(0.05); /* time.sleep(1), divided by 20 here: 10 of them in a row */
  printf("%d\n", gl_num);
  mt_rlock_release(rlock);
  return NULL;
}

/* Starts n threads of fn, then (like the notes) prints `after_start` if
 * given and joins them all. */
static void start_join(int n, void *(*fn)(void *), const char *after_start) {
  mt_thread_t *t[100];
  for (long i = 0; i < n; i++) t[i] = mt_thread_spawn(fn, (void *)i, NULL);
  if (after_start) {
    printf("%s\n", after_start);
    mt_event_set(main_spoke); /* part 2's threads print after this line */
  }
  for (int i = 0; i < n; i++) mt_thread_join(t[i], MT_FOREVER, NULL), mt_thread_free(t[i]);
}

int main(void) {
  ex_init();
  lock = mt_lock_new(0);
  rlock = mt_rlock_new(0);
  main_spoke = mt_event_new(0);

  start_join(100, func, NULL); /* 100 threads: n -= 1 */
  printf("%d\n", n);          /* print(n) */

  printf("30 threads, NUM += 1 without a lock:\n");
  start_join(30, run, NULL);
  int unlocked = NUM;
  printf("----> %d\n", unlocked);
  printf("30 threads, NUM += 1 under a Lock:\n");
  NUM = 0;
  start_join(30, run_locked, NULL);
  int locked = NUM;
  printf("----> %d\n", locked);

  printf("10 threads, gl_num += 1 without a lock:\n");
  start_join(10, show, "main thread stop");
  int g_unlocked = gl_num;
  printf("10 threads, gl_num += 1 under an RLock:\n");
  gl_num = 0;
  start_join(10, func_rlock, NULL);
  int g_locked = gl_num;

  printf("verdict: without a lock %d of 30 and %d of 10 increments survived (%s); "
         "with a lock %d of 30 and %d of 10\n",
         unlocked, g_unlocked, unlocked < 30 && g_unlocked < 10 ? "lost updates" : "none lost",
         locked, g_locked);
  mt_event_free(main_spoke);
  mt_rlock_free(rlock);
  mt_lock_free(lock);
  return locked == 30 && g_locked == 10 ? 0 : 1;
}
