/* Pipe(duplex=True) between a parent and a child: both send and receive,
 * poll() says whether a message waits, close() ends it and the other side
 * sees EOF (Python's EOFError, MT_ECLOSED here) instead of hanging. */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  mt_conn_t *parent, *child;
  if (mt_pipe_new(true, &parent, &child)) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    mt_conn_close(parent); /* close the end this process does not use */
    char *s;
    while (mt_conn_recv_str(child, &s, MT_FOREVER) == 0) {
      printf("child got: %s\n", s);
      fflush(stdout);
      free(s);
      mt_conn_send_i64(child, 200, MT_FOREVER); /* "200 OK" */
    }
    printf("child: parent closed its end -> EOF, exiting\n");
    fflush(stdout);
    _exit(0);
  }
  mt_conn_close(child);
  printf("parent: poll() before sending: %d\n", mt_conn_poll(parent, 0));
  const char *msgs[] = {"hello", "how are you", "bye"};
  for (int i = 0; i < 3; i++) {
    mt_conn_send_str(parent, msgs[i], MT_FOREVER);
    int ready = mt_conn_poll(parent, 5.0);
    int64_t code;
    mt_conn_recv_i64(parent, &code, MT_FOREVER);
    printf("parent: poll()=%d, reply %lld\n", ready, (long long)code);
  }
  mt_conn_close(parent);
  int st;
  waitpid(pid, &st, 0);
  mt_conn_free(parent);
  mt_conn_free(child);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
