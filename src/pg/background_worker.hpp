/*
 * background_worker.hpp — the extension's dynamic background workers
 * (the backfill's and the index builder), registered the one way.
 */
#pragma once

#include "pg.hpp"

namespace ec {

/* A worker of this library running `function` (an exported entry point),
 * connected to a database as it chooses, never restarted, that the caller
 * is notified of; `extra` (at most BGW_EXTRALEN bytes) goes to bgw_extra.
 * Returns its handle once it has started (its pid in *pid), or NULL when no
 * slot is free or it could not start. */
BackgroundWorkerHandle *start_background_worker(const char *function, const char *name, const char *type,
												const void *extra, size_t extra_size, pid_t *pid);

/* In a worker's PG_CATCH: logs the error, keeps its message (with its
 * detail when asked) in message, and aborts the transaction, so the worker
 * can record the failure in a fresh one. Runs in `context`. */
void absorb_worker_error(MemoryContext context, char *message, size_t size, bool with_detail);

/* Runs one utility statement the way a client's simple query would, at top
 * level, in a transaction of its own (which it may commit and restart, as
 * CREATE INDEX CONCURRENTLY and VACUUM do), as `role`; with `wanted`, only
 * if wanted(wanted_arg) says so in that transaction (false: skipped). For a
 * worker between its own transactions. */
bool run_at_top_level(const char *statement, Oid role, bool (*wanted)(void *), void *wanted_arg);

} // namespace ec
