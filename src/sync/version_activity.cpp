/*
 * version_activity.cpp — the writes and reads of each version, in shared memory; see
 * version_activity.hpp.
 */
#include "sync/version_activity.hpp"

#include "boundary.hpp"
#include "pg/sql.hpp"

extern "C" void ec_version_activity_shmem_request(void);
extern "C" void ec_version_activity_shmem_startup(void);
extern "C" void ec_phase_committed(XactEvent event, void *arg);

namespace ec {

namespace {

constexpr int kSlots = 64;
constexpr int kSessionsPerSlot = 8;
constexpr int kWatchedRelations = 256;
/* A backend notes the same use of a version at most this often. */
constexpr int64 kNoteEveryUs = 100 * 1000;

enum Use { kWrite = 0, kRead = 1 };

struct SessionMark {
	int pid;
	TimestampTz at;
};

/* One kind of use (writes or reads) of one version. */
struct UseMarks {
	TimestampTz last;			/* 0: none recorded */
	SessionMark sessions[kSessionsPerSlot];
};

struct ActivitySlot {
	Oid database;				/* InvalidOid: free */
	NameData version_schema;	/* the migration's new version schema */
	bool is_new;
	UseMarks uses[2];			/* by Use */
};

struct ActivityShared {
	slock_t mutex;
	TimestampTz watching_since;	/* when this server began to note uses */
	pg_atomic_uint64 phases_committed;	/* tells backends to reload their watch list */
	ActivitySlot slots[kSlots];
};

ActivityShared *shared = NULL;
shmem_request_hook_type previous_request = NULL;
shmem_startup_hook_type previous_startup = NULL;
int old_version_grace_ms = 60000;

/* This backend's last notes, so a busy session takes the spinlock rarely. */
struct LocalNote {
	NameData version_schema;
	bool is_new;
	Use use;
	TimestampTz at;
};
LocalNote local_notes[8];

/* The relations whose reads this backend notes: the tables of open
 * migrations and the views of their version schemas, as of the last phase
 * any backend committed. */
struct WatchedRelation {
	Oid relid;
	bool is_new;
	NameData version_schema;
};
WatchedRelation watched[kWatchedRelations];
int watched_count = 0;
uint64 watched_as_of = PG_UINT64_MAX;	/* phases_committed when loaded */
bool loading_watch_list = false;
bool phase_commit_callback_registered = false;
bool phase_ran = false;

bool
noted_recently(const char *version_schema, bool is_new, Use use, TimestampTz now)
{
	LocalNote *oldest = &local_notes[0];

	for (LocalNote &note : local_notes)
	{
		if (note.is_new == is_new && note.use == use &&
			strcmp(NameStr(note.version_schema), version_schema) == 0)
		{
			if (now - note.at < kNoteEveryUs)
				return true;
			note.at = now;
			return false;
		}
		if (note.at < oldest->at)
			oldest = &note;
	}
	namestrcpy(&oldest->version_schema, version_schema);
	oldest->is_new = is_new;
	oldest->use = use;
	oldest->at = now;
	return false;
}

TimestampTz
slot_last_use(const ActivitySlot &slot)
{
	return Max(slot.uses[kWrite].last, slot.uses[kRead].last);
}

/* The slot of a version, taking a free or the stalest one when `create`.
 * Call with the mutex held. */
ActivitySlot *
find_slot(const char *version_schema, bool is_new, bool create)
{
	ActivitySlot *stalest = &shared->slots[0];

	for (ActivitySlot &slot : shared->slots)
	{
		if (slot.database == MyDatabaseId && slot.is_new == is_new &&
			strcmp(NameStr(slot.version_schema), version_schema) == 0)
			return &slot;
		if (slot.database == InvalidOid || slot_last_use(slot) < slot_last_use(*stalest))
			stalest = &slot;
	}
	if (!create)
		return NULL;
	memset(stalest, 0, sizeof(ActivitySlot));
	stalest->database = MyDatabaseId;
	namestrcpy(&stalest->version_schema, version_schema);
	stalest->is_new = is_new;
	return stalest;
}

void
mark_session(UseMarks *marks, TimestampTz now)
{
	SessionMark *oldest = &marks->sessions[0];

	marks->last = Max(marks->last, now);
	for (SessionMark &mark : marks->sessions)
	{
		if (mark.pid == MyProcPid)
		{
			mark.at = now;
			return;
		}
		if (mark.at < oldest->at)
			oldest = &mark;
	}
	oldest->pid = MyProcPid;
	oldest->at = now;
}

void
note_use(const char *version_schema, bool is_new, Use use)
{
	TimestampTz now = GetCurrentTimestamp();

	if (noted_recently(version_schema, is_new, use, now))
		return;
	SpinLockAcquire(&shared->mutex);
	mark_session(&find_slot(version_schema, is_new, true)->uses[use], now);
	SpinLockRelease(&shared->mutex);
}

int
recent_sessions(const UseMarks &marks, TimestampTz since)
{
	int			n = 0;

	for (const SessionMark &mark : marks.sessions)
		n += mark.pid != 0 && mark.at >= since ? 1 : 0;
	return n;
}

void
load_watch_list_rows(void *)
{
	/* Every relation of a version schema of an open migration (its own
	 * version: new; the previous one: old) and its tables (old). */
	List	   *rows = catalog_rows(
		"SELECT c.oid, m.version_schema, c.relnamespace OPERATOR(pg_catalog.=) v.oid "
		"FROM expand_contract.migrations m "
		"JOIN pg_catalog.pg_namespace v ON v.nspname OPERATOR(pg_catalog.=) m.version_schema "
		"JOIN pg_catalog.pg_namespace b ON b.nspname OPERATOR(pg_catalog.=) m.schema_name "
		"LEFT JOIN pg_catalog.pg_namespace p ON p.nspname OPERATOR(pg_catalog.=) m.previous_version_schema "
		"JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) v.oid "
		"  OR c.relnamespace OPERATOR(pg_catalog.=) p.oid "
		"  OR (c.relnamespace OPERATOR(pg_catalog.=) b.oid "
		"      AND c.relname OPERATOR(pg_catalog.=) ANY (m.touched_tables)) "
		"WHERE m.phase OPERATOR(pg_catalog.=) 'active' AND c.relkind IN ('r', 'v', 'p') "
		"ORDER BY 3 DESC LIMIT 256");
	ListCell   *lc;

	foreach(lc, rows)
	{
		char	  **row = (char **) lfirst(lc);
		WatchedRelation &w = watched[watched_count++];

		w.relid = (Oid) strtoul(row[0], NULL, 10);
		namestrcpy(&w.version_schema, row[1]);
		w.is_new = row[2][0] == 't';
	}
}

/* Reloads the watch list; a failure leaves it empty until the next phase
 * rather than failing the user's statement. */
void
load_watch_list(uint64 as_of)
{
	static const int any_error[] = {0};

	watched_count = 0;
	watched_as_of = as_of;
	if (!OidIsValid(get_extension_oid("expand_contract", true)))
		return;
	loading_watch_list = true;
	PG_TRY();
	{
		SPI_connect();
		if (!run_in_subtransaction(load_watch_list_rows, NULL, any_error))
			watched_count = 0;
		SPI_finish();
	}
	PG_FINALLY();
	{
		loading_watch_list = false;
	}
	PG_END_TRY();
}

const WatchedRelation *
watched_relation(Oid relid)
{
	for (int i = 0; i < watched_count; i++)
		if (watched[i].relid == relid)
			return &watched[i];
	return NULL;
}

} // namespace

void
request_version_activity_memory()
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	previous_request = shmem_request_hook;
	shmem_request_hook = ec_version_activity_shmem_request;
	previous_startup = shmem_startup_hook;
	shmem_startup_hook = ec_version_activity_shmem_startup;
}

void
define_version_activity_settings()
{
	DefineCustomIntVariable("expand_contract.old_version_grace",
							"complete() refuses while the version it retires was used within this time.",
							"Needs expand_contract in shared_preload_libraries; 0 turns the check off.",
							&old_version_grace_ms, 60000, 0, INT_MAX, PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

void
note_version_write(const VersionIdentity &identity, bool is_new)
{
	/* Our own batches run as a security-restricted operation. */
	if (shared == NULL || InSecurityRestrictedOperation())
		return;
	note_use(identity.new_schema, is_new, kWrite);
}

void
note_version_reads(PlannedStmt *stmt)
{
	if (shared == NULL || loading_watch_list || InSecurityRestrictedOperation() ||
		IsParallelWorker() || !IsTransactionState())
		return;

	uint64		as_of = pg_atomic_read_u64(&shared->phases_committed);

	if (as_of != watched_as_of && !IsInParallelMode())
		load_watch_list(as_of);
	if (watched_count == 0)
		return;

	/* A statement through a new version's view names the table under it
	 * too: the new version wins. */
	const WatchedRelation *use = NULL;
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind != RTE_RELATION)
			continue;

		const WatchedRelation *w = watched_relation(rte->relid);

		if (w != NULL && (use == NULL || (w->is_new && !use->is_new)))
			use = w;
	}
	if (use != NULL)
		note_use(NameStr(use->version_schema), use->is_new, kRead);
}

bool
phase_in_this_transaction()
{
	return phase_ran;
}

void
note_phase_changes_watch_list()
{
	if (!phase_commit_callback_registered)
	{
		RegisterXactCallback(ec_phase_committed, NULL);
		phase_commit_callback_registered = true;
	}
	phase_ran = true;
}

bool
version_activity(const char *version_schema, bool is_new, VersionActivity *out)
{
	*out = VersionActivity{0, 0, 0, 0};
	if (shared == NULL)
		return false;

	TimestampTz since = GetCurrentTimestamp() - (int64) old_version_grace_ms * 1000;

	SpinLockAcquire(&shared->mutex);
	ActivitySlot *slot = find_slot(version_schema, is_new, false);

	if (slot != NULL)
	{
		out->last_write = slot->uses[kWrite].last;
		out->writers = recent_sessions(slot->uses[kWrite], since);
		out->last_read = slot->uses[kRead].last;
		out->readers = recent_sessions(slot->uses[kRead], since);
	}
	SpinLockRelease(&shared->mutex);
	return true;
}

void
refuse_complete_under_old_writers(const MigrationRecord &record, bool force)
{
	VersionActivity activity;

	if (force || old_version_grace_ms == 0 ||
		!version_activity(record.version_schema, false, &activity))
		return;

	TimestampTz now = GetCurrentTimestamp();
	long		wrote_ms = activity.last_write == 0 ? LONG_MAX
		: TimestampDifferenceMilliseconds(activity.last_write, now);
	long		read_ms = activity.last_read == 0 ? LONG_MAX
		: TimestampDifferenceMilliseconds(activity.last_read, now);

	if (wrote_ms < old_version_grace_ms)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot complete: the old version of schema \"%s\" wrote %ld ms ago",
						record.schema, wrote_ms),
				 errdetail("%d session(s) wrote through it within expand_contract.old_version_grace (%d ms); "
						   "completing would take its columns away from them.",
						   activity.writers, old_version_grace_ms),
				 errhint("Retire the old application first, or call complete(..., force => true).")));
	if (read_ms < old_version_grace_ms)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot complete: the old version of schema \"%s\" was read %ld ms ago",
						record.schema, read_ms),
				 errdetail("%d session(s) read through it within expand_contract.old_version_grace (%d ms); "
						   "completing would take its columns away from them.",
						   activity.readers, old_version_grace_ms),
				 errhint("Retire the old application first, or call complete(..., force => true).")));

	/* Nothing recent seen: that means something only once a whole grace
	 * period was watched, since start and since this server began to note. */
	TimestampTz watched_from = Max(record.started_at, shared->watching_since);
	long		watched_ms = TimestampDifferenceMilliseconds(watched_from, now);

	if (watched_ms < old_version_grace_ms)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot complete yet: the old version of schema \"%s\" has been watched for %ld ms only",
						record.schema, watched_ms),
				 errdetail("It was not used since %s, but uses before that were not seen; "
						   "complete waits for expand_contract.old_version_grace (%d ms) without any.",
						   watched_from == record.started_at ? "start()" : "the server started",
						   old_version_grace_ms),
				 errhint("Try again in %ld ms, or call complete(..., force => true).",
						 old_version_grace_ms - watched_ms)));
}

} // namespace ec

/* A committed phase changes what is watched: every backend reloads. (Not
 * before the commit, or a backend could load the old state for good.) */
extern "C" void
ec_phase_committed(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && ec::phase_ran && ec::shared != NULL)
		pg_atomic_fetch_add_u64(&ec::shared->phases_committed, 1);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		ec::phase_ran = false;
}

extern "C" void
ec_version_activity_shmem_request(void)
{
	ec::pg_entry([] {
		if (ec::previous_request)
			ec::previous_request();
		RequestAddinShmemSpace(sizeof(ec::ActivityShared));
	});
}

extern "C" void
ec_version_activity_shmem_startup(void)
{
	ec::pg_entry([] {
		bool		found;

		if (ec::previous_startup)
			ec::previous_startup();
		LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
		ec::shared = (ec::ActivityShared *) ShmemInitStruct("expand_contract version activity",
															  sizeof(ec::ActivityShared), &found);
		if (!found)
		{
			memset(ec::shared, 0, sizeof(ec::ActivityShared));
			SpinLockInit(&ec::shared->mutex);
			pg_atomic_init_u64(&ec::shared->phases_committed, 0);
			ec::shared->watching_since = GetCurrentTimestamp();
		}
		LWLockRelease(AddinShmemInitLock);
	});
}

EC_FUNCTION(ec_version_use)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("version_schema must not be NULL")));

	const char *version_schema = NameStr(*PG_GETARG_NAME(0));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int version = 0; version < 2; version++)
	{
		bool		is_new = version == 1;
		ec::VersionActivity activity;

		if (!ec::version_activity(version_schema, is_new, &activity))
			continue;

		Datum		values[5] = {CStringGetTextDatum(is_new ? "new" : "old"),
								 TimestampTzGetDatum(activity.last_write),
								 Int32GetDatum(activity.writers),
								 TimestampTzGetDatum(activity.last_read),
								 Int32GetDatum(activity.readers)};
		bool		nulls[5] = {false, activity.last_write == 0, false, activity.last_read == 0, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
