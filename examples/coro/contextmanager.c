/* contextlib.contextmanager (the notes, 004 "管理上下文的模块contextlib"):
 *
 *   @contextlib.contextmanager
 *   def myopen(path_file, mode):
 *       f = open(path_file, mode)
 *       try: yield f
 *       finally: f.close()
 *   with myopen("s2.py", "r") as f1:
 *       for line in f1: print(line)
 *
 *   li = [1,]
 *   @contextlib.contextmanager
 *   def f1(list, arg):
 *       li.append(arg)
 *       try: yield
 *       finally: print(123); li.remove(arg)
 *   with f1(li, 3): print(li)          # [1, 3], then 123
 *
 * In C the context manager is a generator (mt_generator_t) and `with` is
 * MT_WITH_GENERATOR(v, gen): the generator runs to its yield, the body runs
 * with v = the yielded value, and leaving the body (also by break or
 * return) resumes the generator so its clean-up runs.  The file the notes
 * read ("s2.py") is written first, to a temporary file. */
#include <multitask.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
  const char *path, *mode;
} open_args_t;

static void *myopen(mt_generator_t *self, void *arg) {
  open_args_t *a = arg;
  FILE *f = fopen(a->path, a->mode);
  if (!f) return NULL; /* no yield: the with-body is skipped */
  mt_generator_yield(self, f, NULL);
  fclose(f); /* finally: runs however the body was left */
  printf("(myopen: the file is closed)\n");
  return NULL;
}

static int li[8] = {1}, n_li = 1;

static void print_li(void) {
  printf("[");
  for (int i = 0; i < n_li; i++) printf(i ? ", %d" : "%d", li[i]);
  printf("]\n");
}

static void *f1(mt_generator_t *self, void *arg) {
  int v = (int)(intptr_t)arg;
  li[n_li++] = v; /* li.append(arg) */
  mt_generator_yield(self, NULL, NULL);
  printf("123\n"); /* finally: print(123); li.remove(arg) */
  for (int i = 0; i < n_li; i++)
    if (li[i] == v) {
      for (int j = i; j + 1 < n_li; j++) li[j] = li[j + 1];
      n_li--;
      break;
    }
  return NULL;
}

int main(void) {
  char path[] = "/tmp/mt_s2_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, "print('s2 line 1')\nprint('s2 line 2')\n", 38) != 38) {
    perror("temporary file");
    return 1;
  }
  close(fd);

  open_args_t args = {path, "r"};
  mt_generator_t *cm = mt_generator_new(myopen, &args, NULL);
  int lines = 0;
  MT_WITH_GENERATOR(f, cm) {
    char line[128];
    while (fgets(line, sizeof line, f)) {
      printf("%s", line);
      lines++;
    }
  }
  mt_generator_free(cm);
  unlink(path);

  cm = mt_generator_new(f1, (void *)(intptr_t)3, NULL);
  MT_WITH_GENERATOR(unused, cm) print_li(); /* [1, 3] */
  mt_generator_free(cm);
  print_li(); /* [1]: the clean-up removed 3 */
  return lines == 2 && n_li == 1 ? 0 : 1;
}
