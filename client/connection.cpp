/*
 * connection.cpp — see connection.hpp.
 */
#include "connection.hpp"

#include <poll.h>

namespace ec_client {

namespace {

std::string
field(const PGresult *result, int code)
{
	const char *value = result ? PQresultErrorField(result, code) : nullptr;

	return value ? value : "";
}

[[noreturn]] void
raise(PGconn *conn, PGresult *result)
{
	std::string message = field(result, PG_DIAG_MESSAGE_PRIMARY);

	if (message.empty())
		message = PQerrorMessage(conn);
	while (!message.empty() && message.back() == '\n')
		message.pop_back();

	ServerError error(result ? field(result, PG_DIAG_SQLSTATE) : "08006", message,
					  field(result, PG_DIAG_MESSAGE_DETAIL), field(result, PG_DIAG_MESSAGE_HINT));

	PQclear(result);
	throw error;
}

/* Checks a result: rows or a command's completion, else the error. */
Rows
checked(PGconn *conn, PGresult *result)
{
	ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;

	if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
		raise(conn, result);
	return Rows(result);
}

struct ParamArrays {
	std::vector<const char *> values;

	explicit ParamArrays(const std::vector<Param> &params)
	{
		for (const Param &p : params)
			values.push_back(p ? p->c_str() : nullptr);
	}
};

} // namespace

Connection::Connection(const std::string &dbname)
{
	const char *keywords[] = {"dbname", "application_name", nullptr};
	const char *values[] = {dbname.empty() ? nullptr : dbname.c_str(), "expand-contract", nullptr};

	conn_ = PQconnectdbParams(keywords, values, 1);
	if (PQstatus(conn_) != CONNECTION_OK)
	{
		std::string message = PQerrorMessage(conn_);

		while (!message.empty() && message.back() == '\n')
			message.pop_back();
		PQfinish(conn_);
		throw ServerError("08001", message, "", "");
	}
	/* WARNINGs (a start naming a table's row triggers, say) reach stderr
	 * through libpq's default notice processor; per-batch NOTICEs do not. */
	PQclear(PQexec(conn_, "SET client_min_messages = warning"));
}

Connection::~Connection()
{
	PQfinish(conn_);
}

Rows
Connection::query(const std::string &sql, const std::vector<Param> &params)
{
	ParamArrays arrays(params);

	return checked(conn_, PQexecParams(conn_, sql.c_str(), (int) params.size(), nullptr,
									   arrays.values.data(), nullptr, nullptr, 0));
}

void
Connection::send(const std::string &sql, const std::vector<Param> &params)
{
	ParamArrays arrays(params);

	if (!PQsendQueryParams(conn_, sql.c_str(), (int) params.size(), nullptr, arrays.values.data(),
						   nullptr, nullptr, 0))
		raise(conn_, nullptr);
}

bool
Connection::wait(int timeout_ms)
{
	if (!PQisBusy(conn_))
		return true;

	struct pollfd fd = {PQsocket(conn_), POLLIN, 0};

	if (poll(&fd, 1, timeout_ms) > 0 && !PQconsumeInput(conn_))
		raise(conn_, nullptr);
	return !PQisBusy(conn_);
}

Rows
Connection::finish()
{
	PGresult   *last = nullptr;
	PGresult   *result;

	/* The last result of the statement, or its first error. */
	while ((result = PQgetResult(conn_)) != nullptr)
	{
		ExecStatusType status = PQresultStatus(result);

		if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
		{
			PQclear(last);
			while (PGresult *rest = PQgetResult(conn_))
				PQclear(rest);
			raise(conn_, result);
		}
		PQclear(last);
		last = result;
	}
	return checked(conn_, last);
}

} // namespace ec_client
