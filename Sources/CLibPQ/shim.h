#ifndef PERMD_CLIBPQ_SHIM_H
#define PERMD_CLIBPQ_SHIM_H
#include <libpq-fe.h>

/* The error-field codes are character-literal macros, which Swift does not import. */
static inline int CLibPQ_diagSQLState(void) { return PG_DIAG_SQLSTATE; }
static inline int CLibPQ_diagMessagePrimary(void) { return PG_DIAG_MESSAGE_PRIMARY; }
static inline int CLibPQ_diagMessageDetail(void) { return PG_DIAG_MESSAGE_DETAIL; }
static inline int CLibPQ_diagConstraintName(void) { return PG_DIAG_CONSTRAINT_NAME; }

#endif
