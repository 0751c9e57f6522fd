/* orphan_zombie.c - the notes' orphan (孤儿进程) and zombie (僵尸进程), and
 * how the helpers avoid each.
 *
 * zombie: a child that ended and was not waited for stays in the process
 *   table in state Z (read from /proc/<pid>/stat) until its parent reaps
 *   it; here with a raw fork(), then reaped with mt_os_waitpid.
 * orphan: a child whose parent ended first is adopted by init (pid 1) or
 *   the nearest subreaper: mt_os_double_fork makes one on purpose (the
 *   notes' fork.py), and reaps the middle child so no zombie is left.
 * the helpers: a child of mt_os_fork / mt_process_t is reaped by join;
 *   mt_process_t / Popen children freed while running are reaped by the
 *   library. */
#include <multitask.h>

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char state_of(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return '-'; /* gone: reaped */
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  return p ? p[2] : '?';
}

int main(void) {
  /* ---- a zombie ---- */
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  /* wait until it ended WITHOUT reaping it: waitid(WNOWAIT) */
  siginfo_t info;
  waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
  int st;
  char s = state_of(pid);
  printf("zombie: child %d ended, not waited for: state %c (Z = zombie)\n", (int)pid, s);
  pid_t r = mt_os_waitpid(pid, 0, 10.0, &st);
  printf("zombie: mt_os_waitpid reaped %d (exit %d): state now %c (gone)\n", (int)r,
         mt_os_waitstatus_to_exitcode(st), state_of(pid));

  /* ---- an orphan, on purpose ---- */
  int p[2];
  if (pipe(p) != 0) return 1;
  pid_t g = mt_os_double_fork();
  if (g == 0) {
    char line[128];
    int n = snprintf(line, sizeof line,
                     "orphan: grandchild %d, its parent exited: adopted by pid %d "
                     "(init or a subreaper)\n",
                     (int)getpid(), (int)getppid());
    (void)!write(p[1], line, (size_t)n);
    _exit(0);
  }
  close(p[1]);
  char buf[256];
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  fputs(buf, stdout);
  printf("orphan: the original parent is %d; the middle child was reaped: "
         "mt_os_wait finds no child: %s\n",
         (int)getpid(), mt_err_name(mt_os_wait(0, NULL)));

  /* ---- the helpers: nothing left behind ---- */
  mt_process_t *c;
  pid = mt_os_fork(&c, NULL);
  if (pid == 0) _exit(0);
  mt_process_join(c, MT_FOREVER);
  printf("mt_os_fork child %d joined: state %c\n", (int)pid, state_of(pid));
  mt_process_free(c);
  return 0;
}
