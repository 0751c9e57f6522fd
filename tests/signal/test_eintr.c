/* test_eintr.c - mt_signal_set_interruptible: a thread that opted in has
 * its blocked library wait return MT_EINTR once a handler has run, on
 * every wait path (private futex: Lock, Semaphore, queue; shared futex:
 * MT_SHARED Semaphore and Event; descriptor poll: pipe receive, connection
 * wait; thread join), never loses a wake (an interrupted waiter passes on a
 * release it took), keeps an interrupt that arrives between waits for the
 * next one, and leaves threads that did not opt in alone.  Registered
 * twice: with futex_waitv and with MT_NO_FUTEX_WAITV=1 (the sliced
 * fallback).  The cases that fork (is_alive of the parent in a child,
 * the grandchild of a double fork and of daemonize) run as a third
 * registration, signal_eintr_fork (label fork). */
#include "mt_test.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

struct race;
static void give(struct race *r);
static struct race *_Atomic give_in_handler; /* the race below */
static atomic_long handled;
static void on_usr1(int sig, void *arg) {
  (void)sig;
  (void)arg;
  struct race *r = atomic_exchange(&give_in_handler, NULL);
  if (r) give(r); /* right before the library raises the interrupts */
  atomic_fetch_add(&handled, 1);
}
static void noop(int sig, void *arg) {
  (void)sig;
  (void)arg;
}

static int setup(void **s) {
  (void)s;
  return mt_signal_signal(SIGUSR1, on_usr1, NULL) || mt_signal_signal(SIGUSR2, noop, NULL);
}
static int teardown(void **s) {
  (void)s;
  return mt_signal_signal(SIGUSR1, MT_SIG_DFL, NULL) ||
         mt_signal_signal(SIGUSR2, MT_SIG_DFL, NULL);
}

/* Waits until thread tid sleeps in a futex or poll call, i.e. inside the
 * wait it was asked to make (no sleep: it looks at the thread itself). */
static void wait_blocked(pid_t tid) {
  for (long i = 0;; i++) {
    long nr = mt_test_task_syscall(tid);
    if (mt_test_task_state(tid) == 'S' &&
        (nr == SYS_futex || nr == SYS_ppoll ||
#ifdef SYS_futex_waitv
         nr == SYS_futex_waitv ||
#endif
#ifdef SYS_poll
         nr == SYS_poll ||
#endif
         (nr < 0 && i > 1000))) /* /proc/.../syscall unreadable (qemu): the state only */
      return;
    if (i > 2000000) fail_msg("thread %d never blocked (syscall %ld)", (int)tid, nr);
    sched_yield();
  }
}

/* ---- one blocked wait, interrupted ----------------------------------- */

struct job {
  int (*op)(struct job *);
  void *obj, *obj2;
  int opt_in;
  _Atomic pid_t tid;
  int result, again;
};

static void *job_main(void *arg) {
  struct job *j = arg;
  if (j->opt_in) assert_code(mt_signal_set_interruptible(1), 0);
  atomic_store(&j->tid, (pid_t)syscall(SYS_gettid));
  j->result = j->op(j);
  return NULL;
}

static mt_thread_t *start_job(struct job *j) {
  atomic_store(&j->tid, 0);
  mt_thread_t *t = mt_thread_spawn(job_main, j, NULL);
  assert_non_null(t);
  while (atomic_load(&j->tid) == 0) sched_yield();
  wait_blocked(atomic_load(&j->tid));
  return t;
}

/* Starts op in an opted-in thread, waits until it blocks, raises SIGUSR1
 * (returns once the handler ran) and expects MT_EINTR from op. */
static void expect_eintr(int (*op)(struct job *), void *obj, void *obj2) {
  struct job j = {.op = op, .obj = obj, .obj2 = obj2, .opt_in = 1};
  long before = atomic_load(&handled);
  mt_thread_t *t = start_job(&j);
  assert_code(mt_signal_raise_signal(SIGUSR1), 0);
  assert_code(mt_thread_join(t, 30, NULL), 0);
  mt_thread_free(t);
  assert_true(atomic_load(&handled) > before);
  assert_code(j.result, MT_EINTR);
}

static int op_lock(struct job *j) { return mt_lock_acquire(j->obj, MT_FOREVER); }
static int op_sem(struct job *j) { return mt_sem_acquire(j->obj, MT_FOREVER); }
static int op_event(struct job *j) { return mt_event_wait(j->obj, MT_FOREVER); }
static int op_queue_get(struct job *j) {
  void *item;
  return mt_queue_get(j->obj, &item, MT_FOREVER);
}
static int op_recv(struct job *j) {
  char buf[16];
  size_t len;
  return mt_conn_recv_bytes_into(j->obj, buf, sizeof buf, &len, MT_FOREVER);
}
static int op_conn_wait(struct job *j) {
  mt_waitable_t w[2] = {{.kind = MT_WAIT_CONN, .obj = j->obj},
                        {.kind = MT_WAIT_QUEUE, .obj = j->obj2}};
  return mt_conn_wait(w, 2, MT_FOREVER);
}
static int op_join(struct job *j) { return mt_thread_join(j->obj, MT_FOREVER, NULL); }
static int op_cond(struct job *j) {
  mt_lock_t *l = j->obj2;
  if (mt_lock_acquire(l, MT_FOREVER) != 0) return MT_EIO;
  int r = mt_cond_wait(j->obj, MT_FOREVER);
  j->again = mt_lock_is_locked(l); /* the lock is held again, as Python's wait */
  mt_lock_release(l);
  return r;
}
static int op_barrier(struct job *j) { return mt_barrier_wait(j->obj, MT_FOREVER); }
static int op_future(struct job *j) {
  mt_value_t v;
  return mt_future_result(j->obj, MT_FOREVER, &v);
}

static void test_private_futex(void **s) {
  (void)s;
  mt_lock_t *l = mt_lock_new(0);
  assert_code(mt_lock_acquire(l, 0), 0);
  expect_eintr(op_lock, l, NULL);
  mt_lock_release(l);
  mt_lock_free(l);

  mt_sem_t *sem = mt_sem_new(0, 0);
  expect_eintr(op_sem, sem, NULL);
  assert_int_equal(mt_sem_value(sem), 0);
  mt_sem_free(sem);

  mt_lock_t *cl = mt_lock_new(0);
  mt_cond_t *c = mt_cond_new(cl, 0);
  assert_non_null(c);
  struct job j = {.op = op_cond, .obj = c, .obj2 = cl, .opt_in = 1};
  mt_thread_t *t = start_job(&j);
  assert_code(mt_signal_raise_signal(SIGUSR1), 0);
  assert_code(mt_thread_join(t, 30, NULL), 0);
  mt_thread_free(t);
  assert_code(j.result, MT_EINTR);
  assert_int_equal(j.again, 1);
  mt_cond_free(c);
  mt_lock_free(cl);

  mt_barrier_t *b = mt_barrier_new(2, NULL, NULL, MT_FOREVER, 0);
  assert_non_null(b);
  expect_eintr(op_barrier, b, NULL);
  mt_barrier_free(b);

  mt_future_t *f = mt_future_new();
  expect_eintr(op_future, f, NULL);
  mt_future_free(f);

  mt_queue_t *q = mt_queue_new(0);
  expect_eintr(op_queue_get, q, NULL);
  assert_code(mt_queue_put(q, (void *)1, 0), 0); /* the queue still works */
  void *it;
  assert_code(mt_queue_get(q, &it, 0), 0);
  mt_queue_free(q);
}

static void test_shared_futex(void **s) {
  (void)s;
  mt_sem_t *sem = mt_sem_new(0, MT_SHARED);
  assert_non_null(sem);
  expect_eintr(op_sem, sem, NULL);
  mt_sem_free(sem);
  mt_event_t *ev = mt_event_new(MT_SHARED);
  assert_non_null(ev);
  expect_eintr(op_event, ev, NULL);
  mt_event_free(ev);
}

static void test_descriptor_poll(void **s) {
  (void)s;
  mt_conn_t *a, *b;
  assert_code(mt_pipe_new(false, &a, &b), 0);
  expect_eintr(op_recv, a, NULL);
  /* nothing was lost or half-read: a message sent now arrives whole */
  assert_code(mt_conn_send_bytes(b, "hello", 5, 5), 0);
  char buf[16];
  size_t len = 0;
  assert_code(mt_conn_recv_bytes_into(a, buf, sizeof buf, &len, 5), 0);
  assert_int_equal(len, 5);
  assert_memory_equal(buf, "hello", 5);

  mt_queue_t *q = mt_queue_new(0);
  expect_eintr(op_conn_wait, a, q);
  mt_queue_free(q);
  mt_conn_free(a);
  mt_conn_free(b);
}

static void *wait_event(void *ev) {
  mt_event_wait(ev, MT_FOREVER);
  return (void *)7;
}

static void test_thread_join(void **s) {
  (void)s;
  mt_event_t *ev = mt_event_new(0);
  mt_thread_t *t = mt_thread_spawn(wait_event, ev, NULL);
  expect_eintr(op_join, t, NULL);
  mt_event_set(ev);
  void *res = NULL;
  assert_code(mt_thread_join(t, 30, &res), 0); /* joined normally afterwards */
  assert_ptr_equal(res, (void *)7);
  mt_thread_free(t);
  mt_event_free(ev);
}

/* A thread that did not opt in is not interrupted (PEP 475): its wait
 * ends only with the event. */
static void test_not_opted_in(void **s) {
  (void)s;
  mt_event_t *ev = mt_event_new(0);
  struct job j = {.op = op_event, .obj = ev, .opt_in = 0};
  mt_thread_t *t = start_job(&j);
  long before = atomic_load(&handled);
  assert_code(mt_signal_raise_signal(SIGUSR1), 0);
  assert_true(atomic_load(&handled) > before);
  assert_int_equal(mt_thread_is_alive(t), 1);
  mt_event_set(ev);
  assert_code(mt_thread_join(t, 30, NULL), 0);
  assert_code(j.result, 0);
  mt_thread_free(t);
  mt_event_free(ev);
}

/* The interrupt is kept until a wait that blocks takes it, exactly once;
 * calls that need not block do not take it; opting out drops it. */
static void test_pending_one_shot(void **s) {
  (void)s;
  mt_sem_t *sem = mt_sem_new(0, 0);
  mt_lock_t *l = mt_lock_new(0);
  assert_int_equal(mt_signal_is_interruptible(), 0);
  assert_code(mt_signal_set_interruptible(1), 0);
  assert_int_equal(mt_signal_is_interruptible(), 1);
  assert_code(mt_signal_raise_signal(SIGUSR1), 0); /* handler ran: interrupt raised */
  assert_code(mt_sem_acquire(sem, 0), MT_ETIMEDOUT); /* timeout 0 never blocks */
  assert_code(mt_lock_acquire(l, MT_FOREVER), 0);    /* free: no wait */
  mt_lock_release(l);
  assert_code(mt_sem_acquire(sem, 30), MT_EINTR); /* at once */
  assert_code(mt_sem_acquire(sem, 0.02), MT_ETIMEDOUT); /* taken: one per handler run */

  /* one raise per handler run, whatever the number of waits */
  assert_code(mt_signal_raise_signal(SIGUSR1), 0);
  assert_code(mt_signal_raise_signal(SIGUSR1), 0);
  assert_code(mt_sem_acquire(sem, 30), MT_EINTR);
  assert_code(mt_sem_acquire(sem, 0.02), MT_ETIMEDOUT);

  /* a wake wins over an interrupt, which then stays for the next wait */
  assert_code(mt_signal_raise_signal(SIGUSR1), 0);
  assert_code(mt_sem_release(sem, 1), 0);
  assert_code(mt_sem_acquire(sem, 30), 0);
  assert_code(mt_sem_acquire(sem, 30), MT_EINTR);

  /* opting out drops a raised interrupt */
  assert_code(mt_signal_raise_signal(SIGUSR1), 0);
  assert_code(mt_signal_set_interruptible(0), 1);
  assert_int_equal(mt_signal_is_interruptible(), 0);
  assert_code(mt_signal_set_interruptible(1), 0);
  assert_code(mt_sem_acquire(sem, 0.02), MT_ETIMEDOUT);
  assert_code(mt_signal_set_interruptible(1), 1); /* already on */
  assert_code(mt_signal_set_interruptible(0), 1);
  assert_code(mt_signal_set_interruptible(0), 0);
  mt_lock_free(l);
  mt_sem_free(sem);
}

static int in_task(void *arg, mt_value_t *out) {
  (void)out;
  *(int *)arg = mt_signal_set_interruptible(1);
  return 0;
}

/* Review finding 6: a thread that opted in before it runs a hub can opt
 * out from inside it (opting in stays refused there). */
static int out_task(void *arg, mt_value_t *out) {
  (void)out;
  *(int *)arg = mt_signal_set_interruptible(0);
  return 0;
}

static void test_bad_arguments(void **s) {
  (void)s;
  assert_code(mt_signal_set_interruptible(2), MT_EINVAL);
  assert_code(mt_signal_set_interruptible(-1), MT_EINVAL);
  assert_int_equal(mt_signal_is_interruptible(), 0);
  /* tasks of a hub are never interrupted: refused there */
  int r = 0;
  assert_code(mt_hub_run(in_task, &r, NULL), 0);
  assert_code(r, MT_EPERM);
  assert_int_equal(mt_signal_is_interruptible(), 0);
  assert_code(mt_signal_set_interruptible(1), 0);
  r = 99;
  assert_code(mt_hub_run(out_task, &r, NULL), 0);
  assert_code(r, 1); /* was MT_EPERM */
  assert_int_equal(mt_signal_is_interruptible(), 0);
}

/* ---- no lost wake ----------------------------------------------------
 * A (opted in) and B (not) block on the same object; ONE unit is handed
 * out as the signal is handled (by the handler itself, right before the
 * interrupt is raised, or by the main thread just before or after kill).  A either
 * takes the unit or returns MT_EINTR; in the second case the unit must
 * reach B (A passes on a wake it consumed), else B times out.  If A took
 * it, a second unit is handed to B.  Totals are checked exactly. */
struct race {
  void *obj;
  bool queue;
  long got_a, intr_a, got_b;
};

static int take(struct race *r, double timeout) {
  if (r->queue) {
    void *it;
    return mt_queue_get(r->obj, &it, timeout);
  }
  return mt_sem_acquire(r->obj, timeout);
}
static void give(struct race *r) {
  if (r->queue) assert_code(mt_queue_put(r->obj, (void *)1, 0), 0);
  else assert_code(mt_sem_release(r->obj, 1), 0);
}

static int op_race_a(struct job *j) { return take(j->obj, MT_FOREVER); }
static int op_race_b(struct job *j) { return take(j->obj, 20); }

static void race(struct race *r, long rounds) {
  for (long i = 0; i < rounds; i++) {
    struct job a = {.op = op_race_a, .obj = r, .opt_in = 1};
    struct job b = {.op = op_race_b, .obj = r, .opt_in = 0};
    mt_thread_t *ta = start_job(&a), *tb = start_job(&b);
    long before = atomic_load(&handled);
    if (i % 4 == 3) { /* the interrupt is raised first: A surely returns MT_EINTR */
      assert_code(mt_signal_raise_signal(SIGUSR1), 0);
      give(r);
    } else if (i % 4 == 0) {
      atomic_store(&give_in_handler, r);
      assert_code(mt_signal_kill(getpid(), SIGUSR1), 0);
    } else if (i % 4 == 1) {
      give(r);
      assert_code(mt_signal_kill(getpid(), SIGUSR1), 0);
    } else {
      assert_code(mt_signal_kill(getpid(), SIGUSR1), 0);
      give(r);
    }
    assert_code(mt_thread_join(ta, 30, NULL), 0);
    if (a.result == 0) {
      r->got_a++;
      give(r);
    } else {
      assert_code(a.result, MT_EINTR);
      r->intr_a++;
    }
    assert_code(mt_thread_join(tb, 30, NULL), 0);
    assert_code(b.result, 0); /* the unit reached B: no lost wake */
    r->got_b++;
    mt_thread_free(ta);
    mt_thread_free(tb);
    /* this round's handler has run (kill is asynchronous) and finished
     * raising (handlers run one at a time): no interrupt reaches the next
     * round's A */
    while (atomic_load(&handled) == before) sched_yield();
    assert_code(mt_signal_raise_signal(SIGUSR2), 0);
  }
}

static void check_race(const char *what, void *obj, bool queue) {
  long rounds = mt_test_scaled(150, 10);
  struct race r = {.obj = obj, .queue = queue};
  race(&r, rounds);
  printf("# %s: %ld rounds, A took the unit %ld times, was interrupted %ld times\n", what,
         rounds, r.got_a, r.intr_a);
  assert_int_equal(r.got_a + r.intr_a, rounds);
  assert_int_equal(r.got_b, rounds);
}

static void test_no_lost_wake(void **s) {
  (void)s;
  mt_sem_t *sem = mt_sem_new(0, 0);
  check_race("semaphore", sem, false);
  assert_int_equal(mt_sem_value(sem), 0);
  mt_sem_free(sem);
  sem = mt_sem_new(0, MT_SHARED);
  check_race("MT_SHARED semaphore", sem, false);
  assert_int_equal(mt_sem_value(sem), 0);
  mt_sem_free(sem);
  mt_queue_t *q = mt_queue_new(0);
  check_race("queue", q, true);
  assert_int_equal(mt_queue_qsize(q), 0);
  mt_queue_free(q);
}

/* Review finding 2: with an interrupt pending, a descriptor wait that need
 * not block (timeout 0, or the data already there) finishes normally and
 * leaves the interrupt for the next wait that blocks. */
static void test_ready_now_keeps_interrupt(void **s) {
  (void)s;
  mt_conn_t *rd, *wr;
  assert_code(mt_pipe_new(false, &rd, &wr), 0);
  mt_sem_t *sem = mt_sem_new(0, 0);
  mt_waitable_t w[1] = {{.kind = MT_WAIT_CONN, .obj = rd}};
  assert_code(mt_signal_set_interruptible(1), 0);

  assert_code(mt_conn_send_bytes(wr, "x", 1, 5), 0);
  assert_code(mt_signal_raise_signal(SIGUSR2), 0); /* handler ran: interrupt raised */
  assert_code(mt_conn_poll(rd, 0), 1);              /* a frame is there */
  assert_code(mt_conn_wait(w, 1, 0), 1);
  char buf[8];
  size_t len = 0;
  assert_code(mt_conn_recv_bytes_into(rd, buf, sizeof buf, &len, MT_FOREVER), 0);
  assert_int_equal(len, 1);
  assert_code(mt_conn_poll(rd, 0), 0);    /* timeout 0, nothing there: no wait */
  assert_code(mt_conn_wait(w, 1, 0), 0);
  assert_code(mt_sem_acquire(sem, 30), MT_EINTR); /* kept for this one */

  assert_code(mt_signal_set_interruptible(0), 1);
  mt_sem_free(sem);
  mt_conn_free(rd);
  mt_conn_free(wr);
}

/* ... and mt_process_is_alive(parent) in a child says 1, not "dead". */
static int child_alive(void *arg) {
  (void)arg;
  mt_sem_t *sem = mt_sem_new(0, 0);
  if (!sem || mt_signal_set_interruptible(1) < 0) return 10;
  if (mt_process_is_alive(mt_process_parent()) != 1) return 11;
  if (mt_signal_raise_signal(SIGUSR2) != 0) return 12;
  if (mt_process_is_alive(mt_process_parent()) != 1) return 13; /* was 0 */
  if (mt_process_join(mt_process_parent(), 0) != MT_ETIMEDOUT) return 14;
  if (mt_sem_acquire(sem, 30) != MT_EINTR) return 15; /* still pending */
  return 0;
}

static void test_child_parent_alive(void **s) {
  (void)s;
  mt_process_t *p = mt_process_new(child_alive, NULL, NULL);
  assert_non_null(p);
  assert_code(mt_process_start(p), 0);
  assert_code(mt_process_join(p, 60), 0);
  int code = -1;
  assert_code(mt_process_exitcode(p, &code), 0);
  assert_int_equal(code, 0);
  mt_process_free(p);
}

/* Review finding 3: a grandchild of mt_os_double_fork / mt_os_daemonize
 * made by an opted-in thread keeps the setting and its record works: a
 * handler run interrupts its next wait, opting in again says "already",
 * and (daemon) opting out closes no descriptor of the user.  The checks
 * run in the grandchild, which writes a code (0 = all well) to a pipe. */
static int grandchild_checks(void) {
  mt_sem_t *sem = mt_sem_new(0, 0);
  if (!sem) return 20;
  if (mt_signal_is_interruptible() != 1) return 21;
  int user_fd[64]; /* the user's descriptors: they take every low number that is free */
  for (int i = 0; i < 64; i++)
    if ((user_fd[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) return 22;
  if (mt_signal_raise_signal(SIGUSR2) != 0) return 23;
  if (mt_sem_acquire(sem, 5) != MT_EINTR) return 24; /* was MT_ETIMEDOUT */
  if (mt_signal_set_interruptible(1) != 1) return 25;
  if (mt_signal_raise_signal(SIGUSR2) != 0) return 26;
  if (mt_sem_acquire(sem, 5) != MT_EINTR) return 27;
  if (mt_signal_set_interruptible(0) != 1) return 28;
  for (int i = 0; i < 64; i++)
    if (fcntl(user_fd[i], F_GETFD) < 0) return 29; /* opting out closed one */
  return 0;
}

static void grandchild_case(bool daemon) {
  int pfd[2];
  assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
  assert_code(mt_signal_set_interruptible(1), 0);
  pid_t g;
  if (daemon) {
    mt_daemon_opts_t o = MT_DAEMON_OPTS_INIT;
    o.parent_exits = false;
    o.keep_fds = &pfd[1];
    o.n_keep_fds = 1;
    g = mt_os_daemonize(&o);
  } else {
    g = mt_os_double_fork();
  }
  if (g == 0) { /* the grandchild */
    int code = grandchild_checks();
    ssize_t n = write(pfd[1], &code, sizeof code);
    _exit(n == sizeof code ? 0 : 1);
  }
  assert_true(g > 0);
  assert_code(mt_signal_set_interruptible(0), 1);
  close(pfd[1]);
  int code = -1;
  ssize_t n;
  while ((n = read(pfd[0], &code, sizeof code)) < 0 && errno == EINTR) {
  }
  close(pfd[0]);
  assert_int_equal(n, sizeof code);
  if (code) print_message("# %s grandchild: check %d failed\n", daemon ? "daemon" : "double fork", code);
  assert_int_equal(code, 0);
}

static void test_double_fork_grandchild(void **s) {
  (void)s;
  grandchild_case(false);
}
static void test_daemon_grandchild(void **s) {
  (void)s;
  grandchild_case(true);
}

/* Review finding 4: a Barrier party interrupted after its round was
 * complete (the last party runs the action, which lets a handler run) was
 * counted: it gets the round's outcome, not MT_EINTR, and its next wait
 * takes the interrupt (a retry would put it one round out of step). */
static atomic_int barrier_actions;
static int raise_in_action(void *arg) {
  (void)arg;
  atomic_fetch_add(&barrier_actions, 1);
  return mt_signal_raise_signal(SIGUSR2); /* returns once the handler ran */
}
static int op_barrier_then_sem(struct job *j) {
  int r = mt_barrier_wait(j->obj, MT_FOREVER);
  j->again = mt_sem_acquire(j->obj2, 5); /* the kept interrupt: MT_EINTR */
  return r;
}

static void test_barrier_round_complete(void **s) {
  (void)s;
  mt_barrier_t *b = mt_barrier_new(2, raise_in_action, NULL, MT_FOREVER, 0);
  mt_sem_t *sem = mt_sem_new(0, 0);
  assert_non_null(b);
  assert_non_null(sem);
  atomic_store(&barrier_actions, 0);
  int rounds = 20;
  for (int i = 0; i < rounds; i++) {
    struct job j = {.op = op_barrier_then_sem, .obj = b, .obj2 = sem, .opt_in = 1};
    mt_thread_t *t = start_job(&j); /* the opted-in party is parked */
    assert_code(mt_barrier_wait(b, 30), 1); /* the last party runs the action */
    assert_code(mt_thread_join(t, 30, NULL), 0);
    mt_thread_free(t);
    assert_code(j.result, 0); /* was MT_EINTR although counted */
    assert_code(j.again, MT_EINTR);
  }
  assert_int_equal(atomic_load(&barrier_actions), rounds);
  assert_int_equal(mt_barrier_n_waiting(b), 0);
  mt_sem_free(sem);
  mt_barrier_free(b);
}

/* Review finding 5: the library's own threads (thread-pool workers, the
 * timer thread, the signal dispatcher) run user code but are never
 * interrupted: mt_signal_set_interruptible there is MT_EPERM. */
static void opt_in_into(void *res) { *(int *)res = mt_signal_set_interruptible(1); }
static int opt_in_task(void *res, mt_value_t *out) {
  (void)out;
  opt_in_into(res);
  return 0;
}
static void opt_in_handler(int sig, void *res) {
  (void)sig;
  opt_in_into(res);
}

static void test_library_threads_refuse(void **s) {
  (void)s;
  int res = 99;
  mt_executor_t *ex = mt_executor_new_thread_pool(NULL);
  assert_non_null(ex);
  mt_future_t *f = NULL;
  assert_code(mt_executor_submit(ex, opt_in_task, &res, &f), 0);
  mt_value_t v;
  assert_code(mt_future_result(f, 30, &v), 0);
  assert_code(res, MT_EPERM); /* a pool worker */
  mt_future_free(f);
  mt_executor_free(ex);

  res = 99;
  mt_timer_t *t = mt_timer_new(0, opt_in_into, &res);
  assert_non_null(t);
  assert_code(mt_timer_start(t), 0);
  assert_code(mt_timer_join(t, 30), 0);
  assert_code(res, MT_EPERM); /* the timer thread */
  mt_timer_free(t);

  res = 99;
  assert_code(mt_signal_signal(SIGUSR2, opt_in_handler, &res), 0);
  assert_code(mt_signal_raise_signal(SIGUSR2), 0);
  assert_code(mt_signal_signal(SIGUSR2, noop, NULL), 0);
  assert_code(res, MT_EPERM); /* the dispatcher */
  assert_int_equal(mt_signal_is_interruptible(), 0); /* this thread untouched */
}

/* Review finding 1 (fixed in e4e59f2): an opted-in thread interrupted in
 * the middle of a large send finishes it (half a message would corrupt
 * the stream for good); its next send works and the interrupt stays for
 * its next blocking wait. */
struct big_send {
  mt_conn_t *wr;
  char *buf;
  size_t n;
  mt_sem_t *sem;
  _Atomic pid_t tid;
  int r1, r2, r3, intr;
};
static void *big_sender(void *arg) {
  struct big_send *b = arg;
  int r = mt_signal_set_interruptible(1);
  atomic_store(&b->tid, (pid_t)syscall(SYS_gettid));
  if (r != 0) {
    b->r1 = MT_EIO;
    return NULL;
  }
  b->r1 = mt_conn_send_bytes(b->wr, b->buf, b->n, MT_FOREVER);
  /* The kept interrupt goes to the next wait that blocks: this send if
   * the pipe has no room yet (before its first byte: nothing is out, send
   * again), else the semaphore. */
  r = mt_conn_send_bytes(b->wr, "hello", 5, MT_FOREVER);
  b->intr = r == MT_EINTR;
  if (b->intr) r = mt_conn_send_bytes(b->wr, "hello", 5, MT_FOREVER);
  b->r2 = r;
  b->r3 = mt_sem_acquire(b->sem, b->intr ? 0.05 : 5);
  return NULL;
}

static void test_send_not_cut(void **s) {
  (void)s;
  mt_conn_t *rd, *wr;
  assert_code(mt_pipe_new(false, &rd, &wr), 0);
  struct big_send b = {.wr = wr, .n = 8u << 20, .sem = mt_sem_new(0, 0)};
  assert_non_null(b.buf = malloc(b.n));
  for (size_t i = 0; i < b.n; i++) b.buf[i] = (char)(i * 7 + 1);
  mt_thread_t *t = mt_thread_spawn(big_sender, &b, NULL);
  assert_non_null(t);
  while (atomic_load(&b.tid) == 0) sched_yield();
  pid_t tid = atomic_load(&b.tid);
  /* it sleeps inside the send (the pipe is full): the frame has started */
  for (long i = 0; !(mt_test_task_state(tid) == 'S' && mt_test_task_syscall(tid) != SYS_futex); i++) {
    if (i > 2000000) fail_msg("the sender never blocked");
    sched_yield();
  }
  long before = atomic_load(&handled);
  assert_int_equal(syscall(SYS_tgkill, getpid(), tid, SIGUSR1), 0); /* to the sender itself */
  while (atomic_load(&handled) == before) sched_yield();
  assert_code(mt_signal_raise_signal(SIGUSR2), 0); /* the interrupts of both are raised now */
  void *got = NULL;
  size_t len = 0;
  assert_code(mt_conn_recv_bytes(rd, &got, &len, 30), 0);
  assert_int_equal(len, b.n);
  assert_memory_equal(got, b.buf, b.n);
  free(got);
  char small[16];
  assert_code(mt_conn_recv_bytes_into(rd, small, sizeof small, &len, 30), 0);
  assert_int_equal(len, 5);
  assert_memory_equal(small, "hello", 5);
  assert_code(mt_thread_join(t, 30, NULL), 0);
  mt_thread_free(t);
  assert_code(b.r1, 0); /* was MT_EINTR with part of the frame out */
  assert_code(b.r2, 0);
  assert_code(b.r3, b.intr ? MT_ETIMEDOUT : MT_EINTR); /* exactly one MT_EINTR */
  free(b.buf);
  mt_sem_free(b.sem);
  mt_conn_free(rd);
  mt_conn_free(wr);
}

/* MT_EINTR_TESTS=fork runs the cases that fork (CTest signal_eintr_fork,
 * label fork); else the others (also under TSan, which skips label fork). */
int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_arguments),     cmocka_unit_test(test_pending_one_shot),
      cmocka_unit_test(test_private_futex),     cmocka_unit_test(test_shared_futex),
      cmocka_unit_test(test_descriptor_poll),   cmocka_unit_test(test_thread_join),
      cmocka_unit_test(test_not_opted_in),      cmocka_unit_test(test_no_lost_wake),
      cmocka_unit_test(test_ready_now_keeps_interrupt),
      cmocka_unit_test(test_barrier_round_complete), cmocka_unit_test(test_library_threads_refuse),
      cmocka_unit_test(test_send_not_cut),
  };
  const struct CMUnitTest fork_tests[] = {
      cmocka_unit_test(test_child_parent_alive),
      cmocka_unit_test(test_double_fork_grandchild),
      cmocka_unit_test(test_daemon_grandchild),
  };
  const char *which = getenv("MT_EINTR_TESTS");
  if (which && strcmp(which, "fork") == 0) return cmocka_run_group_tests(fork_tests, setup, teardown);
  return cmocka_run_group_tests(tests, setup, teardown);
}
