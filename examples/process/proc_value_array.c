/* Value('d', 0.0) and Array('i', range(10)) changed by a child:
 * num.value = 3.1415927, a[i] = -a[i] (the Python docs' example). */
#include <multitask.h>
#include <stdio.h>

static int f(void *arg) {
  void **objs = arg;
  mt_shvalue_set_double(objs[0], 3.1415927);
  mt_sharray_t *a = objs[1];
  for (long i = 0; i < (long)mt_sharray_len(a); i++) {
    int64_t x;
    mt_sharray_get_i64(a, i, &x);
    mt_sharray_set_i64(a, i, -x);
  }
  return 0;
}

int main(void) {
  mt_shvalue_t *num = mt_shvalue_new_double('d', 0.0, true);
  mt_sharray_t *arr = mt_sharray_new('i', 10, true);
  for (long i = 0; i < 10; i++) mt_sharray_set_i64(arr, i, i);
  void *objs[2] = {num, arr};
  mt_process_t *p = mt_process_new(f, objs, NULL);
  mt_process_start(p);
  mt_process_join(p, MT_FOREVER);
  mt_process_free(p);
  double v;
  mt_shvalue_get_double(num, &v);
  printf("num = %.7f\narr = [", v);
  for (long i = 0; i < 10; i++) {
    int64_t x;
    mt_sharray_get_i64(arr, i, &x);
    printf("%s%lld", i ? ", " : "", (long long)x);
  }
  printf("]\n");
  const char *codes = "cbBhHiIlLfd";
  printf("typecode sizes:");
  for (const char *t = codes; *t; t++) printf(" '%c'=%zu", *t, mt_typecode_size(*t));
  mt_shvalue_t *b = mt_shvalue_new_raw('b', 0);
  printf("\nValue('b').set(300) -> %s (ctypes would silently wrap)\n",
         mt_err_name(mt_shvalue_set_i64(b, 300)));
  mt_shvalue_free(b);
  mt_shvalue_free(num);
  mt_sharray_free(arr);
  return 0;
}
