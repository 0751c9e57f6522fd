/* The notes' semaphores:
 *  part 1: 000_d8a1bcc7e9496ef7.txt, section 9 (2) "信号量": Semaphore(3),
 *    5 threads foo(tid): `with sema:` print "tid acquire sema", sleep(1);
 *    then print "tid release sema".  Three are inside at once.
 *  part 2: 004_5c065b13d5e62cce.txt, section "信号量 semaphore" ("five
 *    stalls, five keys"): BoundedSemaphore(5), 30 threads run(n): acquire,
 *    sleep(1), print "run the thread :n", release; then "-----all thread
 *    done-----" and "----> 0".  Five keys are out at once.  Returning a
 *    sixth key is refused (Python's ValueError).
 * The workers hold the semaphore for the notes' sleep(1) divided by 10
 * (times MT_EXAMPLE_SCALE): long enough that the other threads, started
 * microseconds apart, queue up behind the full semaphore.  Each part prints
 * the most threads that were inside at once. */
#include <multitask.h>
#include <stdio.h>

#include "example.h"

static mt_sem_t *sema;
static int inside, max_inside;

static void enter(void) {
  int now = __atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
  int m = __atomic_load_n(&max_inside, __ATOMIC_SEQ_CST);
  while (now > m && !__atomic_compare_exchange_n(&max_inside, &m, now, false, __ATOMIC_SEQ_CST,
                                                 __ATOMIC_SEQ_CST)) {
  }
}

static void leave(void) { __atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST); }

static void *foo(void *arg) {
  long tid = (long)arg;
  mt_sem_acquire(sema, MT_FOREVER); /* with sema: */
  enter();
  printf("%ld acquire sema\n", tid);
  ex_sleep(0.1); /* time.sleep(1) */
  leave();
  mt_sem_release(sema, 1);
  printf("%ld release sema\n", tid);
  return NULL;
}

static void *run(void *arg) {
  long n = (long)arg;
  mt_sem_acquire(sema, MT_FOREVER); /* semaphore.acquire() */
  enter();
  ex_sleep(0.1); /* time.sleep(1) */
  printf("run the thread :%ld\n", n);
  leave();
  mt_sem_release(sema, 1); /* semaphore.release() */
  return NULL;
}

static int start_join(int n, void *(*fn)(void *)) {
  mt_thread_t *t[30];
  max_inside = 0;
  for (long i = 0; i < n; i++) t[i] = mt_thread_spawn(fn, (void *)i, NULL);
  for (int i = 0; i < n; i++) mt_thread_join(t[i], MT_FOREVER, NULL), mt_thread_free(t[i]);
  return max_inside;
}

int main(void) {
  ex_init();
  sema = mt_sem_new(3, 0); /* Semaphore(3) */
  int max3 = start_join(5, foo);
  printf("Semaphore(3): at most %d threads were inside at once\n", max3);
  mt_sem_free(sema);

  sema = mt_sem_new_bounded(5, 0); /* BoundedSemaphore(5) */
  int max5 = start_join(30, run);
  printf("-----all thread done-----\n");
  printf("----> %d\n", 0); /* the notes print num, never changed */
  printf("BoundedSemaphore(5): at most %d keys were out at once\n", max5);
  int r = mt_sem_release(sema, 1);
  printf("returning a sixth key: %s (%s)\n", mt_err_name(r), mt_strerror(r));
  mt_sem_free(sema);
  return max3 <= 3 && max5 <= 5 && r == MT_EOVERFLOW ? 0 : 1;
}
