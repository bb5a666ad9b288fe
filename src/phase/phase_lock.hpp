/*
 * phase_lock.hpp — how start, complete and rollback take their locks without
 * stalling the schema's writers.
 *
 * A phase needs ACCESS EXCLUSIVE on the tables it changes. Waiting for it
 * behind a long reader would queue every writer of those tables behind the
 * phase for as long as the reader lives. So each attempt at a phase's work
 * runs in a subtransaction with lock_timeout = expand_contract.
 * phase_lock_timeout (kept below deadlock_timeout, so the phase gives up
 * before a deadlock check could pick a writer as the victim); an attempt
 * that times out (or is a deadlock victim) leaves nothing behind, and the
 * phase tries again after a growing, jittered pause, saying who holds it up,
 * until expand_contract.phase_lock_deadline, when it fails with 55P03
 * having changed nothing. A writer waits behind a phase for at most one lock
 * timeout plus the phase's own work.
 */
#pragma once

#include "pg.hpp"

namespace ec {

void define_phase_lock_settings();

/* A ProcessUtility hook that notes BEGIN, so a phase can tell it runs in an
 * explicit transaction block. */
void install_transaction_tracking();
void note_transaction_statement(Node *statement);
void call_process_utility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree,
						  ProcessUtilityContext context, ParamListInfo params,
						  QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc);

/* expand_contract.complete_backfill_limit: the most rows complete() may
 * backfill in its own transaction. */
int complete_backfill_limit();
/* expand_contract.phase_lock_deadline and phase_lock_timeout, in ms. */
int phase_lock_deadline();
int phase_lock_timeout();

/*
 * Runs attempt(arg), the whole of phase `phase` on schema `schema_oid`, as
 * described above. attempt must start from scratch each time (an attempt
 * that failed was rolled back) and raise no NOTICE it would not repeat.
 */
void run_phase(const char *phase, Oid schema_oid, void (*attempt)(void *), void *arg);

/* One such attempt, for work that may wait for later (no retry, no refusal
 * of transaction blocks): false when it could not get its locks within
 * expand_contract.phase_lock_timeout, and then it left nothing behind. */
bool try_under_phase_lock_timeout(void (*attempt)(void *), void *arg);

} // namespace ec
