/*
 * connection.hpp — the client's libpq connection: parameters as typed text,
 * server errors as exceptions carrying SQLSTATE, message, detail and hint.
 *
 * The client holds no migration logic: every command is a call of the
 * extension's SQL API (see README, "The command-line client").
 */
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ec_client {

/* An error the server (or libpq) reported. */
struct ServerError : std::runtime_error {
	std::string sqlstate;
	std::string detail;
	std::string hint;

	ServerError(std::string state, const std::string &message, std::string detail_text,
				std::string hint_text)
		: std::runtime_error(message), sqlstate(std::move(state)), detail(std::move(detail_text)),
		  hint(std::move(hint_text)) {}
};

using Param = std::optional<std::string>; /* nullopt: SQL NULL */

/* The rows of one query, as text. */
class Rows {
public:
	explicit Rows(PGresult *result) : result_(result, PQclear) {}
	int size() const { return PQntuples(result_.get()); }
	int columns() const { return PQnfields(result_.get()); }
	std::string column_name(int c) const { return PQfname(result_.get(), c); }
	bool is_null(int r, int c) const { return PQgetisnull(result_.get(), r, c); }
	std::string at(int r, int c) const { return PQgetvalue(result_.get(), r, c); }

private:
	std::shared_ptr<PGresult> result_;
};

class Connection {
public:
	/* dbname: a database name, a conninfo string or a URI (libpq expands it);
	 * the rest comes from PG* variables and ~/.pgpass, as for psql. */
	explicit Connection(const std::string &dbname);
	~Connection();
	Connection(const Connection &) = delete;
	Connection &operator=(const Connection &) = delete;

	Rows query(const std::string &sql, const std::vector<Param> &params = {});
	/* Sends a statement without waiting; finish() waits for its result. */
	void send(const std::string &sql, const std::vector<Param> &params = {});
	/* Whether the sent statement is done, waiting at most timeout_ms. */
	bool wait(int timeout_ms);
	Rows finish();

private:
	PGconn *conn_;
};

} // namespace ec_client
