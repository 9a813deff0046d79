#ifndef PERMD_CSQLITE_GATHER_H
#define PERMD_CSQLITE_GATHER_H

/* An SQLite VFS over the default one that gathers the writes SQLite makes to a write-ahead
 * log into one write before the log is synced, read, sized or closed.
 *
 * Why: SQLite writes each WAL frame as two writes (its 24-byte header, then the page), so a
 * commit of 25 pages makes 50 system calls; gathered, two or three. What reaches the disk,
 * and when it is synced, is unchanged: a commit still returns only after the log's sync,
 * and every byte is written before that sync. Writes to anything else (the database file,
 * a rollback journal) go straight through.
 *
 * Registers the VFS (not as the default) once; returns its name for sqlite3_open_v2, or
 * NULL when it cannot be registered (then open with the default VFS). */
const char *permd_gather_vfs(void);

#endif
