/* The notes' multiprocessing Semaphore: 000_d8a1bcc7e9496ef7.txt, section 8
 * (4) "信号量": sem = Semaphore(3) (at most three processes in the event at
 * once); a process foo says it wants to run, acquires, sleeps 3 s, prints
 * the time slept and that it is done, and releases.  The notes run one such
 * process; the semaphore lives in shared memory (MT_SHARED) so the child
 * forked after it uses the same one.  Sleep divided by 10 (times
 * MT_EXAMPLE_SCALE). */
#include <multitask.h>
#include <stdio.h>
#include <unistd.h>

#include "example.h"

static mt_sem_t *sem;

static int foo(void *arg) {
  (void)arg;
  printf("process %d wants to run the event\n", (int)getpid());
  mt_sem_acquire(sem, MT_FOREVER); /* sem.acquire(): one less */
  printf("process %d starts the operation\n", (int)getpid());
  double start = ex_now();
  ex_sleep(0.3); /* time.sleep(3) */
  double end = ex_now();
  printf("slept %.4f s\n", end - start);
  printf("process %d finished the operation\n", (int)getpid());
  mt_sem_release(sem, 1); /* sem.release(): one more */
  return 0;
}

int main(void) {
  ex_init();
  sem = mt_sem_new(3, MT_SHARED); /* Semaphore(3) */
  mt_process_t *p = mt_process_new(foo, NULL, NULL);
  mt_process_start(p);
  mt_process_join(p, MT_FOREVER);
  int code = -1;
  mt_process_exitcode(p, &code);
  printf("semaphore value after: %d\n", mt_sem_value(sem)); /* sem.get_value() */
  mt_process_free(p);
  mt_sem_free(sem);
  return code == 0 ? 0 : 1;
}
