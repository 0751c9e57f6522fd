/* alarm_pause.c - the notes' signal.alarm / signal.pause / signal.signal:
 *
 *   signal.alarm(3)   # one clock per process:
 *   signal.alarm(1)   # the second replaces the first (returns the 3 left)
 *   signal.signal(SIGALRM, handler)
 *   signal.pause()    # until the handler has run
 *
 * The handler runs on the library's signal dispatcher in normal context:
 * it takes a lock and prints, which a raw sigaction handler must not. */
#include <multitask.h>

#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static mt_lock_t *lock;
static int rings;

static void on_alarm(int sig, void *arg) {
  (void)arg;
  MT_WITH_LOCK(lock) {
    rings++;
    printf("handler: %s (%d), ring %d\n", mt_signal_name(sig), sig, rings);
  }
  fflush(stdout);
}

int main(void) {
  lock = mt_lock_new(0);
  mt_signal_signal(SIGALRM, on_alarm, NULL);
  printf("alarm(3) -> %u (no clock before)\n", mt_signal_alarm(3));
  printf("alarm(1) -> %u (the first clock's seconds left; it is replaced)\n",
         mt_signal_alarm(1));
  int r = mt_signal_pause(10.0);
  printf("pause() -> %s after the handler ran\n", mt_err_name(r));
  /* a periodic timer: setitimer(ITIMER_REAL, 0.05, 0.05), three rings */
  mt_signal_setitimer(ITIMER_REAL, 0.05, 0.05, NULL, NULL);
  while (rings < 4) mt_signal_pause(10.0);
  mt_signal_setitimer(ITIMER_REAL, 0, 0, NULL, NULL);
  /* SIG_IGN, then SIG_DFL */
  mt_signal_signal(SIGALRM, MT_SIG_IGN, NULL);
  mt_signal_raise_signal(SIGALRM);
  printf("SIGALRM ignored: still here, %d rings\n", rings);
  mt_signal_signal(SIGALRM, MT_SIG_DFL, NULL);
  mt_lock_free(lock);
  return rings == 4 ? 0 : 1;
}
