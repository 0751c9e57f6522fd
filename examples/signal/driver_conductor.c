/* driver_conductor.c - the notes' homework (售票员和司机的故事).
 *
 * The parent is the driver (司机), the child the conductor (售票员):
 *   SIGINT  to the conductor -> SIGUSR1 to the driver: "老司机开车了"
 *   SIGQUIT to the conductor -> SIGUSR2 to the driver: "系好安全带，小心甩出去"
 *   SIGTSTP to the driver    -> SIGUSR1 to the conductor: "到站了，下车吧"
 * At the stop the conductor gets off first (the child exits), then the
 * driver.  Each ignores the keyboard signals meant for the other: a
 * terminal sends Ctrl-C / Ctrl-\ / Ctrl-Z to the whole process group.
 *
 * Handlers registered with mt_signal_signal run on the library's signal
 * dispatcher thread, in normal context, so they can printf and signal
 * other processes freely.
 *
 *   driver_conductor          wait for signals (Ctrl-C, Ctrl-\, Ctrl-Z in a
 *                             terminal; tests/signal sends them with kill)
 *   driver_conductor --trip   a scripted trip: the driver sends the
 *                             signals itself (make demo)
 */
#include <multitask.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pid_t conductor_pid; /* in the driver */
static mt_sem_t *heard;     /* driver, --trip only: released after each message */
static mt_event_t *stop;    /* conductor: set at the stop */

static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout); /* one line at a time, also into a pipe */
}

/* ---- the conductor (child) ------------------------------------------- */

static void conductor_on(int sig, void *arg) {
  (void)arg;
  if (sig == SIGINT) mt_signal_kill(getppid(), SIGUSR1);
  else if (sig == SIGQUIT) mt_signal_kill(getppid(), SIGUSR2);
  else if (sig == SIGUSR1) {
    say("到站了，下车吧");
    mt_event_set(stop);
  }
}

static int conductor(void *ready_end) {
  mt_signal_signal(SIGTSTP, MT_SIG_IGN, NULL); /* Ctrl-Z is for the driver */
  stop = mt_event_new(0);
  mt_signal_signal(SIGINT, conductor_on, NULL);
  mt_signal_signal(SIGQUIT, conductor_on, NULL);
  mt_signal_signal(SIGUSR1, conductor_on, NULL);
  say("售票员上车 (pid %d)", (int)getpid());
  mt_conn_send_bytes(ready_end, "ready", 5, MT_FOREVER);
  mt_event_wait(stop, MT_FOREVER);
  say("售票员下车");
  return 0;
}

/* ---- the driver (parent) ---------------------------------------------- */

static void driver_on(int sig, void *arg) {
  (void)arg;
  if (sig == SIGTSTP) {
    /* nothing after the kill: the conductor's exit lets main go on and
     * free what this handler would touch */
    if (conductor_pid > 0) mt_signal_kill(conductor_pid, SIGUSR1);
    return;
  }
  say(sig == SIGUSR1 ? "老司机开车了" : "系好安全带，小心甩出去");
  /* only a --trip main waits for it: without one, main would free the
   * semaphore while this release may still run (TSan, test signal_driver) */
  if (heard) mt_sem_release(heard, 1);
}

int main(int argc, char **argv) {
  int trip = argc > 1 && strcmp(argv[1], "--trip") == 0;
  if (trip) heard = mt_sem_new(0, 0);
  mt_signal_signal(SIGINT, MT_SIG_IGN, NULL);  /* Ctrl-C and Ctrl-\ are */
  mt_signal_signal(SIGQUIT, MT_SIG_IGN, NULL); /* for the conductor     */
  mt_signal_signal(SIGUSR1, driver_on, NULL);
  mt_signal_signal(SIGUSR2, driver_on, NULL);
  mt_signal_signal(SIGTSTP, driver_on, NULL);
  say("司机上车 (pid %d)", (int)getpid());

  mt_conn_t *rd, *wr;
  if (mt_pipe_new(false, &rd, &wr) != 0) return 1;
  mt_process_t *p = mt_process_new(conductor, wr, NULL);
  if (!p || mt_process_start(p) != 0) return 1;
  conductor_pid = mt_process_pid(p);
  char buf[8];
  size_t n;
  if (mt_conn_recv_bytes_into(rd, buf, sizeof buf, &n, 30.0) != 0) return 1;

  if (trip) {
    const int plan[] = {SIGINT, SIGQUIT, SIGINT};
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
      say("  (%s -> 售票员)", mt_signal_name(plan[i]));
      mt_signal_kill(conductor_pid, plan[i]);
      mt_sem_acquire(heard, 30.0); /* the driver's handler has printed */
    }
    say("  (SIGTSTP -> 司机)");
    mt_signal_raise_signal(SIGTSTP);
  }
  int r = mt_process_join(p, MT_FOREVER); /* the conductor gets off first */
  int code = -1;
  mt_process_exitcode(p, &code);
  say("司机下车");
  mt_process_free(p);
  mt_conn_free(rd);
  mt_conn_free(wr);
  if (heard) mt_sem_free(heard);
  return r == 0 && code == 0 ? 0 : 1;
}
