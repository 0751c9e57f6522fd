/* Cross-process queue: 64-byte messages from a child process to the
 * parent, ours vs POSIX message queues and Python's multiprocessing.Queue. */
#include "harness.h"

#include <fcntl.h>
#include <mqueue.h>
#include <multitask.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MSG = 64 };
static long n_msgs;

static double run_ours(void *arg) {
  (void)arg;
  mt_mpqueue_t *q = mt_mpqueue_new(1024, MSG);
  double t0 = mtb_now();
  pid_t pid = fork();
  if (pid == 0) {
    char m[MSG] = {1};
    for (long i = 0; i < n_msgs; i++) mt_mpqueue_put(q, m, MSG, MT_FOREVER);
    _exit(0);
  }
  char m[MSG];
  for (long i = 0; i < n_msgs; i++) mt_mpqueue_get(q, m, MSG, NULL, MT_FOREVER);
  double rate = (double)n_msgs / (mtb_now() - t0);
  waitpid(pid, NULL, 0);
  mt_mpqueue_free(q);
  return rate;
}

static double run_mq(void *arg) {
  (void)arg;
  char name[64];
  snprintf(name, sizeof name, "/mtbench_%d", (int)getpid());
  /* 10 is the default msg_max an unprivileged process may ask for */
  struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = MSG};
  mqd_t q = mq_open(name, O_CREAT | O_RDWR, 0600, &attr);
  if (q == (mqd_t)-1) return -1;
  mq_unlink(name);
  double t0 = mtb_now();
  pid_t pid = fork();
  if (pid == 0) {
    char m[MSG] = {1};
    for (long i = 0; i < n_msgs; i++) mq_send(q, m, MSG, 0);
    _exit(0);
  }
  char m[MSG];
  for (long i = 0; i < n_msgs; i++) mq_receive(q, m, MSG, NULL);
  double rate = (double)n_msgs / (mtb_now() - t0);
  waitpid(pid, NULL, 0);
  mq_close(q);
  return rate;
}

int main(void) {
  n_msgs = (long)(1000000 * mtb_scale());
  double o = mtb_median(run_ours, NULL, MTB_REPS);
  double m = mtb_median(run_mq, NULL, MTB_REPS);
  mtb_report("mpqueue 64B process->process", "msgs/s", o, "POSIX mq", m, true);
  char py[32];
  snprintf(py, sizeof py, "%ld", n_msgs / 20);
  mtb_report("mpqueue 64B process->process", "msgs/s", o, "python mp.Queue",
             mtb_python("queue_mp.py", py), true);
  return 0;
}
