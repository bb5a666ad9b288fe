/*
 * error_context.cpp — see error_context.hpp. Plain PG_TRY: nothing here has a
 * destructor, and the catch block re-raises with ReThrowError.
 */
#include "pg/error_context.hpp"

namespace ec {

void
with_error_prefix_impl(const char *prefix, const char *sql_text,
					   void (*body)(void *), void *arg)
{
	MemoryContext caller_context = CurrentMemoryContext;

	PG_TRY();
	{
		body(arg);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller_context);
		ErrorData  *edata = CopyErrorData();

		/* Only user errors are decorated; cancels and internal errors pass. */
		if (edata->elevel != ERROR || edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			PG_RE_THROW();
		FlushErrorState();
		edata->message = psprintf("%s: %s", prefix, edata->message);
		if (sql_text != NULL && edata->cursorpos > 0 && edata->internalquery == NULL)
		{
			edata->internalpos = edata->cursorpos;
			edata->internalquery = pstrdup(sql_text);
			edata->cursorpos = 0;
		}
		ReThrowError(edata);
	}
	PG_END_TRY();
}

} // namespace ec
