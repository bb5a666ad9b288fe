/*
 * background_worker.cpp — see background_worker.hpp.
 */
#include "pg/background_worker.hpp"

namespace ec {

BackgroundWorkerHandle *
start_background_worker(const char *function, const char *name, const char *type, const void *extra,
						size_t extra_size, pid_t *pid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	Assert(extra_size <= BGW_EXTRALEN);
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "expand_contract", sizeof(worker.bgw_library_name));
	strlcpy(worker.bgw_function_name, function, sizeof(worker.bgw_function_name));
	strlcpy(worker.bgw_name, name, sizeof(worker.bgw_name));
	strlcpy(worker.bgw_type, type, sizeof(worker.bgw_type));
	worker.bgw_notify_pid = MyProcPid;
	memcpy(worker.bgw_extra, extra, extra_size);

	*pid = 0;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return NULL;
	if (WaitForBackgroundWorkerStartup(handle, pid) != BGWH_STARTED)
		return NULL;
	return handle;
}

void
absorb_worker_error(MemoryContext context, char *message, size_t size, bool with_detail)
{
	MemoryContextSwitchTo(context);

	ErrorData  *error = CopyErrorData();
	bool		detail = with_detail && error->detail != NULL;

	snprintf(message, size, "%s%s%s", error->message ? error->message : "unknown error",
			 detail ? ": " : "", detail ? error->detail : "");
	HOLD_INTERRUPTS();
	EmitErrorReport();
	FlushErrorState();
	AbortOutOfAnyTransaction();
	RESUME_INTERRUPTS();
}

} // namespace ec
