/* platform/fork.h - raw waiting for children, children lists and the
 * daemon's set-up (Linux: fork_linux.c), for src/process/fork.c. */
#ifndef MT_PLATFORM_FORK_H
#define MT_PLATFORM_FORK_H

#include <stdbool.h>
#include <sys/types.h>

/* waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT): the pid of an ended child
 * (left unreaped), 0 if none ended, MT_ECHILD if there is no child. */
pid_t mt__sys_peek_ended_child(void);
/* waitpid(pid, &status, WNOHANG): pid (reaped, *status raw), 0 running,
 * or a negative code (MT_ECHILD). */
pid_t mt__sys_waitpid_nohang(pid_t pid, int *status);
/* waitid(P_PIDFD, WEXITED | WNOHANG) with a raw wait status: 1 reaped,
 * 0 running, negative code. */
int mt__sys_reap_pidfd_status(int pidfd, int *status);
/* The pids of the calling process's children (every thread's), from
 * /proc/self/task/<tid>/children: count stored (<= cap) or a code. */
int mt__sys_children(pid_t *out, int cap);
/* _exit(status). */
_Noreturn void mt__sys_exit_now(int status);
/* setsid(); 0 or a code. */
int mt__sys_setsid(void);

/* The daemon's own set-up, in order: chdir, umask (-1 keeps), the pid file
 * (open/create 0644, flock LOCK_EX|LOCK_NB -> MT_EBUSY if held, truncate,
 * write the pid; its fd stays open, close-on-exec, in *pidfile_fd), stdio
 * from the paths (NULL: /dev/null; out/err appended), then every
 * descriptor >= 3 but keep[], *pidfile_fd and report_fd closed.  0 or
 * the code of the failed step. */
int mt__sys_daemon_setup(const char *dir, int umask, const char *pidfile, const char *in,
                         const char *out, const char *err, const int *keep, int nkeep,
                         int report_fd, int *pidfile_fd);

#endif
