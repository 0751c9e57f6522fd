/* daemon_demo.c - a daemon process (守护进程) with mt_os_daemonize: double
 * fork, setsid, chdir("/"), umask, stdio to a log file, every other
 * descriptor closed, and a pid file locked for the daemon's life so a
 * second instance refuses to start. */
#include <multitask.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  char dir[] = "/tmp/mt_daemon_demo_XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char pidfile[128], log[128];
  snprintf(pidfile, sizeof pidfile, "%s/demo.pid", dir);
  snprintf(log, sizeof log, "%s/demo.log", dir);
  int gate[2];
  if (pipe(gate) != 0) return 1;

  mt_daemon_opts_t o = MT_DAEMON_OPTS_INIT;
  o.pidfile = pidfile;
  o.stdout_path = log;
  o.keep_fds = &gate[0];
  o.n_keep_fds = 1;
  o.parent_exits = false; /* this demo goes on to show the daemon */
  pid_t d = mt_os_daemonize(&o);
  if (d == 0) { /* the daemon */
    printf("daemon %d: session %d, parent %d, cwd /, stdio -> log\n", (int)getpid(),
           (int)getsid(0), (int)getppid());
    fflush(stdout);
    char c;
    (void)!read(gate[0], &c, 1); /* serve until told to stop */
    printf("daemon %d: stopping\n", (int)getpid());
    return 0;
  }
  if (d < 0) {
    printf("daemonize failed: %s\n", mt_strerror(d));
    return 1;
  }
  printf("started daemon %d (pid file %s)\n", (int)d, pidfile);
  o.n_keep_fds = 0;
  pid_t again = mt_os_daemonize(&o);
  printf("second instance: %s (the pid file is locked)\n", mt_err_name(again));
  close(gate[1]); /* stop it, and wait for it to end (not our child) */
  int fd = (int)syscall(SYS_pidfd_open, d, 0);
  if (fd >= 0) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    poll(&p, 1, 10000);
    close(fd);
  }
  printf("its log:\n");
  FILE *f = fopen(log, "r");
  char line[256];
  while (f && fgets(line, sizeof line, f)) printf("  %s", line);
  if (f) fclose(f);
  unlink(pidfile);
  unlink(log);
  rmdir(dir);
  return again == MT_EBUSY ? 0 : 1;
}
