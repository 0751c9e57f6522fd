/* The notes' child that uses a Pipe and a Queue: 004_5c065b13d5e62cce.txt,
 * section "Multiprocess的queue队列 案例": f(conn, q) sends [42, None, 'HELLO']
 * through the pipe and puts 'hahhahhah' on the queue; the parent prints
 * A.recv() and then "queue....----" with Q.get().
 * A Python list travels pickled; here each element is one typed message
 * (an int, an empty message for None, a string) and the parent prints them
 * back as the list. */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example.h"

static mt_conn_t *A, *B;
static mt_mpqueue_t *Q;

static int f(void *arg) {
  (void)arg;
  mt_conn_t *conn = B;
  int r = mt_conn_send_i64(conn, 42, MT_FOREVER);     /* conn.send([42, */
  if (r == 0) r = mt_conn_send_bytes(conn, "", 0, MT_FOREVER); /* None, */
  if (r == 0) r = mt_conn_send_str(conn, "HELLO", MT_FOREVER); /* 'HELLO']) */
  if (r == 0) r = mt_mpqueue_put(Q, "hahhahhah", 9, MT_FOREVER); /* q.put(...) */
  mt_conn_close(conn);
  return r == 0 ? 0 : 1;
}

int main(void) {
  ex_init();
  if (mt_pipe_new(true, &A, &B) != 0) return 1; /* A, B = Pipe() */
  Q = mt_mpqueue_new(0, 64);                      /* Q = Queue() */
  mt_process_t *p = mt_process_new(f, NULL, NULL); /* Process(target=f, args=(B, Q)) */
  mt_process_start(p);
  mt_conn_close(B); /* the parent keeps only its end */

  int64_t n = 0;
  void *none = NULL;
  size_t none_len = 1;
  char *s = NULL;
  int r = mt_conn_recv_i64(A, &n, MT_FOREVER); /* print A.recv() */
  if (r == 0) r = mt_conn_recv_bytes(A, &none, &none_len, MT_FOREVER);
  if (r == 0) r = mt_conn_recv_str(A, &s, MT_FOREVER);
  if (r == 0) printf("[%lld, %s, '%s']\n", (long long)n, none_len == 0 ? "None" : "?", s);

  char got[64];
  int len = mt_mpqueue_get(Q, got, sizeof got, NULL, MT_FOREVER);
  if (len >= 0) printf("queue....---- %.*s\n", len, got); /* print "queue....----", Q.get() */

  mt_process_join(p, MT_FOREVER); /* p.join() */
  int code = -1;
  mt_process_exitcode(p, &code);
  free(s);
  free(none);
  mt_process_free(p);
  mt_conn_free(A);
  mt_conn_free(B);
  mt_mpqueue_free(Q);
  return r == 0 && len == 9 && code == 0 ? 0 : 1;
}
