/* platform/spawn.h - starting a program (Linux: spawn_linux.c), for
 * src/subprocess/.  Everything the child does between the spawn and exec
 * is described by one struct the parent fills in beforehand, so the child
 * only makes system calls (no allocation, no lock): it may share the
 * parent's memory (vfork). */
#ifndef MT_PLATFORM_SPAWN_H
#define MT_PLATFORM_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#define MT__SPAWN_FD_STDOUT (-2) /* fd[2] only: the child's stderr = its stdout */

typedef struct mt__spawn {
  const char *const *paths; /* candidate executables, tried in order */
  int npaths;
  char *const *argv;
  char *const *envp;        /* never NULL (the parent's environ) */
  int fd[3];                /* source of 0,1,2: a descriptor, -1 inherit, or
                               MT__SPAWN_FD_STDOUT for 2 */
  const int *keep;          /* pass_fds: stay open, inheritable */
  int nkeep;
  bool close_fds;           /* everything else >= 3 closed at exec */
  const char *cwd;          /* NULL: the parent's */
  bool setsid;
  int ctty;                 /* >= 0: after setsid, make this (a pty slave)
                               the controlling terminal (TIOCSCTTY) */
  int pgid;                 /* -1: none; 0: a group of its own; else join */
  int umask;                /* -1: inherited */
  int (*preexec)(void *arg); /* non-NULL forces fork+exec (see below) */
  void *preexec_arg;
  /* When it forks (mt__sys_spawn_forks): fork_enter() runs in the parent
   * with every signal blocked right before fork() (a negative return is
   * returned instead of forking), fork_leave() right after fork() returns
   * in the parent, before the wait for exec.  Either may be NULL. */
  int (*fork_enter)(void);
  void (*fork_leave)(void);
} mt__spawn_t;

/* Starts the program.  Without preexec: clone(CLONE_VM | CLONE_VFORK |
 * CLONE_PIDFD) on a small stack of its own (no page-table copy; the
 * parent's thread waits until the child has exec'd or failed).  With
 * preexec (or in a TSan build, spawn_linux.c says why): fork, then the same steps, then preexec(arg) (a nonzero return
 * is reported as MT_ECANCELLED), then exec; errors come back through a
 * close-on-exec pipe.  Returns the pid and stores a close-on-exec pidfd in
 * *pidfd, or returns a negative code: the errno of the step that failed in
 * the child (MT_ENOENT / MT_EACCES for exec, chdir, ...), the child then
 * already reaped, or a code of the parent's own (MT_EAGAIN, MT_ENOMEM,
 * MT_EMFILE).  Handlers of caught signals are reset to SIG_DFL in the
 * child before the mask is restored, so no signal reaches a library
 * handler while the child still shares the parent's memory. */
pid_t mt__sys_spawn(const mt__spawn_t *sp, int *pidfd);
/* Whether mt__sys_spawn(sp) will fork() (preexec, or a TSan build) rather
 * than clone(CLONE_VM | CLONE_VFORK): a fork runs the at-fork handlers,
 * so the caller takes it through the library's fork gate. */
bool mt__sys_spawn_forks(const mt__spawn_t *sp);

/* A new pseudo-terminal: master and slave, both close-on-exec, the slave
 * opened O_NOCTTY.  0 or a negative code. */
int mt__sys_openpty(int *master, int *slave);
/* fcntl(fd, F_DUPFD_CLOEXEC, 0): the new fd or a negative code. */
int mt__sys_dup_cloexec(int fd);
/* O_NONBLOCK on (or off) for fd.  0 or a negative code. */
int mt__sys_set_nonblock(int fd, bool on);
/* open("/dev/null", O_RDWR | O_CLOEXEC): fd or a negative code. */
int mt__sys_open_devnull(void);
/* write() once, without SIGPIPE (MSG-less: SIGPIPE blocked for the call):
 * bytes, MT_EAGAIN (a full non-blocking pipe), MT_EPIPE, or a code. */
ssize_t mt__sys_write_nosig(int fd, const void *buf, size_t n);
/* F_SETPIPE_SZ: asks for a pipe buffer of n bytes; the size got or a code. */
int mt__sys_pipe_set_size(int fd, int n);
/* waitid(P_PIDFD, WEXITED) blocking: reaps the child behind pidfd. */
int mt__sys_reap_pidfd_blocking(int pidfd, int *exitcode);

#endif
