/* JoinableQueue with a daemon consumer: the producer puts 5 items and
 * joins the queue; join returns when the consumer has task_done() every
 * one; the daemon consumer is then stopped with its parent. */
#include <multitask.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  mt_mpqueue_t *q = mt_mpqueue_new_joinable(0, 64);
  pid_t consumer = fork();
  if (consumer == 0) { /* daemon: loops forever */
    char buf[64];
    for (;;) {
      int n = mt_mpqueue_get(q, buf, sizeof buf, NULL, MT_FOREVER);
      if (n < 0) _exit(1);
      printf("consumer %d ate %.*s\n", (int)getpid(), n, buf);
      fflush(stdout);
      mt_mpqueue_task_done(q);
    }
  }
  for (int i = 1; i <= 5; i++) {
    char msg[32];
    int n = snprintf(msg, sizeof msg, "bun %d", i);
    mt_mpqueue_put(q, msg, (size_t)n, MT_FOREVER);
  }
  int r = mt_mpqueue_join(q, 10.0); /* a timeout: a dead consumer never task_done()s */
  printf("producer: join returned %s, everything consumed\n", mt_err_name(r));
  kill(consumer, SIGTERM); /* the daemon ends with its parent */
  waitpid(consumer, NULL, 0);
  mt_mpqueue_free(q);
  return r == 0 ? 0 : 1;
}
