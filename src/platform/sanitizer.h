/* platform/sanitizer.h - MT__ASAN / MT__TSAN: an AddressSanitizer /
 * ThreadSanitizer build (GCC defines __SANITIZE_*__, clang answers
 * __has_feature).  The one place that asks; core.h includes it, and the
 * platform files below core use it directly. */
#ifndef MT_PLATFORM_SANITIZER_H
#define MT_PLATFORM_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define MT__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MT__ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define MT__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MT__TSAN 1
#endif
#endif

#endif
