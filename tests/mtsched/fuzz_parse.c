/* libFuzzer entry point (built with clang -fsanitize=fuzzer,address,undefined
 * by tests/mtsched/CMakeLists.txt; run by fuzz.sh). */
#include "fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_one(data, size); }
