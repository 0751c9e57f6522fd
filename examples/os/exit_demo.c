/* exit_demo.c - the notes' exit.py: os._exit(status) vs sys.exit().
 *
 * A normal exit() flushes stdio buffers and runs atexit handlers (and the
 * library joins the child's own non-daemon children); mt_os_exit (Python's
 * os._exit) ends the process at once: buffered output is lost, no handler
 * runs.  Each child below leaves text in its stdout buffer, then exits. */
#include <multitask.h>

#include <stdio.h>
#include <stdlib.h>

static void goodbye(void) { printf("  atexit handler ran\n"); }

static void child(int underscore) {
  mt_process_t *c;
  pid_t pid = mt_os_fork(&c, NULL);
  if (pid == 0) {
    atexit(goodbye);
    setvbuf(stdout, NULL, _IOFBF, 4096); /* buffered even on a terminal */
    printf("  child %d: this line is still in the stdio buffer\n", (int)getpid());
    if (underscore) mt_os_exit(3);
    exit(3);
  }
  mt_process_join(c, MT_FOREVER);
  int code = -1;
  mt_process_exitcode(c, &code);
  printf("  -> exit code %d\n", code);
  mt_process_free(c);
}

int main(void) {
  printf("exit(3) (Python: sys.exit(3)):\n");
  fflush(stdout);
  child(0);
  printf("mt_os_exit(3) (Python: os._exit(3)):\n");
  fflush(stdout);
  child(1);
  return 0;
}
