/* interrupt.c - a blocked library call interrupted by a signal (opt-in).
 *
 * Python retries a call interrupted by a signal (PEP 475) unless the
 * handler raises, and only the main thread sees that.  Here a thread opts
 * in with mt_signal_set_interruptible(1): after a handler ran, its blocked
 * library wait returns MT_EINTR (or its next one, if it was busy), so the
 * classic loop "until the handler set `stop`, take the next job" cannot
 * miss the signal.  The handler itself runs on the library's dispatcher.
 * A producer thread (not opted in: never interrupted) queues three jobs,
 * waits until they are done, then sends SIGINT to the process. */
#include <multitask.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_bool stop;
static mt_queue_t *jobs;
static mt_sem_t *done;

static void on_int(int sig, void *arg) {
  (void)arg;
  printf("handler: %s, asking the worker to stop\n", mt_signal_name(sig));
  fflush(stdout);
  atomic_store(&stop, true);
}

static void *producer(void *arg) {
  (void)arg;
  for (long i = 1; i <= 3; i++) mt_queue_put(jobs, (void *)i, MT_FOREVER);
  mt_sem_acquire(done, MT_FOREVER); /* the three are done: the worker blocks again */
  mt_signal_kill(getpid(), SIGINT);
  return NULL;
}

int main(void) {
  jobs = mt_queue_new(0);
  done = mt_sem_new(0, 0);
  if (!jobs || !done || mt_signal_signal(SIGINT, on_int, NULL) != 0) return 1;
  if (mt_signal_set_interruptible(1) != 0) return 1; /* this (main) thread only */
  mt_thread_t *t = mt_thread_spawn(producer, NULL, NULL);
  if (!t) return 1;
  long n = 0;
  while (!atomic_load(&stop)) {
    void *job;
    int r = mt_queue_get(jobs, &job, MT_FOREVER);
    if (r == MT_EINTR) {
      printf("worker: mt_queue_get returned MT_EINTR (%s)\n", mt_strerror(r));
      continue; /* the loop re-checks `stop` */
    }
    if (r != 0) return 1;
    printf("worker: job %ld\n", (long)job);
    if (++n == 3) mt_sem_release(done, 1);
  }
  printf("worker: stopped after %ld jobs\n", n);
  mt_thread_join(t, MT_FOREVER, NULL);
  mt_thread_free(t);
  mt_signal_signal(SIGINT, MT_SIG_DFL, NULL);
  mt_queue_free(jobs);
  mt_sem_free(done);
  return 0;
}
