/* subprocess.c - Python's subprocess.Popen, run and check_output.
 *
 * Spawn: src/platform/spawn_linux.c (clone with CLONE_VM|CLONE_VFORK|
 * CLONE_PIDFD, or fork+exec when a pre-exec hook needs a real copy).  All
 * the child needs is prepared here first (PATH candidates, descriptors), so
 * the child only makes system calls, and an exec failure comes back as the
 * constructor's errno.
 *
 * Waiting: on the pidfd (readable when the child ends) through the wait
 * layer, so a coroutine hub parks the task instead of the thread; reaping
 * is waitid(P_PIDFD, WNOHANG) under the object's lock, so two waiters
 * never both reap and nothing else of the process is ever reaped.
 *
 * communicate: one poll loop over the parent's non-blocking ends (stdin
 * POLLOUT while input is left, stdout/stderr POLLIN), so neither side can
 * fill a pipe while the other waits: no deadlock at any size.  All its
 * state (input offset, buffers, closed ends) lives in the object, so a
 * timeout keeps what was read and the next call continues.
 *
 * Freed while running: the pidfd goes to the reaper, one library thread
 * that polls the pidfds of such children (and an eventfd for new ones) and
 * reaps each as it ends.  Started on first need; in a fork child the list
 * (the parent's children) is dropped.
 */
#include "multitask/subprocess.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "platform/platform.h"
#include "platform/spawn.h"
#include "process/process_internal.h"
#include "sync/mutex.h"
#include "wait/wait.h"
#include "subprocess/subprocess_internal.h"

extern char **environ;

struct buf {
  char *data;
  size_t len, cap;
};

struct mt_popen {
  pid_t pid;
  int pidfd;
  mt__mutex_t lock; /* reaping */
  _Atomic bool done;
  int returncode;
  int fd_in, fd_out, fd_err; /* parent's ends, -1 if none/closed */
  uint32_t fork_gen;
  /* communicate */
  bool comm_started;
  bool had_out, had_err; /* stdout/stderr were PIPEs */
  const char *in_data;
  size_t in_len, in_off;
  struct buf out, err;
};

/* ---- the pids of our unreaped children ------------------------------------
 * So that mt_os_wait (wait for ANY child) never reaps a Popen child behind
 * its object's back.  Held across the spawn, so no pid is ever unlisted
 * while it may already be a zombie. */
static struct {
  mt__mutex_t lock;
  pid_t *pids;
  int n, cap;
} L;
static pthread_once_t live_once = PTHREAD_ONCE_INIT;
static void live_fork_child(void) {
  mt__mutex_init(&L.lock);
  L.n = 0; /* the parent's children */
}
static void live_init(void) {
  mt__mutex_init(&L.lock);
  mt__on_fork_child(live_fork_child);
}
static void live_lock(void) {
  pthread_once(&live_once, live_init);
  mt__mutex_lock(&L.lock, false, MT__NO_DEADLINE);
}
static void live_unlock(void) { mt__mutex_unlock(&L.lock, false); }
/* The exit gate around a spawn's fork: signals are blocked there already. */
static int gate_enter(void) { return mt__fork_gate_enter(NULL); }
static void gate_leave(void) { mt__fork_gate_leave(NULL); }
/* Caller holds L.lock.  false when out of memory. */
static bool live_reserve(void) {
  if (L.n < L.cap) return true;
  int nc = L.cap ? 2 * L.cap : 16;
  pid_t *np = mt__realloc(L.pids, (size_t)nc * sizeof *np);
  if (!np) return false;
  L.pids = np;
  L.cap = nc;
  return true;
}
static void live_remove(pid_t pid) {
  live_lock();
  for (int i = 0; i < L.n; i++)
    if (L.pids[i] == pid) {
      L.pids[i] = L.pids[--L.n];
      break;
    }
  live_unlock();
}

bool mt__subprocess_owns(pid_t pid) {
  live_lock();
  bool found = false;
  for (int i = 0; i < L.n && !found; i++) found = L.pids[i] == pid;
  live_unlock();
  return found;
}

/* ---- the reaper of freed, still running children ---------------------- */

static struct {
  mt__mutex_t lock;
  int efd;
  bool running;
  int *fds;
  pid_t *pids;
  int n, cap;
} R = {.efd = -1};
static pthread_once_t reaper_once = PTHREAD_ONCE_INIT;

static void reaper_fork_child(void) {
  mt__mutex_init(&R.lock);
  for (int i = 0; i < R.n; i++) mt__sys_close(R.fds[i]);
  R.n = 0;
  if (R.efd >= 0) mt__sys_close(R.efd);
  R.efd = -1;
  R.running = false;
}

static void reaper_init(void) {
  mt__mutex_init(&R.lock);
  mt__on_fork_child(reaper_fork_child);
}

static void *reaper_main(void *unused) {
  (void)unused;
  struct pollfd *pf = NULL;
  int pcap = 0;
  for (;;) {
    mt__mutex_lock(&R.lock, false, MT__NO_DEADLINE);
    int n = R.n + 1;
    if (n > pcap) {
      struct pollfd *np = mt__realloc(pf, (size_t)n * sizeof *pf);
      if (np) {
        pf = np;
        pcap = n;
      }
    }
    if (pcap == 0) { /* out of memory before the first array: retry in 0.1 s */
      mt__mutex_unlock(&R.lock, false);
      struct pollfd e = {.fd = R.efd, .events = POLLIN};
      int64_t dl;
      mt__deadline(0.1, &dl);
      if (mt__wait_fds(&e, 1, dl) > 0) mt__sys_eventfd_drain(e.fd);
      continue;
    }
    int m = n <= pcap ? n : pcap;
    pf[0] = (struct pollfd){.fd = R.efd, .events = POLLIN};
    for (int i = 1; i < m; i++) pf[i] = (struct pollfd){.fd = R.fds[i - 1], .events = POLLIN};
    mt__mutex_unlock(&R.lock, false);
    if (mt__wait_fds(pf, m, MT__NO_DEADLINE) <= 0) continue;
    if (pf[0].revents) mt__sys_eventfd_drain(pf[0].fd);
    for (int i = 1; i < m; i++) {
      if (!pf[i].revents) continue;
      int code;
      if (mt__sys_reap_pidfd(pf[i].fd, &code) == 0) continue; /* still running */
      mt__mutex_lock(&R.lock, false, MT__NO_DEADLINE);
      pid_t pid = 0;
      for (int k = 0; k < R.n; k++)
        if (R.fds[k] == pf[i].fd) {
          pid = R.pids[k];
          R.n--;
          R.fds[k] = R.fds[R.n];
          R.pids[k] = R.pids[R.n];
          break;
        }
      mt__mutex_unlock(&R.lock, false);
      mt__sys_close(pf[i].fd);
      live_remove(pid);
    }
  }
  return NULL;
}

/* Starts the reaper thread (once; its descriptor and thread are made
 * before anything takes R.lock). */
static void reaper_start(void) {
  pthread_once(&reaper_once, reaper_init);
  if (__atomic_load_n(&R.running, __ATOMIC_ACQUIRE)) return;
  mt__mutex_lock(&R.lock, false, MT__NO_DEADLINE);
  bool need = R.efd < 0; /* nobody started it yet */
  int efd = need ? mt__sys_eventfd() : -1;
  if (efd >= 0) R.efd = efd;
  mt__mutex_unlock(&R.lock, false);
  if (efd < 0) return;
  pthread_t th;
  /* (If no thread can be made, the listed children stay unreaped until
   * the process ends: the one path that can leave a zombie.) */
  if (mt__thread_create(&th, 64 * 1024, true, true, reaper_main, NULL) == 0)
    __atomic_store_n(&R.running, true, __ATOMIC_RELEASE);
}

/* Hands a running child's pidfd to the reaper; false if it cannot (then
 * the caller keeps it). */
static bool reaper_adopt(int pidfd, pid_t pid) {
  reaper_start();
  mt__mutex_lock(&R.lock, false, MT__NO_DEADLINE);
  /* Listed once the reaper's descriptor exists, also while another thread
   * is still starting it: it reads the list when it begins. */
  bool running = R.efd >= 0;
  bool ok = false;
  if (running && R.n == R.cap) {
    int nc = R.cap ? 2 * R.cap : 16;
    int *nf = mt__realloc(R.fds, (size_t)nc * sizeof *nf);
    if (nf) R.fds = nf;
    pid_t *np = nf ? mt__realloc(R.pids, (size_t)nc * sizeof *np) : NULL;
    if (np) {
      R.pids = np;
      R.cap = nc;
    }
  }
  if (running && R.n < R.cap) {
    R.fds[R.n] = pidfd;
    R.pids[R.n++] = pid;
    mt__sys_eventfd_signal(R.efd);
    ok = true;
  }
  mt__mutex_unlock(&R.lock, false);
  return ok;
}

/* ---- construction -------------------------------------------------------- */

/* PATH candidates for name (one block: the array, then the strings). */
static char **path_candidates(const char *name, int *count) {
  if (strchr(name, '/')) {
    char **v = mt__malloc(sizeof(char *) + strlen(name) + 1);
    if (!v) return NULL;
    v[0] = (char *)(v + 1);
    strcpy(v[0], name);
    *count = 1;
    return v;
  }
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  int dirs = 1;
  for (const char *c = path; *c; c++) dirs += *c == ':';
  size_t nl = strlen(name);
  size_t bytes = (size_t)dirs * sizeof(char *) + strlen(path) + (size_t)dirs * (nl + 3);
  char **v = mt__malloc(bytes);
  if (!v) return NULL;
  char *o = (char *)(v + dirs);
  int k = 0;
  for (const char *c = path;;) {
    const char *e = strchr(c, ':');
    size_t dl = e ? (size_t)(e - c) : strlen(c);
    v[k++] = o;
    if (dl == 0) *o++ = '.'; /* an empty entry is the current directory */
    memcpy(o, c, dl);
    o += dl;
    *o++ = '/';
    memcpy(o, name, nl + 1);
    o += nl + 1;
    if (!e) break;
    c = e + 1;
  }
  *count = k;
  return v;
}

static void close_fd(int *fd) {
  if (*fd >= 0) mt__sys_close(*fd);
  *fd = -1;
}

/* Resolves one stream option: the child's descriptor in *child (closed by
 * the caller after the spawn when *owned) and the parent's end in
 * *parent.  0 or a code. */
static int stream(int opt, bool parent_reads, int *child, bool *owned, int *parent) {
  *child = -1;
  *owned = false;
  *parent = -1;
  if (opt == MT_SUBPROCESS_INHERIT) return 0;
  if (opt >= 0) {
    *child = opt;
    return 0;
  }
  if (opt == MT_SUBPROCESS_DEVNULL) {
    int fd = mt__sys_open_devnull();
    if (fd < 0) return fd;
    *child = fd;
    *owned = true;
    return 0;
  }
  if (opt != MT_SUBPROCESS_PIPE) return MT_EINVAL;
  int p[2];
  int r = mt__sys_pipe_make(false, p);
  if (r < 0) return r;
  *parent = parent_reads ? p[0] : p[1];
  *child = parent_reads ? p[1] : p[0];
  *owned = true;
  mt__sys_set_nonblock(*parent, true);
  return 0;
}

mt_popen_t *mt_popen_new(const char *const argv[], const mt_popen_opts_t *o) {
  mt_popen_opts_t def = MT_POPEN_OPTS_INIT;
  if (!o) o = &def;
  if (!argv || !argv[0] || !o || !mt__opts_size_ok(o->size, sizeof *o) ||
      o->stdin_fd == MT_SUBPROCESS_STDOUT || o->stdout_fd == MT_SUBPROCESS_STDOUT ||
      o->stdin_fd < MT_SUBPROCESS_STDOUT || o->stdout_fd < MT_SUBPROCESS_STDOUT ||
      o->stderr_fd < MT_SUBPROCESS_STDOUT || o->n_pass_fds < 0 ||
      (o->n_pass_fds > 0 && !o->pass_fds) || o->process_group < -1 || o->umask < -1)
    return mt__fail_null(MT_EINVAL);
  for (int i = 0; i < o->n_pass_fds; i++)
    if (o->pass_fds[i] < 0) return mt__fail_null(MT_EINVAL);
  mt_popen_t *p = mt__calloc(1, sizeof *p);
  int npaths = 0;
  char **paths = p ? path_candidates(argv[0], &npaths) : NULL;
  if (!paths) {
    mt__free(p);
    return mt__fail_null(MT_ENOMEM);
  }
  mt__mutex_init(&p->lock);
  p->fork_gen = mt__fork_generation();
  p->fd_in = p->fd_out = p->fd_err = -1;
  p->pidfd = -1;
  int cfd[3] = {-1, -1, -1};
  bool owned[3] = {false, false, false};
  int master = -1, slave = -1;
  int r = o->pty ? mt__sys_openpty(&master, &slave) : 0;
  if (r == 0 && o->pty) {
    /* INHERIT streams -> the slave; the parent talks to the master. */
    int opt[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
    for (int i = 0; i < 3; i++)
      if (opt[i] == MT_SUBPROCESS_INHERIT) cfd[i] = slave;
    mt__sys_set_nonblock(master, true);
    if (opt[1] == MT_SUBPROCESS_INHERIT) p->fd_out = master;
    if (opt[0] == MT_SUBPROCESS_INHERIT) {
      p->fd_in = p->fd_out < 0 ? master : mt__sys_dup_cloexec(master);
      if (p->fd_in < 0) r = p->fd_in;
    }
    if (p->fd_out != master && p->fd_in != master) close_fd(&master);
  }
  if (r == 0 && cfd[0] < 0) r = stream(o->stdin_fd, false, &cfd[0], &owned[0], &p->fd_in);
  if (r == 0 && cfd[1] < 0) r = stream(o->stdout_fd, true, &cfd[1], &owned[1], &p->fd_out);
  if (r == 0 && cfd[2] < 0) {
    if (o->stderr_fd == MT_SUBPROCESS_STDOUT) cfd[2] = MT__SPAWN_FD_STDOUT;
    else r = stream(o->stderr_fd, true, &cfd[2], &owned[2], &p->fd_err);
  }
  if (r == 0) {
    mt__spawn_t sp = {
        .paths = (const char *const *)paths, .npaths = npaths,
        .argv = (char *const *)argv, .envp = o->env ? o->env : environ,
        .fd = {cfd[0], cfd[1], cfd[2]}, .keep = o->pass_fds, .nkeep = o->n_pass_fds,
        .close_fds = o->close_fds, .cwd = o->cwd, .setsid = o->start_new_session || o->pty,
        .ctty = o->pty ? slave : -1,
        .pgid = o->process_group, .umask = o->umask, .preexec = o->preexec_fn,
        .preexec_arg = o->preexec_arg};
    /* A fork (preexec) goes through the exit gate (process_internal.h)
     * from right before fork() until it returns, inside the spawn's own
     * signal mask and under live_lock (taken first: nothing parks inside
     * the gate); clone(CLONE_VFORK) runs no at-fork handler and is not
     * refused. */
    sp.fork_enter = gate_enter;
    sp.fork_leave = gate_leave;
    live_lock();
    pid_t pid = live_reserve() ? mt__sys_spawn(&sp, &p->pidfd) : MT_ENOMEM;
    if (pid < 0) r = pid;
    else L.pids[L.n++] = p->pid = pid;
    live_unlock();
  }
  for (int i = 0; i < 3; i++)
    if (owned[i]) close_fd(&cfd[i]);
  close_fd(&slave); /* the parent's copy: the child has its own */
  mt__free(paths);
  if (r < 0) {
    close_fd(&p->fd_in);
    close_fd(&p->fd_out);
    close_fd(&p->fd_err);
    mt__free(p);
    return mt__fail_null(r);
  }
  return p;
}

mt_popen_t *mt_popen_new_shell(const char *cmd, const mt_popen_opts_t *opts) {
  if (!cmd) return mt__fail_null(MT_EINVAL);
  const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
  return mt_popen_new(argv, opts);
}

/* ---- waiting ----------------------------------------------------------------- */

static bool mine(const mt_popen_t *p) { return p && p->fork_gen == mt__fork_generation(); }

/* Reaps if it ended.  1 done, 0 running. */
static int try_reap(mt_popen_t *p) {
  if (atomic_load(&p->done)) return 1;
  mt__mutex_lock(&p->lock, false, MT__NO_DEADLINE);
  int r = 1;
  if (!atomic_load(&p->done)) {
    int code = 0;
    int k = mt__sys_reap_pidfd(p->pidfd, &code);
    if (k == 0) r = 0;
    else {
      p->returncode = k > 0 ? code : 255; /* reaped elsewhere (an any-child wait) */
      atomic_store(&p->done, true);
      live_remove(p->pid);
    }
  }
  mt__mutex_unlock(&p->lock, false);
  return r;
}

static int wait_until(mt_popen_t *p, int64_t dl) {
  for (;;) {
    if (try_reap(p)) return 0;
    int r = mt__wait_fd(p->pidfd, POLLIN, dl);
    if (r == MT_ETIMEDOUT) return try_reap(p) ? 0 : MT_ETIMEDOUT;
    if (r < 0) return r;
  }
}

int mt_popen_wait(mt_popen_t *p, double timeout, int *returncode) {
  int64_t dl;
  int r = mt__deadline(timeout, &dl);
  if (r) return r;
  if (!mine(p)) return MT_EINVAL;
  r = wait_until(p, dl);
  if (r == 0 && returncode) *returncode = p->returncode;
  return r;
}

int mt_popen_poll(mt_popen_t *p, int *returncode) {
  if (!mine(p)) return MT_EINVAL;
  if (!try_reap(p)) return MT_ERUNNING;
  if (returncode) *returncode = p->returncode;
  return 0;
}

int mt_popen_returncode(const mt_popen_t *p, int *returncode) {
  if (!p) return MT_EINVAL;
  if (!atomic_load(&p->done)) return MT_ERUNNING;
  if (returncode) *returncode = p->returncode;
  return 0;
}

int mt_popen_send_signal(mt_popen_t *p, int sig) {
  if (!mine(p) || sig < 0 || sig >= NSIG) return MT_EINVAL;
  if (atomic_load(&p->done)) return 0;
  int r = mt__sys_pidfd_send_signal(p->pidfd, sig);
  return r == MT_ESRCH ? 0 : r;
}
int mt_popen_terminate(mt_popen_t *p) { return mt_popen_send_signal(p, SIGTERM); }
int mt_popen_kill(mt_popen_t *p) { return mt_popen_send_signal(p, SIGKILL); }
pid_t mt_popen_pid(const mt_popen_t *p) { return p ? p->pid : 0; }
int mt_popen_stdin(const mt_popen_t *p) { return p ? p->fd_in : MT_EINVAL; }
int mt_popen_stdout(const mt_popen_t *p) { return p ? p->fd_out : MT_EINVAL; }
int mt_popen_stderr(const mt_popen_t *p) { return p ? p->fd_err : MT_EINVAL; }

/* ---- communicate ---------------------------------------------------------- */

#define READ_CHUNK (256 * 1024)
#define WRITE_CHUNK (1024 * 1024)

/* Reads what fd has now into b; closes fd at EOF.  0 or a code. */
static int drain(int *fd, struct buf *b) {
  for (int rounds = 0; rounds < 64; rounds++) {
    if (b->cap - b->len < READ_CHUNK + 1) {
      size_t nc = b->cap ? 2 * b->cap : 2 * READ_CHUNK;
      while (nc - b->len < READ_CHUNK + 1) nc *= 2;
      char *nd = mt__realloc(b->data, nc);
      if (!nd) return MT_ENOMEM;
      b->data = nd;
      b->cap = nc;
    }
    ssize_t n = mt__sys_read(*fd, b->data + b->len, READ_CHUNK);
    if (n == MT_EAGAIN) return 0;
    if (n <= 0) { /* EOF, or an error: this stream is over either way */
      close_fd(fd);
      return 0;
    }
    b->len += (size_t)n;
  }
  return 0;
}

static void feed(mt_popen_t *p) {
  while (p->in_off < p->in_len) {
    size_t n = p->in_len - p->in_off;
    if (n > WRITE_CHUNK) n = WRITE_CHUNK;
    ssize_t w = mt__sys_write_nosig(p->fd_in, p->in_data + p->in_off, n);
    if (w == MT_EAGAIN) return;
    if (w < 0) break; /* EPIPE: the child stopped reading, as Python ignores */
    p->in_off += (size_t)w;
  }
  close_fd(&p->fd_in); /* all written (or the reader is gone): EOF */
}

/* Hands a buffer to the caller (NUL-terminated), or NULL if no pipe. */
static int take(struct buf *b, bool had_pipe, char **out, size_t *len) {
  if (!out) {
    mt__free(b->data);
  } else if (!had_pipe) {
    *out = NULL;
    if (len) *len = 0;
  } else {
    if (!b->data && !(b->data = mt__malloc(1))) return MT_ENOMEM;
    b->data[b->len] = 0;
    *out = b->data;
    if (len) *len = b->len;
  }
  *b = (struct buf){0};
  return 0;
}

static int comm_loop(mt_popen_t *p, int64_t dl) {
  for (;;) {
    struct pollfd f[3];
    int n = 0;
    if (p->fd_in >= 0) f[n++] = (struct pollfd){.fd = p->fd_in, .events = POLLOUT};
    if (p->fd_out >= 0) f[n++] = (struct pollfd){.fd = p->fd_out, .events = POLLIN};
    if (p->fd_err >= 0) f[n++] = (struct pollfd){.fd = p->fd_err, .events = POLLIN};
    if (n == 0) return 0;
    int r = mt__wait_fds(f, n, dl);
    if (r < 0) return r; /* MT_ETIMEDOUT included */
    for (int i = 0; i < n; i++) {
      if (!f[i].revents) continue;
      if (f[i].fd == p->fd_in) feed(p);
      else if (f[i].fd == p->fd_out && (r = drain(&p->fd_out, &p->out)) < 0) return r;
      else if (f[i].fd == p->fd_err && (r = drain(&p->fd_err, &p->err)) < 0) return r;
    }
  }
}

int mt_popen_communicate(mt_popen_t *p, const void *input, size_t input_len, double timeout,
                         char **out, size_t *out_len, char **err, size_t *err_len) {
  int64_t dl;
  int r = mt__deadline(timeout, &dl);
  if (r) return r;
  if (!mine(p)) return MT_EINVAL;
  if (input && p->comm_started && input != (const void *)p->in_data) return MT_EINVAL;
  if (!p->comm_started) {
    p->comm_started = true;
    p->had_out = p->fd_out >= 0;
    p->had_err = p->fd_err >= 0;
    p->in_data = input;
    p->in_len = input ? input_len : 0;
    if (p->fd_in >= 0 && p->in_len == 0) close_fd(&p->fd_in); /* no input: EOF now */
  }
  r = comm_loop(p, dl);
  if (r == 0) r = wait_until(p, dl);
  if (r < 0) return r; /* ETIMEDOUT: everything stays for the next call */
  if (take(&p->out, p->had_out, out, out_len) < 0 || take(&p->err, p->had_err, err, err_len) < 0)
    return MT_ENOMEM;
  return 0;
}

void mt_popen_free(mt_popen_t *p) {
  if (!p) return;
  close_fd(&p->fd_in);
  close_fd(&p->fd_out);
  close_fd(&p->fd_err);
  if (mine(p) && p->pidfd >= 0) {
    if (try_reap(p) || !reaper_adopt(p->pidfd, p->pid)) mt__sys_close(p->pidfd);
  }
  mt__free(p->out.data);
  mt__free(p->err.data);
  mt__free(p);
}

/* ---- run / check_output ---------------------------------------------------- */

void mt_subprocess_result_clear(mt_subprocess_result_t *res) {
  if (!res) return;
  mt__free(res->stdout_data);
  mt__free(res->stderr_data);
  memset(res, 0, sizeof *res);
}

int mt_subprocess_run(const char *const argv[], const mt_popen_opts_t *popts,
                      const mt_subprocess_run_opts_t *ro, mt_subprocess_result_t *res) {
  mt_subprocess_run_opts_t rdef = MT_SUBPROCESS_RUN_OPTS_INIT;
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  if (!ro) ro = &rdef;
  if (!res || !mt__opts_size_ok(ro->size, sizeof *ro) || !mt__time_opt_ok(ro->timeout) ||
      (popts && !mt__opts_size_ok(popts->size, sizeof *popts)))
    return MT_EINVAL;
  memset(res, 0, sizeof *res);
  if (popts) o = *popts;
  if (ro->input) {
    if (o.stdin_fd != MT_SUBPROCESS_INHERIT) return MT_EINVAL; /* Python: ValueError */
    o.stdin_fd = MT_SUBPROCESS_PIPE;
  }
  if (ro->capture_output) {
    if (o.stdout_fd != MT_SUBPROCESS_INHERIT || o.stderr_fd != MT_SUBPROCESS_INHERIT)
      return MT_EINVAL;
    o.stdout_fd = o.stderr_fd = MT_SUBPROCESS_PIPE;
  }
  mt_popen_t *p = mt_popen_new(argv, &o);
  if (!p) return -errno;
  int r = mt_popen_communicate(p, ro->input, ro->input_len, ro->timeout, &res->stdout_data,
                               &res->stdout_len, &res->stderr_data, &res->stderr_len);
  if (r == MT_ETIMEDOUT) {
    /* Python kills and reaps; we hand over what was read so far without
     * waiting for EOF (a grandchild may hold the pipes open forever). */
    mt_popen_kill(p);
    wait_until(p, MT__NO_DEADLINE);
    take(&p->out, p->had_out, &res->stdout_data, &res->stdout_len);
    take(&p->err, p->had_err, &res->stderr_data, &res->stderr_len);
  } else if (r < 0) {
    mt_popen_kill(p);
    wait_until(p, MT__NO_DEADLINE);
  }
  res->returncode = p->returncode;
  mt_popen_free(p);
  if (r == 0 && ro->check && res->returncode != 0) r = MT_ETASKFAILED;
  return r;
}

int mt_subprocess_check_output(const char *const argv[], const mt_popen_opts_t *popts,
                               double timeout, char **out, size_t *out_len, int *returncode) {
  if (!out) return MT_EINVAL;
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  if (popts) {
    if (!mt__opts_size_ok(popts->size, sizeof *popts)) return MT_EINVAL;
    o = *popts;
  }
  o.stdout_fd = MT_SUBPROCESS_PIPE;
  mt_subprocess_run_opts_t ro = MT_SUBPROCESS_RUN_OPTS_INIT;
  ro.timeout = timeout;
  ro.check = true;
  mt_subprocess_result_t res = {0};
  int r = mt_subprocess_run(argv, &o, &ro, &res);
  if (returncode) *returncode = res.returncode;
  *out = res.stdout_data;
  if (out_len) *out_len = res.stdout_len;
  res.stdout_data = NULL;
  if (r < 0 && r != MT_ETASKFAILED) {
    mt__free(*out);
    *out = NULL;
  }
  mt_subprocess_result_clear(&res);
  return r;
}
