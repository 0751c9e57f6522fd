/* The notes' IPC comparison (pipe / message queue / shared memory), with a
 * row of figures measured here: 64-byte messages from a child process to
 * its parent.  Shared memory has no hand-off (the writer overwrites), so
 * its figure is the raw overwrite rate. */
#include <multitask.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { N = 100000, MSG = 64 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double pipe_rate(void) {
  mt_conn_t *r, *w;
  mt_pipe_new(false, &r, &w);
  char buf[MSG] = {0};
  double t0 = now();
  pid_t pid = fork();
  if (pid == 0) {
    mt_conn_close(r);
    for (int i = 0; i < N; i++) mt_conn_send_bytes(w, buf, MSG, MT_FOREVER);
    _exit(0);
  }
  mt_conn_close(w);
  size_t n;
  for (int i = 0; i < N; i++) mt_conn_recv_bytes_into(r, buf, MSG, &n, MT_FOREVER);
  double rate = N / (now() - t0);
  waitpid(pid, NULL, 0);
  mt_conn_free(r);
  mt_conn_free(w);
  return rate;
}

static double queue_rate(void) {
  mt_mpqueue_t *q = mt_mpqueue_new(1024, MSG);
  char buf[MSG] = {0};
  double t0 = now();
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < N; i++) mt_mpqueue_put(q, buf, MSG, MT_FOREVER);
    _exit(0);
  }
  for (int i = 0; i < N; i++) mt_mpqueue_get(q, buf, MSG, NULL, MT_FOREVER);
  double rate = N / (now() - t0);
  waitpid(pid, NULL, 0);
  mt_mpqueue_free(q);
  return rate;
}

static double shm_rate(void) {
  char *shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  char buf[MSG] = {1};
  double t0 = now();
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < N * 10; i++) {
      buf[0] = (char)i;
      memcpy(shm, buf, MSG);
      __atomic_thread_fence(__ATOMIC_RELEASE);
    }
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  double rate = N * 10 / (now() - t0);
  munmap(shm, 4096);
  return rate;
}

int main(void) {
  double p = pipe_rate(), q = queue_rate(), s = shm_rate();
  printf("%-16s %-18s %-18s %-18s\n", "", "Pipe (mt_pipe_new)", "Queue (mt_mpqueue)",
         "shared memory");
  printf("%-16s %-18s %-18s %-18s\n", "read/write", "both ends (duplex)", "FIFO",
         "overwrites");
  printf("%-16s %-18s %-18s %-18s\n", "", "or one way", "", "");
  printf("%-16s %-18s %-18s %-18s\n", "efficiency", "medium", "medium", "highest");
  printf("%-16s %-18.3g %-18.3g %-18.3g\n", "measured msg/s", p, q, s);
  printf("%-16s %-18s %-18s %-18s\n", "typical use", "parent <-> child", "any processes",
         "needs a lock/sync");
  return 0;
}
