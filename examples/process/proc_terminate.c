/* terminate() only sends SIGTERM: is_alive() may still say 1 right after;
 * after join() it is 0 and exitcode is -SIGTERM (-15), as in Python. */
#include <multitask.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static int forever(void *arg) {
  (void)arg;
  for (;;) pause();
  return 0;
}

int main(void) {
  mt_process_t *p = mt_process_new(forever, NULL, NULL);
  mt_process_start(p);
  mt_process_terminate(p);
  printf("right after terminate: is_alive = %d (the signal is asynchronous)\n",
         mt_process_is_alive(p));
  mt_process_join(p, MT_FOREVER);
  int code = 0;
  mt_process_exitcode(p, &code);
  printf("after join: is_alive = %d, exitcode = %d\n", mt_process_is_alive(p), code);
  mt_process_free(p);
  return code == -SIGTERM ? 0 : 1;
}
