/* popen_communicate.c - the notes' subprocess example:
 *
 *   p = subprocess.Popen(['nslookup'], stdin=PIPE, stdout=PIPE, stderr=PIPE)
 *   output, err = p.communicate(b'set q=mx\npython.org\nexit\n')
 *   print(output.decode('utf-8')); print('Exit code:', p.returncode)
 *
 * nslookup needs the network, so the program fed through stdin here is
 * `sort` (and `bc` when installed); then run() and check_output(). */
#include <multitask.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int talk(const char *const argv[], const char *input) {
  mt_popen_opts_t o = MT_POPEN_OPTS_INIT;
  o.stdin_fd = o.stdout_fd = o.stderr_fd = MT_SUBPROCESS_PIPE;
  mt_popen_t *p = mt_popen_new(argv, &o);
  if (!p) {
    printf("$ %s: cannot start: %s\n", argv[0], strerror(errno));
    return errno == ENOENT ? 0 : 1;
  }
  char *out, *err;
  size_t ol, el;
  int r = mt_popen_communicate(p, input, strlen(input), 10.0, &out, &ol, &err, &el);
  int rc = -1;
  mt_popen_returncode(p, &rc);
  printf("$ %s <<< %zu bytes\n%s", argv[0], strlen(input), r == 0 ? out : "(timed out)\n");
  if (r == 0 && el) printf("stderr: %s", err);
  printf("Exit code: %d\n", rc);
  if (r == 0) {
    free(out);
    free(err);
  }
  mt_popen_free(p);
  return r == 0 ? 0 : 1;
}

int main(void) {
  int bad = 0;
  const char *sort[] = {"sort", "-n", NULL};
  bad |= talk(sort, "42\n7\n1000\n-3\n");
  const char *bcl[] = {"bc", "-l", "-q", NULL};
  bad |= talk(bcl, "scale=20\n4*a(1)\n2^64\nquit\n");

  /* A program that does not exist: the constructor says so (no exit 127). */
  const char *nope[] = {"nslookup-offline", NULL};
  mt_popen_t *p = mt_popen_new(nope, NULL);
  printf("Popen(['nslookup-offline']) -> %s (errno %s)\n", p ? "started?!" : "NULL",
         errno == ENOENT ? "ENOENT: FileNotFoundError" : strerror(errno));
  bad |= p != NULL;

  /* run(capture_output=True) and check_output */
  const char *date[] = {"sh", "-c", "echo hello from $0; exit 3", NULL};
  mt_subprocess_run_opts_t ro = MT_SUBPROCESS_RUN_OPTS_INIT;
  ro.capture_output = true;
  mt_subprocess_result_t res;
  if (mt_subprocess_run(date, NULL, &ro, &res) == 0)
    printf("run: returncode %d, stdout %s", res.returncode, res.stdout_data);
  mt_subprocess_result_clear(&res);
  char *out;
  int code;
  int r = mt_subprocess_check_output(date, NULL, 10.0, &out, NULL, &code);
  printf("check_output: %s (returncode %d), output so far: %s", mt_err_name(r), code, out);
  free(out);
  return bad;
}
