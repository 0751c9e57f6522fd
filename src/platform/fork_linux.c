/* Linux backend of platform/fork.h. */
#include "platform/fork.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "multitask/error.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

pid_t mt__sys_peek_ended_child(void) {
  siginfo_t info;
  int saved = errno;
  int r;
  do {
    memset(&info, 0, sizeof info);
    r = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
  } while (r < 0 && errno == EINTR);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : info.si_pid;
}

pid_t mt__sys_waitpid_nohang(pid_t pid, int *status) {
  int saved = errno;
  pid_t r;
  do r = waitpid(pid, status, WNOHANG);
  while (r < 0 && errno == EINTR);
  int e = errno;
  errno = saved;
  return r < 0 ? -e : r;
}

int mt__sys_reap_pidfd_status(int pidfd, int *status) {
  siginfo_t info;
  int saved = errno;
  int r;
  do {
    memset(&info, 0, sizeof info);
    r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG);
  } while (r < 0 && errno == EINTR);
  int e = errno;
  errno = saved;
  if (r < 0) return -e;
  if (info.si_pid == 0) return 0;
  switch (info.si_code) {
  case CLD_EXITED: *status = (info.si_status & 0xff) << 8; break;
  case CLD_DUMPED: *status = (info.si_status & 0x7f) | 0x80; break;
  default: *status = info.si_status & 0x7f; break;
  }
  return 1;
}

int mt__sys_children(pid_t *out, int cap) {
  int saved = errno;
  DIR *d = opendir("/proc/self/task");
  if (!d) {
    int e = errno;
    errno = saved;
    return -e;
  }
  int n = 0;
  struct dirent *t;
  char path[300], buf[4096];
  while ((t = readdir(d))) {
    if (t->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/self/task/%s/children", t->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t k = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (k <= 0) continue;
    buf[k] = 0;
    for (char *p = buf, *end; *p; p = end) {
      long v = strtol(p, &end, 10);
      if (end == p) break;
      if (n < cap) out[n++] = (pid_t)v;
    }
  }
  closedir(d);
  errno = saved;
  return n;
}

/* _exit through a pointer the dynamic linker fills at load time, not
 * through the PLT: with lazy binding every fresh child would resolve _exit
 * again on its way out (the linker's code, symbol tables and the GOT page:
 * ~10 page faults per child, ~0.3 ms of CPU on a virtualised machine).
 * volatile, or the compiler turns it back into a direct (PLT) call. */
static void (*volatile exit_fn)(int) = _exit;

void mt__sys_exit_now(int status) {
  exit_fn(status);
  __builtin_unreachable();
}

int mt__sys_setsid(void) {
  int saved = errno;
  int r = setsid() < 0 ? -errno : 0;
  errno = saved;
  return r;
}

static int redirect(const char *path, int flags, int target) {
  int fd = open(path ? path : "/dev/null", flags | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  int r = dup2(fd, target) < 0 ? -errno : 0;
  close(fd);
  return r;
}

static bool kept(int fd, const int *keep, int nkeep) {
  for (int i = 0; i < nkeep; i++)
    if (keep[i] == fd) return true;
  return false;
}

int mt__sys_daemon_setup(const char *dir, int um, const char *pidfile, const char *in,
                         const char *out, const char *err, const int *keep, int nkeep,
                         int report_fd, int *pidfile_fd) {
  int saved = errno;
  int r = 0;
  *pidfile_fd = -1;
  if (dir && chdir(dir) < 0) r = -errno;
  if (r == 0 && um >= 0) umask((mode_t)um);
  if (r == 0 && pidfile) {
    int fd = open(pidfile, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) r = -errno;
    else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
      r = errno == EWOULDBLOCK ? MT_EBUSY : -errno;
      close(fd);
    } else {
      char b[24];
      int len = snprintf(b, sizeof b, "%d\n", (int)getpid());
      if (ftruncate(fd, 0) < 0 || write(fd, b, (size_t)len) != len) r = -errno;
      *pidfile_fd = fd;
    }
  }
  if (r == 0) r = redirect(in, O_RDONLY, 0);
  if (r == 0) r = redirect(out, O_WRONLY | O_CREAT | O_APPEND, 1);
  if (r == 0) r = redirect(err, O_WRONLY | O_CREAT | O_APPEND, 2);
  if (r == 0) {
    /* Close everything else: from the list of open descriptors. */
    DIR *d = opendir("/proc/self/fd");
    if (d) {
      int self = dirfd(d);
      int fds[1024], n = 0;
      struct dirent *e;
      while ((e = readdir(d)) && n < 1024) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd > 2 && fd != self && fd != report_fd && fd != *pidfile_fd &&
            !kept(fd, keep, nkeep))
          fds[n++] = fd;
      }
      closedir(d);
      for (int i = 0; i < n; i++) close(fds[i]);
    }
  }
  errno = saved;
  return r;
}
