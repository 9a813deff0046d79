#ifndef PERMD_CPREFETCH_H
#define PERMD_CPREFETCH_H

/// Starts loading the cache line at `address` into every cache level and returns at once
/// (no fault, whatever the address): how the index starts the memory loads of several
/// CHECKs before answering the first, so that their cache misses overlap. Swift has no
/// prefetch of its own; `static inline` costs no call.
static inline void permd_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
