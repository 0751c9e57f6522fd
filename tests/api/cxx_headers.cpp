// Every public header, compiled as C++ (tests/api/CMakeLists.txt).
#include <multitask.h>

int main() {
  mt_pool_opts_t o;  // an option struct is usable from C++ (no designated
  o = mt_pool_opts_t();  // initialisers before C++20: value-initialise, then set)
  o.size = sizeof o;
  return o.size == 0;
}
