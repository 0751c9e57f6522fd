/* The notes' Queue between two processes: 000_d8a1bcc7e9496ef7.txt, section
 * 8 (1) "消息队列Queue": a writer process prints its pid, then for A, B, C
 * prints "writing X to the queue", puts it and sleeps random() s; a reader
 * process loops: if not q.empty(): get, print "read X from the queue",
 * sleep random() s; else break.  Main starts both, joins the writer and
 * terminates the reader (its loop could run forever).
 * As in the notes, what the reader gets depends on timing: it stops at the
 * first moment it finds the queue empty (the notes' run read A and B, not
 * C).  What always holds: it reads a prefix of A, B, C in order, each after
 * it was written.  Sleeps divided by 10 (times MT_EXAMPLE_SCALE). */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "example.h"

static mt_mpqueue_t *q;

static int writer(void *arg) {
  (void)arg;
  unsigned seed = (unsigned)getpid();
  printf("writer process: %d\n", (int)getpid());
  for (const char *i = "ABC"; *i; i++) {
    printf("writing %c to the queue\n", *i);
    if (mt_mpqueue_put(q, i, 1, MT_FOREVER) != 0) return 1; /* q.put(i) */
    ex_sleep(0.1 * rand_r(&seed) / RAND_MAX);               /* time.sleep(random.random()) */
  }
  return 0;
}

static int reader(void *arg) {
  (void)arg;
  unsigned seed = (unsigned)getpid() * 7u;
  for (;;) {
    if (mt_mpqueue_is_empty(q) != 1) { /* if not q.empty(): */
      char i;
      if (mt_mpqueue_get(q, &i, 1, NULL, MT_FOREVER) != 1) return 1; /* q.get() */
      printf("read %c from the queue\n", i);
      ex_sleep(0.1 * rand_r(&seed) / RAND_MAX);
    } else {
      break;
    }
  }
  return 0;
}

int main(void) {
  ex_init();
  q = mt_mpqueue_new(0, 8); /* Queue() */
  mt_process_t *pw = mt_process_new(writer, NULL, NULL), *pr = mt_process_new(reader, NULL, NULL);
  mt_process_start(pw); /* start the writer */
  mt_process_start(pr); /* start the reader */
  mt_process_join(pw, MT_FOREVER); /* wait for the writer */
  mt_process_terminate(pr);        /* the reader's loop: terminate it */
  mt_process_join(pr, MT_FOREVER);
  int code = -1;
  mt_process_exitcode(pw, &code);
  mt_process_free(pw);
  mt_process_free(pr);
  mt_mpqueue_free(q);
  return code == 0 ? 0 : 1;
}
