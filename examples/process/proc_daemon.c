/* A daemon process runs while its parent runs and is terminated when the
 * parent exits (here: returns from main).  The daemon reports each beat
 * through a pipe so the parent can wait for it without sleeping. */
#include <multitask.h>
#include <stdio.h>
#include <unistd.h>

static int fds[2];

static int heartbeat(void *arg) {
  (void)arg;
  for (int i = 1;; i++) {
    if (write(fds[1], &i, sizeof i) != sizeof i) return 1;
    usleep(20000); /* the daemon's own pace */
  }
}

int main(void) {
  if (pipe(fds) != 0) return 1;
  mt_process_opts_t o = MT_PROCESS_OPTS_INIT;
  o.name = "heartbeat";
  o.daemon = true;
  mt_process_t *d = mt_process_new(heartbeat, NULL, &o);
  mt_process_start(d);
  int beat = 0;
  while (beat < 3 && read(fds[0], &beat, sizeof beat) == sizeof beat)
    printf("main got beat %d from daemon %s (pid %d)\n", beat, mt_process_name(d),
           (int)mt_process_pid(d));
  printf("main returns: the library terminates the daemon (alive now: %d)\n",
         mt_process_is_alive(d));
  return 0; /* exit handler: SIGTERM to daemon children, then join them */
}
