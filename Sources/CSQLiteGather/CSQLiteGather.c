// The gathering VFS: see include/CSQLiteGather.h for what and why.
#include "CSQLiteGather.h"

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

// Writes are gathered up to this many bytes (a commit of 25 pages of 8 KiB is about 200 KiB); a
// longer run is written in pieces of at most this size. Below 128 KiB: the unix VFS's write
// masks its length with 0x1ffff (it is never handed more by SQLite itself), so a write of
// 128 KiB or more would be cut short.
#define GATHER_CAPACITY (128 * 1024 - 1)

// A write-ahead log opened through the VFS: the default VFS's file, and the writes not
// handed to it yet (bytes [start, start + used) of the file).
typedef struct GatherFile {
    sqlite3_file base;
    sqlite3_file *real;
    unsigned char *buffer;
    sqlite3_int64 start;
    int used;
} GatherFile;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs gather_vfs;

// Hands the gathered writes to the real file. On failure they are dropped and the error
// returned: the caller (a sync, a read) fails, and SQLite treats the commit as not made.
static int flush(GatherFile *file) {
    if (file->used == 0) return SQLITE_OK;
    int used = file->used;
    file->used = 0;
    return file->real->pMethods->xWrite(file->real, file->buffer, used, file->start);
}

#define REAL(f) (((GatherFile *)(f))->real)
#define FLUSHED(f, call) do { int rc = flush((GatherFile *)(f)); if (rc != SQLITE_OK) return rc; return (call); } while (0)

static int gather_close(sqlite3_file *f) {
    GatherFile *file = (GatherFile *)f;
    int flushed = flush(file);
    sqlite3_free(file->buffer);
    file->buffer = NULL;
    int closed = file->real->pMethods->xClose(file->real);
    return flushed != SQLITE_OK ? flushed : closed;
}

static int gather_read(sqlite3_file *f, void *data, int amount, sqlite3_int64 offset) {
    FLUSHED(f, REAL(f)->pMethods->xRead(REAL(f), data, amount, offset));
}

static int gather_write(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset) {
    GatherFile *file = (GatherFile *)f;
    if (file->used > 0 && offset == file->start + file->used && file->used + amount <= GATHER_CAPACITY) {
        memcpy(file->buffer + file->used, data, (size_t)amount);
        file->used += amount;
        return SQLITE_OK;
    }
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    if (amount > GATHER_CAPACITY) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    if (file->buffer == NULL) {
        file->buffer = sqlite3_malloc(GATHER_CAPACITY);
        if (file->buffer == NULL) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    }
    memcpy(file->buffer, data, (size_t)amount);
    file->start = offset;
    file->used = amount;
    return SQLITE_OK;
}

static int gather_truncate(sqlite3_file *f, sqlite3_int64 size) {
    FLUSHED(f, REAL(f)->pMethods->xTruncate(REAL(f), size));
}

static int gather_sync(sqlite3_file *f, int flags) {
    FLUSHED(f, REAL(f)->pMethods->xSync(REAL(f), flags));
}

static int gather_file_size(sqlite3_file *f, sqlite3_int64 *size) {
    FLUSHED(f, REAL(f)->pMethods->xFileSize(REAL(f), size));
}

static int gather_lock(sqlite3_file *f, int level) {
    FLUSHED(f, REAL(f)->pMethods->xLock(REAL(f), level));
}

static int gather_unlock(sqlite3_file *f, int level) {
    FLUSHED(f, REAL(f)->pMethods->xUnlock(REAL(f), level));
}

static int gather_check_reserved_lock(sqlite3_file *f, int *reserved) {
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), reserved);
}

static int gather_file_control(sqlite3_file *f, int op, void *argument) {
    FLUSHED(f, REAL(f)->pMethods->xFileControl(REAL(f), op, argument));
}

static int gather_sector_size(sqlite3_file *f) {
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int gather_device_characteristics(sqlite3_file *f) {
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

// The shared-memory and memory-mapping methods belong to database files; a log's are
// passed on as they are (SQLite does not call them on a log).
static int gather_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **memory) {
    if (REAL(f)->pMethods->iVersion < 2) return SQLITE_IOERR;
    return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, memory);
}

static int gather_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
    if (REAL(f)->pMethods->iVersion < 2) return SQLITE_IOERR;
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void gather_shm_barrier(sqlite3_file *f) {
    if (REAL(f)->pMethods->iVersion >= 2) REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int gather_shm_unmap(sqlite3_file *f, int delete_flag) {
    if (REAL(f)->pMethods->iVersion < 2) return SQLITE_OK;
    return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

static int gather_fetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **pages) {
    *pages = NULL;
    if (REAL(f)->pMethods->iVersion < 3) return SQLITE_OK;
    FLUSHED(f, REAL(f)->pMethods->xFetch(REAL(f), offset, amount, pages));
}

static int gather_unfetch(sqlite3_file *f, sqlite3_int64 offset, void *pages) {
    if (REAL(f)->pMethods->iVersion < 3) return SQLITE_OK;
    return REAL(f)->pMethods->xUnfetch(REAL(f), offset, pages);
}

static const sqlite3_io_methods gather_methods = {
    3,
    gather_close, gather_read, gather_write, gather_truncate, gather_sync, gather_file_size,
    gather_lock, gather_unlock, gather_check_reserved_lock, gather_file_control,
    gather_sector_size, gather_device_characteristics,
    gather_shm_map, gather_shm_lock, gather_shm_barrier, gather_shm_unmap,
    gather_fetch, gather_unfetch,
};

// A log is wrapped; every other file is the default VFS's own, opened in place.
static int gather_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out_flags) {
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL)) return real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
    GatherFile *file = (GatherFile *)f;
    memset(file, 0, sizeof *file);
    file->real = (sqlite3_file *)(file + 1);
    int rc = real_vfs->xOpen(real_vfs, name, file->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (file->real->pMethods != NULL) file->real->pMethods->xClose(file->real);
        file->base.pMethods = NULL;
        return rc;
    }
    file->base.pMethods = &gather_methods;
    return SQLITE_OK;
}

// The rest of the VFS is the default one's, called with its own handle.
static int gather_delete(sqlite3_vfs *v, const char *name, int sync) {
    (void)v;
    return real_vfs->xDelete(real_vfs, name, sync);
}
static int gather_access(sqlite3_vfs *v, const char *name, int flags, int *result) {
    (void)v;
    return real_vfs->xAccess(real_vfs, name, flags, result);
}
static int gather_full_pathname(sqlite3_vfs *v, const char *name, int size, char *out) {
    (void)v;
    return real_vfs->xFullPathname(real_vfs, name, size, out);
}
static void *gather_dl_open(sqlite3_vfs *v, const char *name) {
    (void)v;
    return real_vfs->xDlOpen(real_vfs, name);
}
static void gather_dl_error(sqlite3_vfs *v, int size, char *message) {
    (void)v;
    real_vfs->xDlError(real_vfs, size, message);
}
static void (*gather_dl_sym(sqlite3_vfs *v, void *library, const char *symbol))(void) {
    (void)v;
    return real_vfs->xDlSym(real_vfs, library, symbol);
}
static void gather_dl_close(sqlite3_vfs *v, void *library) {
    (void)v;
    real_vfs->xDlClose(real_vfs, library);
}
static int gather_randomness(sqlite3_vfs *v, int size, char *out) {
    (void)v;
    return real_vfs->xRandomness(real_vfs, size, out);
}
static int gather_sleep(sqlite3_vfs *v, int microseconds) {
    (void)v;
    return real_vfs->xSleep(real_vfs, microseconds);
}
static int gather_current_time(sqlite3_vfs *v, double *now) {
    (void)v;
    return real_vfs->xCurrentTime(real_vfs, now);
}
static int gather_last_error(sqlite3_vfs *v, int size, char *message) {
    (void)v;
    return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, size, message) : 0;
}
static int gather_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *now) {
    (void)v;
    return real_vfs->xCurrentTimeInt64(real_vfs, now);
}
static int gather_set_system_call(sqlite3_vfs *v, const char *name, sqlite3_syscall_ptr call) {
    (void)v;
    return real_vfs->xSetSystemCall(real_vfs, name, call);
}
static sqlite3_syscall_ptr gather_get_system_call(sqlite3_vfs *v, const char *name) {
    (void)v;
    return real_vfs->xGetSystemCall(real_vfs, name);
}
static const char *gather_next_system_call(sqlite3_vfs *v, const char *name) {
    (void)v;
    return real_vfs->xNextSystemCall(real_vfs, name);
}

static const char *registered_name;

static void register_once(void) {
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    // The forwarding above covers a version-3 VFS (the default unix one); anything else is left alone.
    if (real == NULL || real->iVersion < 3) return;
    real_vfs = real;
    gather_vfs = (sqlite3_vfs){
        .iVersion = 3,
        // A log's block holds the wrapper, then the default VFS's file (`file->real`).
        .szOsFile = (int)sizeof(GatherFile) + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = "permd-gather",
        .xOpen = gather_open,
        .xDelete = gather_delete,
        .xAccess = gather_access,
        .xFullPathname = gather_full_pathname,
        .xDlOpen = gather_dl_open,
        .xDlError = gather_dl_error,
        .xDlSym = gather_dl_sym,
        .xDlClose = gather_dl_close,
        .xRandomness = gather_randomness,
        .xSleep = gather_sleep,
        .xCurrentTime = gather_current_time,
        .xGetLastError = gather_last_error,
        .xCurrentTimeInt64 = gather_current_time_int64,
        .xSetSystemCall = gather_set_system_call,
        .xGetSystemCall = gather_get_system_call,
        .xNextSystemCall = gather_next_system_call,
    };
    if (sqlite3_vfs_register(&gather_vfs, 0) == SQLITE_OK) registered_name = gather_vfs.zName;
}

const char *permd_gather_vfs(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    return registered_name;
}
