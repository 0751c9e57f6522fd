/* Signal masks (issue 10, item 9):
 *  - a user thread's mask is the same after a library call as before (a
 *    pipe send to a closed peer used to leave SIGPIPE blocked);
 *  - every child the library starts begins with the mask of the thread
 *    that called mt_process_start / mt_pool_new, whichever library thread
 *    forks it (the forker, the pool's manager);
 *  - every internal thread (pool manager, forker, timer thread, executor
 *    workers) blocks every signal.
 * Masks are read where the kernel shows them: SigBlk in /proc/.../status.
 * The cases run in this order on purpose: the first daemon start from a
 * non-main thread (in terminate_child_of_library_thread) creates the
 * process part's forker thread, from a thread that blocks SIGTERM. */
#include "mt_test.h"
#include "platform/platform.h"

#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- masks ------------------------------------------------------------ */

/* SigBlk of /proc/self/task/<tid>/status (tid 0: /proc/self/status). */
static uint64_t sigblk(int32_t tid) {
  char path[64], buf[2048];
  if (tid) snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
  else snprintf(path, sizeof path, "/proc/self/status");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ~(uint64_t)0 - 1; /* gone: never equal to a mask */
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = 0;
  const char *p = strstr(buf, "SigBlk:");
  unsigned long long v = 0;
  if (!p || sscanf(p + 7, "%llx", &v) != 1) return ~(uint64_t)0 - 1;
  return (uint64_t)v;
}

static uint64_t own_mask(void) { return sigblk(mt__gettid()); }

static uint64_t bit(int sig) { return (uint64_t)1 << (sig - 1); }

/* Every signal a thread can block (not SIGKILL, SIGSTOP, nor glibc's two
 * internal ones, 32 and 33). */
static uint64_t all_blockable(void) {
  uint64_t m = 0;
  for (int s = 1; s <= 64; s++)
    if (s != SIGKILL && s != SIGSTOP && s != 32 && s != 33) m |= bit(s);
  return m;
}

static void set_mask(uint64_t m) {
  sigset_t s;
  sigemptyset(&s);
  for (int i = 1; i <= 64; i++)
    if (m & bit(i)) sigaddset(&s, i);
  pthread_sigmask(SIG_SETMASK, &s, NULL);
}

/* Runs fn(arg) on a new pthread whose mask is `mask`, and joins it. */
typedef struct {
  uint64_t mask;
  void (*fn)(void *);
  void *arg;
} on_thread_t;

static void *on_thread_main(void *p) {
  on_thread_t *o = p;
  set_mask(o->mask);
  o->fn(o->arg);
  return NULL;
}

static void run_on_thread(uint64_t mask, void (*fn)(void *), void *arg) {
  on_thread_t o = {mask, fn, arg};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, on_thread_main, &o), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
}

/* ---- 1. a pipe send to a closed peer leaves the caller's mask -------- */

typedef struct {
  uint64_t before, after;
  int rc;
  int pending; /* SIGPIPE pending in this thread afterwards */
} send_probe_t;

static void send_to_closed(void *arg) {
  send_probe_t *s = arg;
  mt_conn_t *r, *w;
  if (mt_pipe_new(false, &r, &w) < 0) return;
  mt_conn_close(r);
  s->before = own_mask();
  s->rc = mt_conn_send_bytes(w, "x", 1, 5);
  s->after = own_mask();
  sigset_t p;
  sigpending(&p);
  s->pending = sigismember(&p, SIGPIPE);
  mt_conn_free(r);
  mt_conn_free(w);
}

static void pipe_send_keeps_mask(void **state) {
  (void)state;
  send_probe_t s = {0};
  run_on_thread(0, send_to_closed, &s); /* SIGPIPE not blocked */
  assert_code(s.rc, MT_ECLOSED);
  assert_true(s.before == 0);
  if (s.after != s.before) fail_msg("mask 0x%llx after the send, 0x%llx before",
                                    (unsigned long long)s.after, (unsigned long long)s.before);
  assert_int_equal(s.pending, 0);

  memset(&s, 0, sizeof s);
  run_on_thread(bit(SIGPIPE) | bit(SIGUSR1), send_to_closed, &s); /* the user blocks it */
  assert_code(s.rc, MT_ECLOSED);
  assert_true(s.before == (bit(SIGPIPE) | bit(SIGUSR1)));
  assert_true(s.after == s.before);
}

/* ---- 2. a child forked by the forker gets its starter's mask ---------- */

typedef struct {
  mt_conn_t *r, *w;   /* the child sends its mask on w */
  mt_process_t *p;
  int start_rc;
} child_t;

static int report_and_wait(void *arg) {
  child_t *c = arg;
  uint64_t m = sigblk(0);
  mt_conn_send_bytes(c->w, &m, sizeof m, MT_FOREVER);
  for (;;) pause(); /* until a signal ends it */
  return 0;
}

static void start_daemon(void *arg) {
  child_t *c = arg;
  mt_process_opts_t o = MT_PROCESS_OPTS_INIT;
  o.daemon = true; /* daemon + not main: via the forker */
  c->p = mt_process_new(report_and_wait, c, &o);
  c->start_rc = c->p ? mt_process_start(c->p) : MT_ENOMEM;
}

static uint64_t child_mask(child_t *c) {
  uint64_t m = 0;
  size_t len = 0;
  assert_code(mt_conn_recv_bytes_into(c->r, &m, sizeof m, &len, 20), 0);
  assert_int_equal(len, sizeof m);
  return m;
}

static void terminate_child_of_library_thread(void **state) {
  (void)state;
  child_t a = {0}, b = {0};
  assert_code(mt_pipe_new(false, &a.r, &a.w), 0);
  assert_code(mt_pipe_new(false, &b.r, &b.w), 0);
  /* A blocks SIGTERM: its child starts with SIGTERM blocked (its mask) */
  run_on_thread(bit(SIGTERM), start_daemon, &a);
  assert_code(a.start_rc, 0);
  assert_true(child_mask(&a) == bit(SIGTERM));
  /* B blocks nothing: its child must not inherit the forker's mask */
  run_on_thread(0, start_daemon, &b);
  assert_code(b.start_rc, 0);
  uint64_t mb = child_mask(&b);
  if (mb != 0) fail_msg("child of a thread blocking nothing starts with mask 0x%llx",
                        (unsigned long long)mb);
  assert_code(mt_process_terminate(b.p), 0);
  assert_code(mt_process_join(b.p, 20), 0);
  int code = 0;
  assert_code(mt_process_exitcode(b.p, &code), 0);
  assert_int_equal(code, -SIGTERM);

  assert_code(mt_process_kill(a.p), 0);
  assert_code(mt_process_join(a.p, 20), 0);
  mt_process_free(a.p);
  mt_process_free(b.p);
  mt_conn_free(a.r), mt_conn_free(a.w), mt_conn_free(b.r), mt_conn_free(b.w);
}

/* ---- 3. pool workers start with the mask of mt_pool_new's caller ------ */

typedef struct {
  uint64_t mask;
  int pid;
} wmask_t;

static int worker_mask(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len;
  static wmask_t m;
  m.mask = sigblk(0);
  m.pid = getpid();
  out->ptr = &m;
  out->len = sizeof m;
  return 0;
}

typedef struct {
  uint64_t caller;
  wmask_t first, replaced;
  int rc1, rc2;
} pool_probe_t;

static int ask(mt_pool_t *p, wmask_t *out) {
  mt_value_t v = {0};
  int r = mt_pool_apply(p, worker_mask, NULL, 0, MT_FOREVER, &v);
  if (r == 0) {
    memcpy(out, v.ptr, sizeof *out);
    if (v.free_fn) v.free_fn(v.ptr);
  }
  return r;
}

static void pool_from_thread(void *arg) {
  pool_probe_t *pp = arg;
  pp->caller = own_mask();
  mt_pool_opts_t popts = MT_POOL_OPTS_INIT;
  popts.processes = 1;
  mt_pool_t *p = mt_pool_new(&popts);
  if (!p) return;
  pp->rc1 = ask(p, &pp->first);
  /* kill the worker: the manager thread forks its replacement */
  if (pp->rc1 == 0) kill(pp->first.pid, SIGKILL);
  int64_t give_up = mt__now_ns() + 30 * (int64_t)1000000000;
  do pp->rc2 = ask(p, &pp->replaced); /* MT_EWORKERDIED while it dies */
  while ((pp->rc2 != 0 || pp->replaced.pid == pp->first.pid) && mt__now_ns() < give_up);
  mt_pool_free(p);
}

static void pool_children_get_callers_mask(void **state) {
  (void)state;
  pool_probe_t pp = {0};
  run_on_thread(bit(SIGUSR1) | bit(SIGUSR2), pool_from_thread, &pp);
  assert_true(pp.caller == (bit(SIGUSR1) | bit(SIGUSR2)));
  assert_code(pp.rc1, 0);
  if (pp.first.mask != pp.caller)
    fail_msg("first worker's mask 0x%llx, caller's 0x%llx", (unsigned long long)pp.first.mask,
             (unsigned long long)pp.caller);
  assert_code(pp.rc2, 0);
  assert_true(pp.replaced.pid != pp.first.pid);
  if (pp.replaced.mask != pp.caller)
    fail_msg("replacement worker's mask 0x%llx, caller's 0x%llx",
             (unsigned long long)pp.replaced.mask, (unsigned long long)pp.caller);
}

/* ---- 4. internal threads block every signal --------------------------- */

static int32_t startup_tids[64];
static int n_startup;

static bool is_startup(int32_t tid) {
  for (int i = 0; i < n_startup; i++)
    if (startup_tids[i] == tid) return true;
  return false;
}

static void snapshot_startup_tids(void) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  while (d && (e = readdir(d)) && n_startup < 64)
    if (e->d_name[0] != '.') startup_tids[n_startup++] = atoi(e->d_name);
  if (d) closedir(d);
}

static void fire(void *arg) { __atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE); }

static int task_one(void *arg, mt_value_t *out) {
  (void)arg;
  out->ptr = (void *)1;
  return 0;
}

static void start_daemon_and_kill(void *unused) {
  (void)unused;
  child_t c = {0};
  if (mt_pipe_new(false, &c.r, &c.w) < 0) return;
  start_daemon(&c);
  if (c.start_rc == 0) {
    child_mask(&c);
    mt_process_kill(c.p);
    mt_process_join(c.p, 20);
  }
  mt_process_free(c.p);
  mt_conn_free(c.r);
  mt_conn_free(c.w);
}

static void internal_threads_block_everything(void **state) {
  (void)state;
  set_mask(0);
  /* timer thread */
  int fired = 0;
  mt_timer_t *tm = mt_timer_new(0, fire, &fired);
  assert_non_null(tm);
  assert_code(mt_timer_start(tm), 0);
  assert_code(mt_timer_join(tm, 20), 0);
  assert_int_equal(fired, 1);
  /* executor worker */
  mt_executor_t *ex = mt_executor_new_thread_pool(NULL);
  assert_non_null(ex);
  mt_future_t *f = NULL;
  assert_code(mt_executor_submit(ex, task_one, NULL, &f), 0);
  mt_value_t v;
  assert_code(mt_future_result(f, 20, &v), 0);
  mt_future_free(f);
  /* pool manager */
  mt_pool_opts_t popts2 = MT_POOL_OPTS_INIT;
  popts2.processes = 1;
  mt_pool_t *p = mt_pool_new(&popts2);
  assert_non_null(p);
  /* forker (a daemon started from a thread that is not main) */
  run_on_thread(0, start_daemon_and_kill, NULL);

  DIR *d = opendir("/proc/self/task");
  assert_non_null(d);
  struct dirent *e;
  int checked = 0, bad = 0;
  uint64_t want = all_blockable();
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    int32_t tid = atoi(e->d_name);
    if (tid == mt__gettid() || is_startup(tid)) continue;
    uint64_t m = sigblk(tid);
    if (m == ~(uint64_t)0 - 1) continue; /* exited meanwhile */
    checked++;
    if ((m & want) != want) {
      char comm[64] = "?";
      char path[64];
      snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
      FILE *cf = fopen(path, "r");
      if (cf) {
        if (fgets(comm, sizeof comm, cf)) comm[strcspn(comm, "\n")] = 0;
        fclose(cf);
      }
      print_message("internal thread %d (%s) mask 0x%llx, not every signal\n", (int)tid, comm,
                    (unsigned long long)m);
      bad++;
    }
  }
  closedir(d);
  mt_pool_free(p);
  mt_executor_free(ex);
  mt_timer_free(tm);
  assert_true(checked >= 4); /* timer, executor worker, pool manager, forker */
  assert_int_equal(bad, 0);
}

int main(void) {
  snapshot_startup_tids();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pipe_send_keeps_mask),
      cmocka_unit_test(terminate_child_of_library_thread),
      cmocka_unit_test(pool_children_get_callers_mask),
      cmocka_unit_test(internal_threads_block_everything),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
