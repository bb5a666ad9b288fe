/*
 * module.cpp — the shared library's entry: module magic, settings, and the
 * cache invalidation hooks of the trigger engine.
 */
#include "backfill/backfill_runner.hpp"
#include "boundary.hpp"
#include "phase/ddl_guard.hpp"
#include "phase/phase_lock.hpp"
#include "sync/version_activity.hpp"
#include "phase/version_schema.hpp"
#include "sync/statement_sync.hpp"
#include "sync/trigger_engine.hpp"
#include "sync/version_detect.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
}

void
_PG_init(void)
{
	ec::pg_entry([] {
		ec::define_version_setting();
		ec::define_backfill_settings();
		ec::define_phase_lock_settings();
		ec::define_ddl_guard_settings();
		ec::install_transaction_tracking();
		ec::define_version_activity_settings();
		ec::define_version_schema_settings();
		ec::request_version_activity_memory();
		MarkGUCPrefixReserved("expand_contract");
		ec::register_sync_invalidation();
		ec::install_statement_tracking();
		ec::install_statement_sync();
	});
}
