/* The notes' Event traffic light: green 10 s, yellow 3 s, red 7 s; three
 * cars pass on green and wait on red with event.wait().  --speed F divides
 * every duration (default 20: one "second" is 50 ms); --cycles N (default 2). */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static mt_event_t *green;
static mt_event_t *stop;
static double tick; /* seconds per simulated second */
static int passes[3], waits[3];

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

static void *light(void *arg) {
  int cycles = (int)(long)arg;
  mt_event_set(green);
  for (int c = 0; c < cycles; c++) {
    for (int count = 0; count < 20; count++) {
      if (count < 10) {
        if (count == 0) puts("\033[42;1m ------green light on ----\033[0m");
      } else if (count < 13) {
        if (count == 10) puts("\033[43;1m ------yellow light on ----\033[0m");
      } else {
        if (mt_event_is_set(green)) {
          mt_event_clear(green);
          puts("\033[41;1m ------red light on ----\033[0m");
        }
      }
      sleep_s(tick);
    }
    mt_event_set(green);
  }
  mt_event_set(stop);
  return NULL;
}

static void *car(void *arg) {
  int n = (int)(long)arg;
  unsigned seed = (unsigned)n * 7919u;
  while (!mt_event_is_set(stop)) {
    sleep_s(tick * (rand_r(&seed) % 3));
    if (mt_event_is_set(green)) {
      printf("car [%d] is running...\n", n);
      passes[n]++;
    } else {
      printf("car [%d] is waiting for the red light..\n", n);
      waits[n]++;
      mt_event_wait(green, MT_FOREVER);
      printf("Green light is on, car %d is running.......\n", n);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  double speed = 20;
  int cycles = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--speed")) speed = atof(argv[i + 1]);
    if (!strcmp(argv[i], "--cycles")) cycles = atoi(argv[i + 1]);
  }
  if (speed <= 0 || cycles <= 0) {
    fprintf(stderr, "usage: traffic_light [--speed F] [--cycles N]\n");
    return 2;
  }
  tick = 1.0 / speed;
  setvbuf(stdout, NULL, _IOLBF, 0);
  green = mt_event_new(0);
  stop = mt_event_new(0);
  mt_thread_t *l = mt_thread_spawn(light, (void *)(long)cycles, NULL);
  mt_thread_t *cars[3];
  for (int i = 0; i < 3; i++) cars[i] = mt_thread_spawn(car, (void *)(long)i, NULL);
  mt_thread_join(l, MT_FOREVER, NULL);
  mt_thread_free(l);
  for (int i = 0; i < 3; i++) mt_thread_join(cars[i], MT_FOREVER, NULL), mt_thread_free(cars[i]);
  for (int i = 0; i < 3; i++) printf("car %d: passed on green %d times, waited at red %d times\n", i, passes[i], waits[i]);
  mt_event_free(green);
  mt_event_free(stop);
  return 0;
}
