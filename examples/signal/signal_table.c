/* signal_table.c - `kill -l` and the notes' table of signals: name,
 * number, default action, meaning. */
#include <multitask.h>

#include <stdio.h>

int main(void) {
  /* kill -l: five to a line */
  int col = 0;
  for (int s = 1; s < 65; s++) {
    const char *n = mt_signal_name(s);
    if (!n) continue;
    printf("%2d) %-12s%s", s, n, ++col % 5 ? "" : "\n");
  }
  printf("\n\n%-10s %3s  %-5s %-22s %s\n", "name", "num", "dfl", "meaning", "the notes");
  /* the notes' table (信号名称 / 信号含义 / 默认处理方法) */
  static const struct {
    int sig;
    const char *notes;
  } rows[] = {{SIGHUP, "链接断开"},      {SIGINT, "CTRL+C"},
              {SIGQUIT, "CTRL+\\"},     {SIGTSTP, "CTRL+Z"},
              {SIGKILL, "终止一个进程"}, {SIGSTOP, "暂停一个进程"},
              {SIGALRM, "时钟信号"},      {SIGCHLD, "子进程状态改变时给父进程发出"}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    int s = rows[i].sig;
    printf("%-10s %3d  %-5s %-22s %s\n", mt_signal_name(s), s, mt_signal_default_action(s),
           mt_signal_strsignal(s), rows[i].notes);
  }
  return mt_signal_from_name("SIGTSTP") == SIGTSTP ? 0 : 1;
}
