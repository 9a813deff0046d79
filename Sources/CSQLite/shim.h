#ifndef PERMD_CSQLITE_SHIM_H
#define PERMD_CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a cast macro, which Swift cannot import. */
static inline sqlite3_destructor_type CSQLite_transient(void) { return SQLITE_TRANSIENT; }

/* sqlite3_config is variadic, which Swift cannot call. Memory statistics off: with them on,
 * every allocation SQLite makes takes a global mutex (SQLITE_CONFIG_MEMSTATUS). Must run
 * before SQLite initializes (the first open); later it returns SQLITE_MISUSE and changes nothing. */
static inline int CSQLite_disableMemoryStatistics(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

#endif
