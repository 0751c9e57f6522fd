/* The notes' ticket office: 10 buyer PROCESSES query a JSON ticket file and
 * buy under an MT_SHARED Lock, so the office never oversells.  Starts with
 * 3 tickets (argv[1] overrides). */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *FILE_NAME = "ticket_count.json";

static int read_count(void) {
  FILE *f = fopen(FILE_NAME, "r");
  int n = -1;
  if (f) {
    if (fscanf(f, " {\"count\": %d}", &n) != 1) n = -1;
    fclose(f);
  }
  return n;
}

static void write_count(int n) {
  FILE *f = fopen(FILE_NAME, "w");
  fprintf(f, "{\"count\": %d}\n", n);
  fclose(f);
}

static void pause_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static int buyer(int user, mt_lock_t *lock) {
  printf("user%d queried: %d tickets left\n", user, read_count());
  int bought = 0;
  MT_WITH_LOCK(lock) {
    pause_ms(20); /* the notes' network delay, inside the critical section */
    int n = read_count();
    if (n > 0) {
      printf("user%d bought a ticket\n", user);
      write_count(n - 1);
      bought = 1;
    } else {
      printf("user%d found none left\n", user);
    }
  }
  return bought;
}

int main(int argc, char **argv) {
  int tickets = argc > 1 ? atoi(argv[1]) : 3;
  setvbuf(stdout, NULL, _IONBF, 0);
  write_count(tickets);
  mt_lock_t *lock = mt_lock_new(MT_SHARED);
  pid_t kids[10];
  for (int i = 0; i < 10; i++) {
    kids[i] = fork();
    if (kids[i] == 0) _exit(buyer(i, lock));
  }
  int sold = 0;
  for (int i = 0; i < 10; i++) {
    int st;
    waitpid(kids[i], &st, 0);
    sold += WIFEXITED(st) ? WEXITSTATUS(st) : 0;
  }
  int left = read_count();
  printf("sold %d of %d tickets, %d left in the file: %s\n", sold, tickets, left,
         sold == tickets && left == 0 ? "never oversold" : "OVERSOLD");
  mt_lock_free(lock);
  return sold == tickets && left == 0 ? 0 : 1;
}
