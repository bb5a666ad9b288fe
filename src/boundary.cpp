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

} // namespace ec
