/* multitask/subprocess.h - Python's subprocess: Popen (communicate, wait,
 * poll, returncode, send_signal/terminate/kill), run, check_output.
 * docs/subprocess.md maps each Python name and states the safety rules.
 *
 * Spawning.  Without a pre-exec hook the child is made with
 * clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD): no page-table copy, and the
 * pidfd comes with the child.  With a hook (and in a ThreadSanitizer
 * build, whose clone interceptor cannot follow CLONE_VM), fork + exec.  Either way an
 * exec that fails (no such program, not executable, a bad cwd) fails the
 * constructor with that errno (Python's FileNotFoundError /
 * PermissionError), never a child exiting 127; the failed child is reaped.
 *
 * Descriptors.  The child gets 0-2 as asked, the pass_fds, and nothing
 * else (close_fds, the default).  The parent's pipe ends are non-blocking
 * and close-on-exec; the child's are blocking.
 *
 * Zombies.  A child is reaped by wait/poll/communicate, and one whose
 * handle is freed while it runs is reaped by a library thread as soon as
 * it ends (free never blocks and never kills it).  Popen children are NOT
 * joined at exit (Python does not either). */
#ifndef MULTITASK_SUBPROCESS_H
#define MULTITASK_SUBPROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "multitask/error.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct mt_popen mt_popen_t;

/* stdin_fd / stdout_fd / stderr_fd: a descriptor (>= 0) of the parent the
 * child gets as that stream, or one of these. */
#define MT_SUBPROCESS_INHERIT (-1) /* Python's None */
#define MT_SUBPROCESS_PIPE (-2)
#define MT_SUBPROCESS_DEVNULL (-3)
#define MT_SUBPROCESS_STDOUT (-4) /* stderr only: into the same stdout */

typedef struct mt_popen_opts {
  size_t size;            /* set by MT_POPEN_OPTS_INIT; 0 is MT_EINVAL */
  int stdin_fd, stdout_fd, stderr_fd; /* default MT_SUBPROCESS_INHERIT */
  const char *cwd;        /* NULL: the parent's */
  char *const *env;       /* NULL-terminated "K=V" list; NULL: the parent's */
  bool close_fds;         /* default true */
  const int *pass_fds;    /* kept open in the child, same numbers */
  int n_pass_fds;
  bool start_new_session; /* setsid() in the child */
  int process_group;      /* -1 (default): none; 0: a group of its own */
  int umask;              /* -1 (default): inherited */
  /* A pseudo-terminal (not in Python's subprocess; its pty module): each
   * stream left at MT_SUBPROCESS_INHERIT becomes a new pty's slave, and the
   * child starts a new session with it as its controlling terminal.  The
   * parent's stdin and stdout ends are then the master (mt_popen_stdin /
   * mt_popen_stdout), so communicate works, with a terminal's manners:
   * input is echoed and "\n" comes back as "\r\n". */
  bool pty;
  /* Python's preexec_fn: runs in the child after the above, before exec
   * (forces fork+exec; only async-signal-safe calls if the parent has
   * threads).  A nonzero return fails the constructor with MT_ECANCELLED.
   * Being a fork, it is refused once the process's exit has begun (errno
   * -MT_ECLOSED: docs/subprocess.md, "At exit"). */
  int (*preexec_fn)(void *arg);
  void *preexec_arg;
} mt_popen_opts_t;
#define MT_POPEN_OPTS_INIT                                                     \
  {.size = sizeof(mt_popen_opts_t), .stdin_fd = MT_SUBPROCESS_INHERIT,         \
   .stdout_fd = MT_SUBPROCESS_INHERIT, .stderr_fd = MT_SUBPROCESS_INHERIT,     \
   .close_fds = true, .process_group = -1, .umask = -1}

/* Popen(argv): argv NULL-terminated; argv[0] is searched in PATH when it
 * has no '/'.  NULL with errno: ENOENT / EACCES / ENOTDIR / ... (the exec or
 * chdir in the child failed), EINVAL (bad options), EMFILE, ENOMEM, EAGAIN,
 * -MT_ECLOSED (a forking Popen once exit has begun: see preexec_fn). */
mt_popen_t *mt_popen_new(const char *const argv[], const mt_popen_opts_t *opts);
/* Popen(cmd, shell=True): /bin/sh -c cmd. */
mt_popen_t *mt_popen_new_shell(const char *cmd, const mt_popen_opts_t *opts);

/* communicate(input, timeout): writes input (may be NULL; the stdin pipe is
 * closed once it is all written), reads stdout and stderr (when PIPE) until
 * EOF, then waits for the child.  Never deadlocks, whatever the sizes.
 * 0: *out / *err (each may be NULL) get malloc'd buffers (NUL-terminated,
 * the caller frees; NULL when that stream is no PIPE) and their lengths.
 * MT_ETIMEDOUT: the child runs on, and everything read so far is kept
 * (Python's TimeoutExpired): call again (input NULL: the rest of the first
 * input is still sent; that buffer must stay valid until a call returns 0).
 * MT_EINVAL (new input after communication started), MT_ENOMEM. */
int mt_popen_communicate(mt_popen_t *p, const void *input, size_t input_len, double timeout,
                         char **out, size_t *out_len, char **err, size_t *err_len);
/* wait(timeout): 0 with *returncode (exit status, or -N for signal N;
 * returncode may be NULL), MT_ETIMEDOUT, MT_EINVAL. */
int mt_popen_wait(mt_popen_t *p, double timeout, int *returncode);
/* poll(): 0 with *returncode when it ended (reaped), MT_ERUNNING while it
 * runs (Python's None). */
int mt_popen_poll(mt_popen_t *p, int *returncode);
/* The returncode attribute: 0 and the value once a wait/poll/communicate
 * saw the end, MT_ERUNNING before (no system call). */
int mt_popen_returncode(const mt_popen_t *p, int *returncode);
/* send_signal / terminate (SIGTERM) / kill (SIGKILL), through the pidfd:
 * never a recycled pid.  0 (also once the child ended), MT_EINVAL. */
int mt_popen_send_signal(mt_popen_t *p, int signum);
int mt_popen_terminate(mt_popen_t *p);
int mt_popen_kill(mt_popen_t *p);
pid_t mt_popen_pid(const mt_popen_t *p);
/* The parent's ends of the PIPE streams (non-blocking), -1 if none or
 * already closed by communicate, MT_EINVAL for NULL.  Owned by the object. */
int mt_popen_stdin(const mt_popen_t *p);
int mt_popen_stdout(const mt_popen_t *p);
int mt_popen_stderr(const mt_popen_t *p);
/* Closes the pipes and frees the object; never blocks.  A child still
 * running is reaped by the library when it ends. */
void mt_popen_free(mt_popen_t *p);

/* ---- run / check_output ---------------------------------------------- */
typedef struct mt_subprocess_run_opts {
  size_t size;          /* set by MT_SUBPROCESS_RUN_OPTS_INIT */
  const void *input;    /* sent to stdin (then stdin is a PIPE) */
  size_t input_len;
  bool capture_output;  /* stdout and stderr PIPE */
  double timeout;       /* MT_FOREVER (default) */
  bool check;           /* a nonzero returncode is MT_ETASKFAILED */
} mt_subprocess_run_opts_t;
#define MT_SUBPROCESS_RUN_OPTS_INIT                                            \
  {.size = sizeof(mt_subprocess_run_opts_t), .timeout = -1.0}

/* CompletedProcess. */
typedef struct mt_subprocess_result {
  int returncode;
  char *stdout_data; /* malloc'd (NULL unless captured) */
  size_t stdout_len;
  char *stderr_data;
  size_t stderr_len;
} mt_subprocess_result_t;
/* Frees the captured data and zeroes res.  NULL is ignored. */
void mt_subprocess_result_clear(mt_subprocess_result_t *res);

/* run(): spawns argv with popts (NULL: defaults), communicates, waits.
 * 0 (res filled), a spawn error (MT_ENOENT, MT_EACCES, ...),
 * MT_ETIMEDOUT (the child was killed and reaped; res has the output read
 * so far: Python's TimeoutExpired), MT_ETASKFAILED with check and a
 * nonzero returncode (Python's CalledProcessError; res filled). */
int mt_subprocess_run(const char *const argv[], const mt_popen_opts_t *popts,
                      const mt_subprocess_run_opts_t *ropts, mt_subprocess_result_t *res);
/* check_output(): run with stdout PIPE and check: 0 with *out (malloc'd,
 * NUL-terminated) and *out_len, or the codes of run (on MT_ETASKFAILED
 * *returncode says which; may be NULL). */
int mt_subprocess_check_output(const char *const argv[], const mt_popen_opts_t *popts,
                               double timeout, char **out, size_t *out_len, int *returncode);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
