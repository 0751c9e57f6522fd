/* Cross-process queue: 64-byte messages from a child process to the
 * parent, ours vs POSIX message queues (Python's multiprocessing.SimpleQueue
 * as a reference), alternating run by run.  Message i carries i in its first 8
 * bytes; the parent checks the sum.  The child is reaped inside the timed
 * part, so its CPU counts (RUSAGE_CHILDREN).
 * Equal capacity: 10 slots on both sides (10 is the msg_max an unprivileged
 * process may ask of mq here).  At 1024 slots ours is compared with ZeroMQ
 * and nng in bench_queue_ipc.c.
 * Time budget (make bench: <= 90 s per program): with 10 slots every few
 * messages wait for the other process to be scheduled, so the rate falls
 * with the machine's load (5e4 msgs/s for ours, 7.5e4 for mq at a load of
 * 10-14 on the 2 cores: 10^6 messages x 7 repetitions took 235 s).  Each run
 * sends 2.5 x 10^5 messages. */
#include "harness.h"

#include <fcntl.h>
#include <mqueue.h>
#include <multitask.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MSG = 64, SLOTS = 10 };
static long n_msgs;

static uint64_t take(const char *m) {
  uint64_t v;
  memcpy(&v, m, sizeof v);
  return v;
}

static void run_ours(void *arg, mtb_run_t *r) {
  (void)arg;
  mt_mpqueue_t *q = mt_mpqueue_new(SLOTS, MSG);
  uint64_t sum = 0;
  mtb_start(r);
  pid_t pid = fork();
  if (pid == 0) {
    char m[MSG] = {1};
    for (uint64_t i = 0; i < (uint64_t)n_msgs; i++)
      memcpy(m, &i, sizeof i), mt_mpqueue_put(q, m, MSG, MT_FOREVER);
    _exit(0);
  }
  char m[MSG];
  for (long i = 0; i < n_msgs; i++)
    if (mt_mpqueue_get(q, m, MSG, NULL, MT_FOREVER) == MSG) sum += take(m);
  waitpid(pid, NULL, 0);
  mtb_stop(r);
  mt_mpqueue_free(q);
  r->ops = n_msgs, r->sum = sum;
}

static void run_mq(void *arg, mtb_run_t *r) {
  (void)arg;
  char name[64];
  snprintf(name, sizeof name, "/mtbench_%d", (int)getpid());
  /* 10 is the default msg_max an unprivileged process may ask for */
  struct mq_attr attr = {.mq_maxmsg = SLOTS, .mq_msgsize = MSG};
  mqd_t q = mq_open(name, O_CREAT | O_RDWR, 0600, &attr);
  if (q == (mqd_t)-1) {
    perror("mq_open");
    return; /* the harness fails the row: mtb_stop never called */
  }
  mq_unlink(name);
  uint64_t sum = 0;
  mtb_start(r);
  pid_t pid = fork();
  if (pid == 0) {
    char m[MSG] = {1};
    for (uint64_t i = 0; i < (uint64_t)n_msgs; i++) memcpy(m, &i, sizeof i), mq_send(q, m, MSG, 0);
    _exit(0);
  }
  char m[MSG];
  for (long i = 0; i < n_msgs; i++)
    if (mq_receive(q, m, MSG, NULL) == MSG) sum += take(m);
  waitpid(pid, NULL, 0);
  mtb_stop(r);
  mq_close(q);
  r->ops = n_msgs, r->sum = sum;
}

int main(void) {
  n_msgs = (long)(250000 * mtb_scale());
  mtb_row_t row = {"mpqueue 64B process->process cap 10", "msgs/s", true, 0,
                   (uint64_t)n_msgs * (uint64_t)(n_msgs - 1) / 2};
  mtb_side_t sides[] = {{"ours", run_ours, NULL}, {"POSIX mq", run_mq, NULL}};
  mtb_compare(&row, sides, 2);
  char py[32];
  snprintf(py, sizeof py, "%ld", n_msgs / 20);
  mtb_python_row(row.bench, row.unit, true, mtb_last_ours(), "python mp.SimpleQueue", "queue_mp.py", py);
  return 0;
}
