/* The notes' join example: send 10 mails in 10 processes, then report once
 * every one is done (Python: p.start() in a loop, then p.join() for each). */
#include <multitask.h>
#include <stdio.h>
#include <unistd.h>

static int send_mail(void *arg) {
  printf("mail %d sent by pid %d\n", (int)(long)arg, (int)getpid());
  return 0;
}

int main(void) {
  mt_process_t *ps[10];
  for (long i = 0; i < 10; i++) {
    ps[i] = mt_process_new(send_mail, (void *)i, NULL);
    mt_process_start(ps[i]);
  }
  for (int i = 0; i < 10; i++) {
    mt_process_join(ps[i], MT_FOREVER);
    mt_process_free(ps[i]);
  }
  printf("all 10 mails sent\n");
  return 0;
}
