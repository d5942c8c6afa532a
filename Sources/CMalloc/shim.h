#ifndef BOTTLENECK_CMALLOC_SHIM_H
#define BOTTLENECK_CMALLOC_SHIM_H
// glibc's allocator tuning (mallopt and its M_* parameters), which Swift's Glibc module omits.
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif
#endif
