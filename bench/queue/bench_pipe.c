/* Pipe: 64 B and 64 KiB messages from a child process to the parent over a
 * simplex pipe, ours (framed) vs a raw write/read loop on a pipe and
 * Python's multiprocessing.Pipe.  Then one 300 MB message received with
 * 10 ms timeouts in a loop (issue 10 item 3: a timeout mid-message must
 * neither overrun nor make the receive quadratic) vs the raw loop. */
#include "harness.h"

#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  size_t size;
  long n;
} cfg_t;

static double run_ours(void *arg) {
  cfg_t *c = arg;
  mt_conn_t *r, *w;
  mt_pipe(false, &r, &w);
  char *buf = calloc(1, c->size);
  double t0 = mtb_now();
  pid_t pid = fork();
  if (pid == 0) {
    mt_conn_close(r);
    for (long i = 0; i < c->n; i++) mt_conn_send_bytes(w, buf, c->size, MT_FOREVER);
    _exit(0);
  }
  mt_conn_close(w);
  size_t len;
  for (long i = 0; i < c->n; i++) mt_conn_recv_bytes_into(r, buf, c->size, &len, MT_FOREVER);
  double rate = (double)c->n / (mtb_now() - t0);
  waitpid(pid, NULL, 0);
  mt_conn_free(r);
  mt_conn_free(w);
  free(buf);
  return rate;
}

static double run_raw(void *arg) {
  cfg_t *c = arg;
  int fds[2];
  if (pipe(fds)) return -1;
  char *buf = calloc(1, c->size);
  double t0 = mtb_now();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    for (long i = 0; i < c->n; i++)
      for (size_t off = 0; off < c->size;) {
        ssize_t k = write(fds[1], buf + off, c->size - off);
        if (k <= 0) _exit(1);
        off += (size_t)k;
      }
    _exit(0);
  }
  close(fds[1]);
  for (long i = 0; i < c->n; i++)
    for (size_t off = 0; off < c->size;) {
      ssize_t k = read(fds[0], buf + off, c->size - off);
      if (k <= 0) break;
      off += (size_t)k;
    }
  double rate = (double)c->n / (mtb_now() - t0);
  waitpid(pid, NULL, 0);
  close(fds[0]);
  free(buf);
  return rate;
}

/* One `size`-byte message, the receiver calling recv_bytes_into with
 * `timeout` until it succeeds.  MB/s; the content is checked. */
typedef struct {
  size_t size;
  double timeout;
  long calls;      /* out: receive calls of the last run */
  double longest;  /* out: its longest call that timed out, seconds */
  double last;     /* out: its completing call, seconds */
} big_t;

static double run_big_ours(void *arg) {
  big_t *b = arg;
  mt_conn_t *r, *w;
  mt_pipe(false, &r, &w);
  unsigned char *buf = malloc(b->size);
  double t0 = mtb_now();
  pid_t pid = fork();
  if (pid == 0) {
    mt_conn_close(r);
    memset(buf, 0x5a, b->size);
    buf[b->size - 1] = 0xa5;
    _exit(mt_conn_send_bytes(w, buf, b->size, MT_FOREVER) ? 1 : 0);
  }
  mt_conn_close(w);
  size_t len = 0;
  int rc;
  b->calls = 0;
  b->longest = 0;
  do {
    double c0 = mtb_now();
    rc = mt_conn_recv_bytes_into(r, buf, b->size, &len, b->timeout);
    double dt = mtb_now() - c0;
    if (rc == MT_ETIMEDOUT && dt > b->longest) b->longest = dt;
    b->last = dt;
    b->calls++;
  } while (rc == MT_ETIMEDOUT);
  double rate = (double)b->size / 1e6 / (mtb_now() - t0);
  int st;
  waitpid(pid, &st, 0);
  if (rc || len != b->size || buf[0] != 0x5a || buf[b->size - 1] != 0xa5 || st != 0) {
    fprintf(stderr, "big message: rc %d len %zu\n", rc, len);
    rate = -1;
  }
  mt_conn_free(r);
  mt_conn_free(w);
  free(buf);
  return rate;
}

static double run_big_raw(void *arg) {
  big_t *b = arg;
  int fds[2];
  if (pipe(fds)) return -1;
  unsigned char *buf = malloc(b->size);
  double t0 = mtb_now();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    memset(buf, 0x5a, b->size);
    for (size_t off = 0; off < b->size;) {
      ssize_t k = write(fds[1], buf + off, b->size - off);
      if (k <= 0) _exit(1);
      off += (size_t)k;
    }
    _exit(0);
  }
  close(fds[1]);
  size_t off = 0;
  while (off < b->size) {
    ssize_t k = read(fds[0], buf + off, b->size - off);
    if (k <= 0) break;
    off += (size_t)k;
  }
  double rate = off == b->size ? (double)b->size / 1e6 / (mtb_now() - t0) : -1;
  waitpid(pid, NULL, 0);
  close(fds[0]);
  free(buf);
  return rate;
}

static void compare_big(size_t size, double timeout) {
  big_t b = {size, timeout, 0, 0, 0};
  double o = mtb_median(run_big_ours, &b, MTB_REPS);
  double r = mtb_median(run_big_raw, &b, MTB_REPS);
  char bench[96];
  snprintf(bench, sizeof bench, "pipe %zu MB, recv with %g ms timeouts", size >> 20,
           timeout * 1e3);
  printf("(last run: %ld receive calls; longest timed-out call %.1f ms, completing call %.1f ms)\n",
         b.calls, b.longest * 1e3, b.last * 1e3);
  mtb_report(bench, "MB/s", o, "raw pipe read loop", r, true);
}

static void compare(size_t size, long n) {
  cfg_t c = {size, n};
  double o = mtb_median(run_ours, &c, MTB_REPS);
  double r = mtb_median(run_raw, &c, MTB_REPS);
  char bench[64], py[64];
  snprintf(bench, sizeof bench, "pipe %zu B process->process", size);
  mtb_report(bench, "msgs/s", o, "raw pipe write/read", r, true);
  snprintf(py, sizeof py, "%zu %ld", size, n / 10);
  mtb_report(bench, "msgs/s", o, "python mp.Pipe", mtb_python("queue_pipe.py", py), true);
}

/* Argument "big": only the 300 MB comparison. */
int main(int argc, char **argv) {
  double s = mtb_scale();
  bool big_only = argc > 1 && strcmp(argv[1], "big") == 0;
  if (!big_only) {
    compare(64, (long)(1000000 * s));
    compare(65536, (long)(20000 * s));
  }
  compare_big((size_t)(300e6 * s), 0.01);
  return 0;
}
