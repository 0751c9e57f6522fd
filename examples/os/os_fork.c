/* os_fork.c - the notes' first multiprocessing example (seed 000, §5
 * "python实现多进程"): os.fork() returns twice, 0 in the child and the
 * child's pid in the parent:
 *
 *   print('Process (%s) start...' % os.getpid())
 *   pid = os.fork()
 *   if pid == 0: print(f"父进程pid: {os.getppid()}, 子进程pid: {os.getpid()}.")
 *   else:        print(f"子进程pid: {os.getpid()}, 父进程pid: {pid}")
 *
 * (The notes' labels in the parent's line are swapped: there getpid() is the
 * parent and pid the child; the lines below say which is which.)
 * mt_os_fork also registers the child, so the parent joins it like a
 * Process: no zombie, and the child's line always comes first here because
 * the parent prints only after the join. */
#include <multitask.h>

#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Process (%d) start...\n", (int)getpid());
  fflush(stdout); /* else the child inherits the buffered line too */
  mt_process_t *child;
  pid_t pid = mt_os_fork(&child, NULL);
  if (pid < 0) {
    printf("fork() failed: %s\n", mt_strerror(pid));
    return 1;
  }
  if (pid == 0) {
    printf("child: my pid %d, my parent's pid (getppid) %d\n", (int)getpid(), (int)getppid());
    return 0; /* a normal exit, as the notes' script ends */
  }
  mt_process_join(child, MT_FOREVER);
  int code = -1;
  mt_process_exitcode(child, &code);
  printf("parent: my pid %d, fork() returned the child's pid %d (exit code %d)\n", (int)getpid(),
         (int)pid, code);
  mt_process_free(child);
  return 0;
}
