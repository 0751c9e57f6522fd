/* gen.c - the random workload generator of `mtsched gen`.
 *
 * The PRNG is splitmix64 (Steele, Lea, Flood 2014; the seeding generator of
 * xoshiro), written out here so that a seed gives the same workload on every
 * machine and in every language:
 *   state += 0x9E3779B97F4A7C15
 *   z = state; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9; z = (z ^ z>>27) * 0x94D049BB133111EB
 *   return z ^ z>>31
 * uniform(lo, hi) = lo + next() % (hi - lo + 1).  For process i = 1..n, in
 * this order: arrival = uniform(0, A); with --io, k = uniform(1, 3) CPU
 * bursts, each CPU and I/O burst uniform(1, B) (CPU, I/O, CPU, ...), without
 * it one CPU burst uniform(1, B); priority = uniform(0, 9). */
#include "mtsched.h"

uint64_t ms_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static int64_t uniform(uint64_t *st, int64_t lo, int64_t hi) {
  uint64_t range = (uint64_t)hi - (uint64_t)lo + 1; /* 0 = the full 2^64 range */
  uint64_t v = ms_splitmix64(st);
  return lo + (int64_t)(range ? v % range : v);
}

void ms_gen_defaults(ms_gen_opts_t *o) {
  o->n = 5;
  o->seed = 1;
  o->max_arrival = 10;
  o->max_burst = 10;
  o->io = false;
}

int ms_gen(FILE *f, const ms_gen_opts_t *o) {
  uint64_t st = (uint64_t)o->seed;
  fprintf(f, "# mtsched gen -n %lld --seed %lld --max-arrival %lld --max-burst %lld%s\n",
          (long long)o->n, (long long)o->seed, (long long)o->max_arrival,
          (long long)o->max_burst, o->io ? " --io" : "");
  fprintf(f, "# NAME ARRIVAL BURSTS PRIORITY\n");
  for (int64_t i = 1; i <= o->n; i++) {
    int64_t arrival = uniform(&st, 0, o->max_arrival);
    int64_t k = o->io ? uniform(&st, 1, 3) : 1;
    fprintf(f, "P%lld %lld ", (long long)i, (long long)arrival);
    for (int64_t j = 0; j < 2 * k - 1; j++)
      fprintf(f, j ? ",%lld" : "%lld", (long long)uniform(&st, 1, o->max_burst));
    fprintf(f, " %lld\n", (long long)uniform(&st, 0, 9));
  }
  return ferror(f) ? MS_EIO : MS_OK;
}
