/* Signal round trip: kill(self, SIGUSR1) -> the handler runs -> it
 * replies (a semaphore post the sender waits for).
 *   ours:  mt_signal_signal; the handler runs on the library's dispatcher
 *          thread in normal context.
 *   raw sigaction + self-pipe: the same architecture written by hand (the
 *          async-signal-safe handler writes a byte to a pipe; a thread
 *          reads it and runs the body in normal context).
 *   raw in-handler reply (reference): the reply is posted from the
 *          sigaction handler itself, so only async-signal-safe work is
 *          allowed; not the same contract, shown for scale.
 * Checksum: the number of handler runs. */
#include <multitask.h>

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static long n_trips;
static sem_t reply;
static long runs;
static int selfpipe[2];

static void ours_handler(int sig, void *arg) {
  (void)sig;
  (void)arg;
  runs++;
  sem_post(&reply);
}

static void run_ours(void *arg, mtb_run_t *r) {
  (void)arg;
  mt_signal_signal(SIGUSR1, ours_handler, NULL);
  runs = 0;
  mtb_start(r);
  for (long i = 0; i < n_trips; i++) {
    mt_signal_kill(getpid(), SIGUSR1);
    sem_wait(&reply);
  }
  mtb_stop(r);
  mt_signal_signal(SIGUSR1, MT_SIG_DFL, NULL);
  r->ops = n_trips, r->sum = (uint64_t)runs;
}

static void raw_handler(int sig) {
  (void)sig;
  char c = 1;
  int e = errno;
  (void)!write(selfpipe[1], &c, 1);
  errno = e;
}

static void *pipe_reader(void *arg) {
  (void)arg;
  char c;
  while (read(selfpipe[0], &c, 1) == 1) {
    if (c == 0) break;
    runs++;
    sem_post(&reply);
  }
  return NULL;
}

static void run_selfpipe(void *arg, mtb_run_t *r) {
  (void)arg;
  if (pipe(selfpipe)) return;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* the reader takes no signal */
  pthread_t t;
  pthread_create(&t, NULL, pipe_reader, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = raw_handler;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  runs = 0;
  mtb_start(r);
  for (long i = 0; i < n_trips; i++) {
    kill(getpid(), SIGUSR1);
    sem_wait(&reply);
  }
  mtb_stop(r);
  char z = 0;
  (void)!write(selfpipe[1], &z, 1);
  pthread_join(t, NULL);
  signal(SIGUSR1, SIG_DFL);
  close(selfpipe[0]);
  close(selfpipe[1]);
  r->ops = n_trips, r->sum = (uint64_t)runs;
}

static void inhandler(int sig) {
  (void)sig;
  runs++;
  sem_post(&reply); /* async-signal-safe */
}

static void run_inhandler(void *arg, mtb_run_t *r) {
  (void)arg;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = inhandler;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  runs = 0;
  mtb_start(r);
  for (long i = 0; i < n_trips; i++) {
    kill(getpid(), SIGUSR1);
    sem_wait(&reply);
  }
  mtb_stop(r);
  signal(SIGUSR1, SIG_DFL);
  r->ops = n_trips, r->sum = (uint64_t)runs;
}

int main(void) {
  sem_init(&reply, 0, 0);
  n_trips = (long)(20000 * mtb_scale());
  if (n_trips < 100) n_trips = 100;
  mtb_row_t row = {"signal round trip (handler in normal context)", "us/op", false, 1e6,
                   (uint64_t)n_trips};
  mtb_side_t sides[] = {{"ours", run_ours, NULL},
                        {"raw sigaction+self-pipe thread", run_selfpipe, NULL}};
  mtb_compare(&row, sides, 2);
  double ours = mtb_last_ours();
  mtb_side_t ref[] = {{"raw in-handler reply (async-signal-safe only)", run_inhandler, NULL}};
  mtb_row_t row2 = {"signal round trip, in-handler reference", "us/op", false, 1e6,
                    (uint64_t)n_trips};
  mtb_compare(&row2, ref, 1);
  mtb_reference_row(row.bench, row.unit, false, ours, "raw in-handler reply (reference)",
                    mtb_last_ours());
  return 0;
}
