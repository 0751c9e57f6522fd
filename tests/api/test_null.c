/* docs/api.md, "Return values": a NULL handle is bad input, never a crash.
 * int (and long) functions return MT_EINVAL, pointer getters NULL,
 * predicates MT_EINVAL; _free(NULL) does nothing.  The few getters whose
 * type has no room for a code (size_t, char, pid_t, uint64_t) return 0, as
 * their headers say.  One row per public function taking a handle (and,
 * for the modules without handles, signal.h and os.h, one bad-argument row
 * per function that can take one without forking or exiting); every
 * deviation is listed before the test fails, so one run shows them all.
 * (Run under ASan by make check-asan: it must stay clean.) */
#include "mt_test.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static int failures;

static void want_int(const char *what, long got, long want) {
  if (got != want) {
    printf("  %s -> %ld (%s), expected %s\n", what, got, mt_err_name((int)got),
           mt_err_name((int)want));
    failures++;
  }
}
static void want_null(const char *what, const void *got) {
  if (got != NULL) {
    printf("  %s -> %p, expected NULL\n", what, got);
    failures++;
  }
}

#define INVAL(call) want_int(#call, (long)(call), MT_EINVAL)
#define ZERO(call) want_int(#call, (long)(call), 0)
#define NULLP(call) want_null(#call, (const void *)(call))
#define NOOP(call) (call) /* must simply return */

static int task(void *arg, mt_value_t *out) { (void)arg; (void)out; return 0; }
static int ptask(const void *in, size_t len, mt_value_t *out) {
  (void)in; (void)len; (void)out; return 0;
}
static void fn(void *arg) { (void)arg; }
static int items_fn(const char *k, const mt_shitem_t *v, void *arg) {
  (void)k; (void)v; (void)arg; return 0;
}
static int keys_fn(const char *k, void *arg) { (void)k; (void)arg; return 0; }
static bool pred(void *arg) { (void)arg; return true; }

static void null_handles(void **state) {
  (void)state;
  int64_t i64;
  uint64_t u64;
  double d;
  char buf[8];
  size_t sz;
  void *vp;
  int code;
  mt_value_t v;
  mt_task_error_t te;
  mt_future_t *f;
  mt_pool_result_t pr;
  failures = 0;

  /* sync */
  NOOP(mt_lock_free(NULL));
  INVAL(mt_lock_acquire(NULL, 0));
  INVAL(mt_lock_release(NULL));
  INVAL(mt_lock_is_locked(NULL));
  INVAL(mt_lock_consistent(NULL));
  NULLP(mt_lock_scope_begin(NULL));
  mt_lock_t *nolock = NULL;
  NOOP(mt_lock_scope_end(&nolock));
  NOOP(mt_lock_scope_end(NULL));
  NULLP(mt_rlock_scope_begin(NULL));
  mt_rlock_t *norlock = NULL;
  NOOP(mt_rlock_scope_end(&norlock));
  NOOP(mt_rlock_scope_end(NULL));
  NULLP(mt_cond_scope_begin(NULL));
  mt_cond_t *nocond = NULL;
  NOOP(mt_cond_scope_end(&nocond));
  NOOP(mt_cond_scope_end(NULL));
  NULLP(mt_sem_scope_begin(NULL));
  mt_sem_t *nosem = NULL;
  NOOP(mt_sem_scope_end(&nosem));
  NOOP(mt_sem_scope_end(NULL));
  NOOP(mt_rlock_free(NULL));
  INVAL(mt_rlock_acquire(NULL, 0));
  INVAL(mt_rlock_release(NULL));
  INVAL(mt_rlock_is_owned(NULL));
  INVAL(mt_rlock_consistent(NULL));
  NOOP(mt_sem_free(NULL));
  INVAL(mt_sem_acquire(NULL, 0));
  INVAL(mt_sem_release(NULL, 1));
  INVAL(mt_sem_value(NULL));
  NOOP(mt_cond_free(NULL));
  INVAL(mt_cond_acquire(NULL, 0));
  INVAL(mt_cond_release(NULL));
  INVAL(mt_cond_wait(NULL, 0));
  INVAL(mt_cond_wait_for(NULL, pred, NULL, 0));
  INVAL(mt_cond_notify(NULL, 1));
  INVAL(mt_cond_notify_all(NULL));
  NOOP(mt_event_free(NULL));
  INVAL(mt_event_set(NULL));
  INVAL(mt_event_clear(NULL));
  INVAL(mt_event_is_set(NULL));
  INVAL(mt_event_wait(NULL, 0));
  NOOP(mt_barrier_free(NULL));
  INVAL(mt_barrier_wait(NULL, 0));
  INVAL(mt_barrier_reset(NULL));
  INVAL(mt_barrier_abort(NULL));
  INVAL(mt_barrier_parties(NULL));
  INVAL(mt_barrier_n_waiting(NULL));
  INVAL(mt_barrier_is_broken(NULL));
  INVAL(mt_once_call(NULL, fn, NULL));

  /* thread, local, timer */
  NULLP(mt_thread_new(NULL, NULL, NULL));
  NULLP(mt_thread_spawn(NULL, NULL, NULL));
  NULLP(mt_thread_new_run(NULL, NULL));
  mt_thread_run_t norun = {NULL};
  NULLP(mt_thread_new_run(&norun, NULL));
  INVAL(mt_thread_start(NULL));
  INVAL(mt_thread_start_detached(NULL));
  NULLP(mt_thread_ref(NULL));
  INVAL(mt_thread_join(NULL, 0, NULL));
  NOOP(mt_thread_free(NULL));
  INVAL(mt_thread_is_alive(NULL));
  NULLP(mt_thread_name(NULL));
  INVAL(mt_thread_set_name(NULL, "x"));
  INVAL(mt_thread_is_daemon(NULL));
  INVAL(mt_thread_set_daemon(NULL, true));
  ZERO(mt_thread_ident(NULL));
  ZERO(mt_thread_native_id(NULL));
  INVAL(mt_thread_enumerate(NULL, -1));
  NOOP(mt_local_free(NULL));
  NULLP(mt_local_get(NULL));
  INVAL(mt_local_set(NULL, NULL));
  NULLP(mt_timer_new(1, NULL, NULL));
  NULLP(mt_timer_new_loop(1, NULL, NULL));
  INVAL(mt_timer_start(NULL));
  INVAL(mt_timer_cancel(NULL, 0));
  INVAL(mt_timer_join(NULL, 0));
  INVAL(mt_timer_is_fired(NULL));
  NOOP(mt_timer_free(NULL));

  /* queues */
  INVAL(mt_queue_set_item_free(NULL, NULL));
  NOOP(mt_queue_free(NULL));
  INVAL(mt_queue_put(NULL, NULL, 0));
  INVAL(mt_queue_put_nowait(NULL, NULL));
  INVAL(mt_queue_put_prio(NULL, 0, NULL, 0));
  INVAL(mt_queue_get(NULL, &vp, 0));
  INVAL(mt_queue_get_nowait(NULL, &vp));
  INVAL(mt_queue_get_prio(NULL, &i64, &vp, 0));
  INVAL(mt_queue_qsize(NULL));
  INVAL(mt_queue_is_empty(NULL));
  INVAL(mt_queue_is_full(NULL));
  ZERO(mt_queue_maxsize(NULL));
  INVAL(mt_queue_task_done(NULL));
  INVAL(mt_queue_join(NULL, 0));
  INVAL(mt_queue_shutdown(NULL, false));
  INVAL(mt_queue_is_shutdown(NULL));
  NOOP(mt_mpqueue_free(NULL));
  INVAL(mt_mpqueue_put(NULL, "x", 1, 0));
  INVAL(mt_mpqueue_get(NULL, buf, sizeof buf, &sz, 0));
  INVAL(mt_mpqueue_put_nowait(NULL, "x", 1));
  INVAL(mt_mpqueue_get_nowait(NULL, buf, sizeof buf, &sz));
  INVAL(mt_mpqueue_qsize(NULL));
  INVAL(mt_mpqueue_is_empty(NULL));
  INVAL(mt_mpqueue_is_full(NULL));
  ZERO(mt_mpqueue_max_msg(NULL));
  INVAL(mt_mpqueue_task_done(NULL));
  INVAL(mt_mpqueue_join(NULL, 0));
  INVAL(mt_mpqueue_shutdown(NULL, false));
  INVAL(mt_mpqueue_is_shutdown(NULL));

  /* pipes */
  INVAL(mt_pipe_new(true, NULL, NULL));
  INVAL(mt_conn_close(NULL));
  NOOP(mt_conn_free(NULL));
  INVAL(mt_conn_fileno(NULL));
  INVAL(mt_conn_is_writable(NULL));
  INVAL(mt_conn_is_readable(NULL));
  INVAL(mt_conn_send_bytes(NULL, "x", 1, 0));
  INVAL(mt_conn_recv_bytes_into(NULL, buf, sizeof buf, &sz, 0));
  INVAL(mt_conn_recv_bytes(NULL, &vp, &sz, 0));
  INVAL(mt_conn_peek_size(NULL, &sz, 0));
  INVAL(mt_conn_set_max_recv(NULL, 10));
  INVAL(mt_conn_get_max_recv(NULL, &sz));
  INVAL(mt_conn_poll(NULL, 0));
  INVAL(mt_conn_send_i64(NULL, 1, 0));
  INVAL(mt_conn_send_f64(NULL, 1, 0));
  INVAL(mt_conn_send_str(NULL, "x", 0));
  INVAL(mt_conn_recv_i64(NULL, &i64, 0));
  INVAL(mt_conn_recv_f64(NULL, &d, 0));
  char *str;
  INVAL(mt_conn_recv_str(NULL, &str, 0));
  INVAL(mt_conn_wait(NULL, 1, 0));

  /* futures */
  NOOP(mt_future_free(NULL));
  NULLP(mt_future_ref(NULL));
  INVAL(mt_future_state(NULL));
  INVAL(mt_future_is_cancelled(NULL));
  INVAL(mt_future_is_running(NULL));
  INVAL(mt_future_is_done(NULL));
  INVAL(mt_future_cancel(NULL));
  INVAL(mt_future_cancel_running(NULL));
  INVAL(mt_future_is_cancel_requested(NULL));
  INVAL(mt_future_set_cancel_hook(NULL, NULL, NULL));
  INVAL(mt_future_result(NULL, 0, &v));
  INVAL(mt_future_take_result(NULL, 0, &v));
  INVAL(mt_future_exception(NULL, 0, &te));
  INVAL(mt_future_set_running_or_notify_cancel(NULL));
  INVAL(mt_future_set_result(NULL, (mt_value_t){0}));
  INVAL(mt_future_set_exception(NULL, MT_EIO, NULL));
  INVAL(mt_future_set_error(NULL, MT_EIO, NULL));
  INVAL(mt_future_add_done_callback(NULL, NULL, NULL));
  INVAL(mt_future_wait(NULL, 1, 0, MT_ALL_COMPLETED, NULL, NULL, NULL));
  NULLP(mt_as_completed_new(NULL, 1, 0));
  INVAL(mt_as_completed_next(NULL, &f));
  NOOP(mt_as_completed_free(NULL));

  /* executors */
  NULLP(mt_executor_new(NULL, NULL));
  NULLP(mt_executor_kind(NULL));
  INVAL(mt_executor_submit(NULL, task, NULL, &f));
  INVAL(mt_executor_map(NULL, task, NULL, 0, 0, 0, NULL, NULL));
  INVAL(mt_executor_shutdown(NULL, true, false, MT_FOREVER));
  INVAL(mt_executor_resize(NULL, 1));
  INVAL(mt_executor_max_workers(NULL));
  INVAL(mt_executor_thread_count(NULL));
  NOOP(mt_executor_free(NULL));
  mt_executor_t *noex = NULL;
  NOOP(mt_executor_scope_end(&noex));
  INVAL(mt_executor_submit_bytes(NULL, ptask, NULL, 0, NULL, &f));
  NULLP(mt_executor_pool(NULL));

  /* processes */
  NULLP(mt_process_new(NULL, NULL, NULL));
  NULLP(mt_process_new_run(NULL, NULL));
  INVAL(mt_process_start(NULL));
  INVAL(mt_process_join(NULL, 0));
  INVAL(mt_process_is_alive(NULL));
  INVAL(mt_process_exitcode(NULL, &code));
  ZERO(mt_process_pid(NULL));
  NULLP(mt_process_name(NULL));
  INVAL(mt_process_set_name(NULL, "x"));
  INVAL(mt_process_is_daemon(NULL));
  INVAL(mt_process_set_daemon(NULL, true));
  INVAL(mt_process_sentinel(NULL));
  INVAL(mt_process_wait_any(NULL, 1, 0));
  INVAL(mt_process_terminate(NULL));
  INVAL(mt_process_kill(NULL));
  INVAL(mt_process_close(NULL));
  NOOP(mt_process_free(NULL));
  INVAL(mt_process_active_children(NULL, -1));

  /* shared memory */
  NOOP(mt_shvalue_free(NULL));
  NULLP(mt_shvalue_get_lock(NULL));
  ZERO(mt_shvalue_typecode(NULL));
  INVAL(mt_shvalue_get_i64(NULL, &i64));
  INVAL(mt_shvalue_set_i64(NULL, 1));
  INVAL(mt_shvalue_get_double(NULL, &d));
  INVAL(mt_shvalue_set_double(NULL, 1));
  INVAL(mt_shvalue_add(NULL, 1, &i64));
  INVAL(mt_shvalue_get_u64(NULL, &u64));
  INVAL(mt_shvalue_set_u64(NULL, 1));
  NOOP(mt_sharray_free(NULL));
  NULLP(mt_sharray_get_lock(NULL));
  ZERO(mt_sharray_len(NULL));
  ZERO(mt_sharray_typecode(NULL));
  ZERO(mt_sharray_itemsize(NULL));
  NULLP(mt_sharray_data(NULL));
  INVAL(mt_sharray_get_i64(NULL, 0, &i64));
  INVAL(mt_sharray_set_i64(NULL, 0, 1));
  INVAL(mt_sharray_get_double(NULL, 0, &d));
  INVAL(mt_sharray_set_double(NULL, 0, 1));
  INVAL(mt_sharray_get_u64(NULL, 0, &u64));
  INVAL(mt_sharray_set_u64(NULL, 0, 1));
  NULLP(mt_sharray_new_from_i64('q', NULL, 2, true));
  NULLP(mt_sharray_new_from_double('d', NULL, 2, true));
  NULLP(mt_sharray_new_from_str(NULL, true));
  INVAL(mt_sharray_value(NULL, buf, sizeof buf));
  INVAL(mt_sharray_set_value(NULL, "x"));
  INVAL(mt_sharray_raw(NULL, buf, sizeof buf));
  INVAL(mt_sharray_set_raw(NULL, "x", 1));
  NULLP(mt_shm_buf(NULL));
  ZERO(mt_shm_size(NULL));
  NULLP(mt_shm_name(NULL));
  INVAL(mt_shm_unlink(NULL));
  ZERO(mt_shm_free(NULL)); /* _free(NULL) does nothing */
  NOOP(mt_shdict_free(NULL));
  INVAL(mt_shdict_set_int(NULL, "k", 1));
  INVAL(mt_shdict_set_double(NULL, "k", 1));
  INVAL(mt_shdict_set_bytes(NULL, "k", "x", 1));
  INVAL(mt_shdict_get_int(NULL, "k", &i64));
  INVAL(mt_shdict_get_double(NULL, "k", &d));
  INVAL(mt_shdict_get_bytes(NULL, "k", buf, sizeof buf));
  INVAL(mt_shdict_type(NULL, "k"));
  INVAL(mt_shdict_del(NULL, "k"));
  INVAL(mt_shdict_contains(NULL, "k"));
  INVAL(mt_shdict_len(NULL));
  INVAL(mt_shdict_incr(NULL, "k", 1, &i64));
  INVAL(mt_shdict_items(NULL, items_fn, NULL));
  INVAL(mt_shdict_keys(NULL, keys_fn, NULL));
  NOOP(mt_shlist_free(NULL));
  INVAL(mt_shlist_append_int(NULL, 1));
  INVAL(mt_shlist_append_double(NULL, 1));
  INVAL(mt_shlist_append_bytes(NULL, "x", 1));
  INVAL(mt_shlist_set_int(NULL, 0, 1));
  INVAL(mt_shlist_set_double(NULL, 0, 1));
  INVAL(mt_shlist_set_bytes(NULL, 0, "x", 1));
  INVAL(mt_shlist_get_int(NULL, 0, &i64));
  INVAL(mt_shlist_get_double(NULL, 0, &d));
  INVAL(mt_shlist_get_bytes(NULL, 0, buf, sizeof buf));
  INVAL(mt_shlist_type(NULL, 0));
  INVAL(mt_shlist_incr(NULL, 0, 1, &i64));
  INVAL(mt_shlist_pop(NULL));
  INVAL(mt_shlist_len(NULL));

  /* process pool */
  INVAL(mt_pool_apply_async(NULL, ptask, NULL, 0, NULL, &f));
  INVAL(mt_pool_apply(NULL, ptask, NULL, 0, MT_FOREVER, &v));
  INVAL(mt_pool_died_exitcode(NULL, &code));
  INVAL(mt_pool_map(NULL, ptask, NULL, 0, 0, MT_FOREVER, NULL));
  INVAL(mt_pool_starmap(NULL, NULL, NULL, 0, 0, MT_FOREVER, NULL));
  INVAL(mt_pool_starmap_async(NULL, NULL, NULL, 0, 0, NULL, &f));
  INVAL(mt_pool_map_async(NULL, ptask, NULL, 0, 0, NULL, &f));
  NOOP(mt_pool_results_release(NULL, 3));
  NULLP(mt_pool_imap_new(NULL, ptask, NULL, 0, 0, false));
  INVAL(mt_pool_imap_next(NULL, 0, &pr, &sz));
  NOOP(mt_pool_imap_free(NULL));
  INVAL(mt_pool_close(NULL));
  INVAL(mt_pool_terminate(NULL, 0));
  INVAL(mt_pool_join(NULL, 0));
  NOOP(mt_pool_free(NULL));
  INVAL(mt_pool_pids(NULL, NULL, 0));
  INVAL(mt_pool_workers_started(NULL));

  /* greenlet, generator */
  NULLP(mt_greenlet_new(NULL, NULL, NULL, NULL));
  NOOP(mt_greenlet_free(NULL));
  INVAL(mt_greenlet_switch(NULL, NULL, &vp));
  INVAL(mt_greenlet_throw(NULL, MT_ECANCELLED, &vp));
  INVAL(mt_greenlet_kill(NULL));
  NULLP(mt_greenlet_parent(NULL));
  INVAL(mt_greenlet_set_parent(NULL, NULL));
  INVAL(mt_greenlet_is_started(NULL));
  INVAL(mt_greenlet_is_dead(NULL));
  NULLP(mt_greenlet_name(NULL));
  NULLP(mt_generator_new(NULL, NULL, NULL));
  NOOP(mt_generator_free(NULL));
  INVAL(mt_generator_yield(NULL, NULL, &vp));
  INVAL(mt_generator_next(NULL, &vp));
  INVAL(mt_generator_send(NULL, NULL, &vp));
  INVAL(mt_generator_throw(NULL, MT_ECANCELLED, &vp));
  INVAL(mt_generator_close(NULL));
  INVAL(mt_generator_is_closed(NULL));

  /* hub, coroutine tasks */
  NOOP(mt_hub_free(NULL));
  INVAL(mt_hub_run(NULL, NULL, NULL));
  NULLP(mt_coro_spawn(NULL, NULL, NULL));
  NULLP(mt_hub_spawn(NULL, task, NULL, NULL));
  INVAL(mt_coro_join(NULL, 0));
  INVAL(mt_coro_joinall(NULL, 1, 0));
  INVAL(mt_coro_gather(NULL, 1, 0, NULL));
  INVAL(mt_coro_cancel(NULL));
  INVAL(mt_coro_wait_for(NULL, 0, NULL));
  INVAL(mt_coro_to_thread(NULL, NULL, 0, NULL));
  INVAL(mt_coro_kill(NULL, 0));
  NULLP(mt_coro_name(NULL));
  INVAL(mt_coro_is_task(NULL));
  NULLP(mt_taskgroup_spawn(NULL, task, NULL, NULL));
  INVAL(mt_taskgroup_wait(NULL, 0));
  INVAL(mt_taskgroup_cancel(NULL));
  INVAL(mt_taskgroup_exception(NULL, NULL));
  INVAL(mt_taskgroup_len(NULL));
  NULLP(mt_taskgroup_task(NULL, 0));
  INVAL(mt_taskgroup_is_closed(NULL));
  NOOP(mt_taskgroup_free(NULL));

  /* signal (no handles: bad signal numbers, NULL out-pointers, bad timeouts) */
  INVAL(mt_signal_signal(0, MT_SIG_DFL, NULL));
  INVAL(mt_signal_signal(100000, MT_SIG_DFL, NULL));
  INVAL(mt_signal_getsignal(0, NULL, NULL));
  INVAL(mt_signal_kill(getpid(), -1));
  INVAL(mt_signal_killpg(getpgrp(), -1));
  INVAL(mt_signal_raise_signal(0));
  INVAL(mt_signal_pause(-5));
  INVAL(mt_signal_setitimer(-1, 0, 0, NULL, NULL));
  INVAL(mt_signal_getitimer(-1, NULL, NULL));
  INVAL(mt_signal_sigwait(NULL, 0));
  sigset_t noset;
  sigemptyset(&noset);
  INVAL(mt_signal_pthread_sigmask(-1, &noset, NULL));
  NULLP(mt_signal_name(0));
  INVAL(mt_signal_from_name(NULL));
  NULLP(mt_signal_strsignal(0));
  NULLP(mt_signal_default_action(0));
  ZERO(mt_signal_is_valid(0));

  /* subprocess */
  const char *noargv[] = {NULL};
  NULLP(mt_popen_new(NULL, NULL));
  NULLP(mt_popen_new(noargv, NULL));
  NULLP(mt_popen_new_shell(NULL, NULL));
  INVAL(mt_popen_communicate(NULL, NULL, 0, 0, NULL, NULL, NULL, NULL));
  INVAL(mt_popen_wait(NULL, 0, &code));
  INVAL(mt_popen_poll(NULL, &code));
  INVAL(mt_popen_returncode(NULL, &code));
  INVAL(mt_popen_send_signal(NULL, SIGTERM));
  INVAL(mt_popen_terminate(NULL));
  INVAL(mt_popen_kill(NULL));
  ZERO(mt_popen_pid(NULL));
  INVAL(mt_popen_stdin(NULL)); /* not -1: that is MT_EPERM */
  INVAL(mt_popen_stdout(NULL)); /* not -1: that is MT_EPERM */
  INVAL(mt_popen_stderr(NULL)); /* not -1: that is MT_EPERM */
  NOOP(mt_popen_free(NULL));
  NOOP(mt_subprocess_result_clear(NULL));
  mt_subprocess_result_t res;
  INVAL(mt_subprocess_run(NULL, NULL, NULL, &res));
  INVAL(mt_subprocess_run(noargv, NULL, NULL, &res));
  char *outp;
  INVAL(mt_subprocess_check_output(NULL, NULL, MT_FOREVER, &outp, &sz, &code));

  /* os (no handles: bad arguments that must fail before any fork) */
  INVAL(mt_os_fork(NULL, NULL));
  INVAL(mt_os_waitpid(0, 0, 0, NULL));
  INVAL(mt_os_waitpid(-1, 0, -5, NULL));
  INVAL(mt_os_wait(-5, NULL));
  mt_daemon_opts_t nodaemon = {0};
  INVAL(mt_os_daemonize(&nodaemon));
  /* mt_os_waitstatus_to_exitcode takes any int; mt_os_double_fork takes
   * nothing and always forks: no bad-input row. */

  if (failures) fail_msg("%d public functions break the NULL-handle rule (listed above)", failures);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(null_handles)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
