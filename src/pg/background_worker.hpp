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

} // namespace ec
