/*
 * boundary.cpp — the error boundary's out-of-line part; see boundary.hpp.
 */
#include "boundary.hpp"

namespace ec {

void
report_cxx_exception(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("expand_contract: unexpected C++ exception: %s", what)));
	pg_unreachable();
}

bool
run_in_subtransaction(void (*fn)(void *), void *arg, const int *retryable)
{
	MemoryContext caller_context = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;
	ErrorData  *volatile error = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller_context);
	PG_TRY();
	{
		pg_entry([fn, arg] { fn(arg); });
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller_context);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller_context);
	CurrentResourceOwner = caller_owner;

	if (error == NULL)
		return true;
	for (const int *code = retryable; *code != 0; code++)
	{
		if (error->sqlerrcode == *code)
		{
			FreeErrorData(error);
			return false;
		}
	}
	ReThrowError(error);
}

void
sleep_ms(int milliseconds)
{
	if (milliseconds <= 0)
		return;
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, milliseconds,
					 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

} // namespace ec
