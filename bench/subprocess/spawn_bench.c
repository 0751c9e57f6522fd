/* subprocess benchmarks (docs/subprocess.md):
 *  1. spawn+wait of /bin/true: mt_popen_new + mt_popen_wait vs posix_spawn
 *     + waitpid with the same file actions (close every descriptor >= 3:
 *     addclosefrom_np, as close_fds).  Checksum: the sum of exit codes
 *     (0) plus the count of children.
 *  2. communicate 100 MB each way through `cat`: ours vs a plain C poll
 *     loop on posix_spawn'd pipes.  Checksum: a hash of the bytes back.
 * Python's subprocess.run / communicate are reference rows only.
 * Time budget (make bench: <= 90 s per program): at 200 spawns and 7
 * repetitions the program took 272 s at a load of 14-19 on the 2 cores
 * (a spawn+wait cost 22-26 ms there; Python's communicate 23 s a run, 3
 * runs).  So: 100 spawns, 5 repetitions per row, Python's subprocess.run
 * over a quarter of the spawns and one communicate run. */
#include <multitask.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

extern char **environ;
static int n_spawn;
static size_t big;
static char *input;

static void spawn_ours(void *arg, mtb_run_t *r) {
  (void)arg;
  const char *argv[] = {"/bin/true", NULL};
  uint64_t sum = 0;
  mtb_start(r);
  for (int i = 0; i < n_spawn; i++) {
    mt_popen_t *p = mt_popen_new(argv, NULL);
    int rc = -1;
    if (p && mt_popen_wait(p, MT_FOREVER, &rc) == 0) sum += (uint64_t)rc + 1;
    mt_popen_free(p);
  }
  mtb_stop(r);
  r->ops = n_spawn, r->sum = sum;
}

static void spawn_posix(void *arg, mtb_run_t *r) {
  (void)arg;
  char *argv[] = {"/bin/true", NULL};
  uint64_t sum = 0;
  mtb_start(r);
  for (int i = 0; i < n_spawn; i++) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    pid_t pid;
    int st;
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) == 0 &&
        waitpid(pid, &st, 0) == pid && WIFEXITED(st))
      sum += (uint64_t)WEXITSTATUS(st) + 1;
    posix_spawn_file_actions_destroy(&fa);
  }
  mtb_stop(r);
  r->ops = n_spawn, r->sum = sum;
}

static uint64_t hash(const char *p, size_t n) {
  uint64_t h = n;
  for (size_t i = 0; i < n; i += 4096) h = mtb_mix(h, (uint64_t)(unsigned char)p[i]);
  return h;
}

static void comm_ours(void *arg, mtb_run_t *r) {
  (void)arg;
  const char *argv[] = {"cat", NULL};
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.stdin_fd = o.stdout_fd = MT_SUBPROCESS_PIPE;
  mtb_start(r);
  mt_popen_t *p = mt_popen_new(argv, &o);
  char *out = NULL;
  size_t n = 0;
  mt_popen_communicate(p, input, big, MT_FOREVER, &out, &n, NULL, NULL);
  mt_popen_free(p);
  mtb_stop(r);
  r->ops = 1, r->sum = hash(out, n);
  free(out);
}

/* The plain C peer: posix_spawnp cat with two pipes, one poll loop. */
static void comm_poll(void *arg, mtb_run_t *r) {
  (void)arg;
  mtb_start(r);
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) abort();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  char *argv[] = {"cat", NULL};
  pid_t pid;
  if (posix_spawnp(&pid, "cat", &fa, NULL, argv, environ)) abort();
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  size_t off = 0, len = 0, cap = 1 << 20;
  char *buf = malloc(cap);
  int wfd = in[1], rfd = out[0];
  while (rfd >= 0) {
    struct pollfd f[2];
    int n = 0;
    f[n++] = (struct pollfd){.fd = rfd, .events = POLLIN};
    if (wfd >= 0) f[n++] = (struct pollfd){.fd = wfd, .events = POLLOUT};
    poll(f, (nfds_t)n, -1);
    if (n == 2 && f[1].revents) {
      ssize_t w = write(wfd, input + off, big - off > (1 << 20) ? (1 << 20) : big - off);
      if (w > 0) off += (size_t)w;
      if (off == big || (w < 0 && errno != EAGAIN)) {
        close(wfd);
        wfd = -1;
      }
    }
    if (f[0].revents) {
      for (;;) {
        if (cap - len < 256 * 1024) buf = realloc(buf, cap *= 2);
        ssize_t k = read(rfd, buf + len, 256 * 1024);
        if (k > 0) {
          len += (size_t)k;
          continue;
        }
        if (k == 0 || errno != EAGAIN) {
          close(rfd);
          rfd = -1;
        }
        break;
      }
    }
  }
  int st;
  waitpid(pid, &st, 0);
  mtb_stop(r);
  r->ops = 1, r->sum = hash(buf, len);
  free(buf);
}

int main(void) {
  n_spawn = (int)(100 * mtb_scale());
  if (n_spawn < 10) n_spawn = 10;
  mtb_cap_reps(5); /* the time budget (above) */
  mtb_row_t row = {"spawn+wait /bin/true", "us/op", false, 1e6, (uint64_t)n_spawn};
  mtb_side_t sides[] = {{"ours", spawn_ours, NULL}, {"posix_spawn+waitpid", spawn_posix, NULL}};
  mtb_compare(&row, sides, 2);
  char args[32];
  snprintf(args, sizeof args, "%d", n_spawn / 4 > 5 ? n_spawn / 4 : 5); /* us/op at any n */
  mtb_python_row(row.bench, row.unit, false, mtb_last_ours(), "Python subprocess.run",
                 "subprocess_run.py", args);

  big = (size_t)(100.0 * (1 << 20) * mtb_scale());
  if (big < (1 << 20)) big = 1 << 20;
  input = malloc(big);
  for (size_t i = 0; i < big; i++) input[i] = (char)(i * 31 + (i >> 12));
  mtb_row_t row2 = {"communicate 100MB each way (cat)", "ms/op", false, 1e3, hash(input, big)};
  mtb_side_t sides2[] = {{"ours", comm_ours, NULL}, {"C poll loop", comm_poll, NULL}};
  mtb_compare(&row2, sides2, 2);
  snprintf(args, sizeof args, "%d 1", (int)(big >> 20)); /* one run: the time budget */
  mtb_python_row(row2.bench, row2.unit, false, mtb_last_ours(), "Python Popen.communicate",
                 "subprocess_communicate.py", args);
  free(input);
  return 0;
}
