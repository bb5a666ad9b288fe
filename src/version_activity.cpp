/*
 * version_activity.cpp — the writes of each version, in shared memory; see
 * version_activity.hpp.
 */
#include "version_activity.hpp"

#include "boundary.hpp"

extern "C" void ec_version_activity_shmem_request(void);
extern "C" void ec_version_activity_shmem_startup(void);

namespace ec {

namespace {

constexpr int kSlots = 64;
constexpr int kWritersPerSlot = 8;
/* A backend notes the same version at most this often. */
constexpr int64 kNoteEveryUs = 100 * 1000;

struct WriterMark {
	int pid;
	TimestampTz at;
};

struct ActivitySlot {
	Oid database;				/* InvalidOid: free */
	NameData version_schema;	/* the migration's new version schema */
	bool is_new;
	TimestampTz last_write;
	WriterMark writers[kWritersPerSlot];
};

struct ActivityShared {
	slock_t mutex;
	ActivitySlot slots[kSlots];
};

ActivityShared *shared = NULL;
shmem_request_hook_type previous_request = NULL;
shmem_startup_hook_type previous_startup = NULL;
int old_version_grace_ms = 60000;

/* This backend's last notes, so a busy writer takes the spinlock rarely. */
struct LocalNote {
	NameData version_schema;
	bool is_new;
	TimestampTz at;
};
LocalNote local_notes[8];

bool
noted_recently(const char *version_schema, bool is_new, TimestampTz now)
{
	LocalNote *oldest = &local_notes[0];

	for (LocalNote &note : local_notes)
	{
		if (note.is_new == is_new && strcmp(NameStr(note.version_schema), version_schema) == 0)
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
	oldest->at = now;
	return false;
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
		if (slot.database == InvalidOid || slot.last_write < stalest->last_write)
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
mark_writer(ActivitySlot *slot, TimestampTz now)
{
	WriterMark *oldest = &slot->writers[0];

	for (WriterMark &mark : slot->writers)
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
							"complete() refuses while the version it retires wrote within this time.",
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

	TimestampTz now = GetCurrentTimestamp();

	if (noted_recently(identity.new_schema, is_new, now))
		return;
	SpinLockAcquire(&shared->mutex);
	ActivitySlot *slot = find_slot(identity.new_schema, is_new, true);

	slot->last_write = Max(slot->last_write, now);
	mark_writer(slot, now);
	SpinLockRelease(&shared->mutex);
}

bool
version_activity(const char *version_schema, bool is_new, VersionActivity *out)
{
	out->last_write = 0;
	out->writers = 0;
	if (shared == NULL)
		return false;

	TimestampTz since = GetCurrentTimestamp() - (int64) old_version_grace_ms * 1000;

	SpinLockAcquire(&shared->mutex);
	ActivitySlot *slot = find_slot(version_schema, is_new, false);

	if (slot != NULL)
	{
		out->last_write = slot->last_write;
		for (const WriterMark &mark : slot->writers)
			out->writers += mark.pid != 0 && mark.at >= since ? 1 : 0;
	}
	SpinLockRelease(&shared->mutex);
	return true;
}

void
refuse_complete_under_old_writers(const char *schema, const char *version_schema, bool force)
{
	VersionActivity activity;

	if (force || old_version_grace_ms == 0 || !version_activity(version_schema, false, &activity) ||
		activity.last_write == 0)
		return;

	long		ago_ms = TimestampDifferenceMilliseconds(activity.last_write, GetCurrentTimestamp());

	if (ago_ms >= old_version_grace_ms)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot complete: the old version of schema \"%s\" wrote %ld ms ago", schema, ago_ms),
			 errdetail("%d session(s) wrote through it within expand_contract.old_version_grace (%d ms); "
					   "completing would take its columns away from them.",
					   activity.writers, old_version_grace_ms),
			 errhint("Retire the old application first, or call complete(..., force => true).")));
}

} // namespace ec

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
		}
		LWLockRelease(AddinShmemInitLock);
	});
}

EC_FUNCTION(ec_version_writes)
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

		if (!ec::version_activity(version_schema, is_new, &activity) || activity.last_write == 0)
			continue;

		Datum		values[3] = {CStringGetTextDatum(is_new ? "new" : "old"),
								 TimestampTzGetDatum(activity.last_write),
								 Int32GetDatum(activity.writers)};
		bool		nulls[3] = {false, false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
