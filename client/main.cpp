/*
 * expand-contract — the command-line client of the expand_contract
 * extension. Each command is a call of the extension's SQL API; the client
 * reads migration files (JSON or YAML), shows the backfill's progress and
 * reports errors with the server's SQLSTATE. See --help and the README.
 */
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "backfill_progress.hpp"
#include "connection.hpp"
#include "migration_file.hpp"

namespace ec_client {

namespace {

const char *const kUsage = R"(expand-contract: zero-downtime schema migrations with the expand_contract extension

Usage: expand-contract [OPTIONS] COMMAND [ARGS]

Commands:
  start FILE [--complete] [--no-backfill]
                     start the migration in FILE (JSON or YAML; its name is the
                     document's "name" or the file name without extension), then
                     backfill with a progress bar; --complete completes it at once
  complete [--force] finish the open migration (drop the old shape)
  rollback           undo the open migration
  status [--json]    the open (or last) migration and its backfill, by table
  validate FILE      dry run: plan FILE and print its steps; changes nothing
  migrate DIR [--complete]
                     apply, in file name order, every migration file of DIR not
                     yet in the history; all but the last are completed
  pull DIR           write the schema's migration history as DIR/<name>.json
  baseline NAME      record the schema as it is as migration NAME
  latest             print the version schema an app should put in its search_path
  convert FILE.sql [--yaml]
                     the DDL in FILE.sql as a migration (the server's convert():
                     up/down left as TODO where pgroll leaves them), on stdout

Options:
  -d, --dbname=DB    database name, conninfo string or URI (else PG* variables
                     and ~/.pgpass, as for psql)
  -s, --schema=NAME  the schema to migrate (default public)
      --json         machine-readable output on stdout (errors included)
  -q, --quiet        no progress output
  -h, --help         this text

Exit status: 0 on success, 1 when the server refused (SQLSTATE on stderr),
2 on a usage error, 3 when a file cannot be read.
)";

struct Options {
	std::string dbname;
	std::string schema = "public";
	bool json = false;
	bool quiet = false;
	bool complete = false;
	bool force = false;
	bool no_backfill = false;
	bool yaml = false;
	bool help = false;
	std::vector<std::string> args;	/* command and its arguments */
};

struct UsageError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

struct FileError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

Options
parse_options(int argc, char **argv)
{
	Options		o;

	for (int i = 1; i < argc; i++)
	{
		std::string a = argv[i];
		auto		value = [&](const std::string &longname, const char *shortname) -> std::string {
			if (a == shortname || a == "--" + longname)
			{
				if (i + 1 >= argc)
					throw UsageError("option " + a + " needs a value");
				return argv[++i];
			}
			return a.substr(longname.size() + 3);
		};

		if (a == "-h" || a == "--help")
			o.help = true;
		else if (a == "-d" || a == "--dbname" || a.rfind("--dbname=", 0) == 0)
			o.dbname = value("dbname", "-d");
		else if (a == "-s" || a == "--schema" || a.rfind("--schema=", 0) == 0)
			o.schema = value("schema", "-s");
		else if (a == "--json")
			o.json = true;
		else if (a == "-q" || a == "--quiet")
			o.quiet = true;
		else if (a == "--complete")
			o.complete = true;
		else if (a == "--force")
			o.force = true;
		else if (a == "--no-backfill")
			o.no_backfill = true;
		else if (a == "--yaml")
			o.yaml = true;
		else if (a.size() > 1 && a[0] == '-')
			throw UsageError("unknown option " + a);
		else
			o.args.push_back(a);
	}
	return o;
}

const std::string &
argument(const Options &o, size_t i, const char *what)
{
	if (o.args.size() <= i)
		throw UsageError(o.args[0] + " needs " + what);
	if (o.args.size() > i + 1)
		throw UsageError("too many arguments for " + o.args[0]);
	return o.args[i];
}

void
no_arguments(const Options &o)
{
	if (o.args.size() > 1)
		throw UsageError(o.args[0] + " takes no arguments");
}

/* Says what happened: a line on stderr, or a JSON object on stdout. */
void
report(const Options &o, const std::string &line, const std::map<std::string, std::string> &fields)
{
	if (o.json)
	{
		std::string out = "{";

		for (const auto &f : fields)
			out += (out.size() > 1 ? ", " : "") + json_string(f.first) + ": " + f.second;
		printf("%s}\n", out.c_str());
	}
	else if (!o.quiet)
		fprintf(stderr, "%s\n", line.c_str());
}

MigrationFile
read_file(const std::string &path)
{
	try
	{
		return read_migration_file(path);
	}
	catch (const std::runtime_error &e)
	{
		throw FileError(e.what());
	}
}

long long
backfill(Connection &conn, const Options &o)
{
	Connection	watcher(o.dbname);

	return run_backfill_with_progress(conn, watcher, o.schema, o.quiet || o.json);
}

void
complete(Connection &conn, const Options &o, bool force)
{
	conn.query("CALL expand_contract.wait_for_index_builds($1)", {o.schema});
	conn.query("SELECT expand_contract.complete($1, force => $2::boolean)",
			   {o.schema, force ? "true" : "false"});
}

/* start FILE: start, backfill, and with --complete, complete (forced: the
 * caller says no old client is left, as pgroll's start --complete). */
void
start_file(Connection &conn, const Options &o, const MigrationFile &file, bool then_complete)
{
	Rows		started = conn.query("SELECT expand_contract.start($1, $2::jsonb, $3)",
									 {file.name, file.json, o.schema});
	std::string version = started.at(0, 0);
	long long	rows = o.no_backfill ? 0 : backfill(conn, o);

	if (then_complete)
		complete(conn, o, true);
	report(o, (then_complete ? "completed " : "started ") + file.name + ": version schema " + version +
		   (o.no_backfill ? "" : ", " + std::to_string(rows) + " rows backfilled"),
		   {{"migration", json_string(file.name)}, {"version_schema", json_string(version)},
			{"phase", json_string(then_complete ? "completed" : "active")},
			{"rows_backfilled", std::to_string(rows)}});
}

void
print_rows(const Rows &rows)
{
	for (int c = 0; c < rows.columns(); c++)
		printf("%s%s", c > 0 ? " | " : "", rows.column_name(c).c_str());
	printf("\n");
	for (int r = 0; r < rows.size(); r++)
	{
		for (int c = 0; c < rows.columns(); c++)
			printf("%s%s", c > 0 ? " | " : "", rows.is_null(r, c) ? "" : rows.at(r, c).c_str());
		printf("\n");
	}
}

void
status(Connection &conn, const Options &o)
{
	if (o.json)
	{
		Rows		rows = conn.query("SELECT COALESCE(pg_catalog.json_agg(s), '[]'::pg_catalog.json) "
									  "FROM expand_contract.status($1) s", {o.schema});

		printf("%s\n", rows.at(0, 0).c_str());
		return;
	}
	print_rows(conn.query("SELECT migration, phase, version_schema, table_name, backfill_state, "
						  "backfill_rows_done, backfill_rows_left, eta, new_version_open, "
						  "index_builds_left FROM expand_contract.status($1)", {o.schema}));
}

void
validate(Connection &conn, const Options &o, const MigrationFile &file)
{
	Rows		steps = conn.query("SELECT phase, statement FROM expand_contract.validate($1, $2::jsonb, $3)",
								   {file.name, file.json, o.schema});

	if (o.json)
	{
		std::string out = "[";

		for (int r = 0; r < steps.size(); r++)
			out += std::string(r > 0 ? ", " : "") + "{\"phase\": " + json_string(steps.at(r, 0)) +
				", \"statement\": " + json_string(steps.at(r, 1)) + "}";
		printf("%s]\n", out.c_str());
		return;
	}
	for (int r = 0; r < steps.size(); r++)
		printf("%s: %s\n", steps.at(r, 0).c_str(), steps.at(r, 1).c_str());
}

std::vector<std::string>
migration_files(const std::string &dir)
{
	DIR		   *d = opendir(dir.c_str());
	std::vector<std::string> files;

	if (d == nullptr)
		throw FileError("could not open directory \"" + dir + "\": " + strerror(errno));
	while (struct dirent *e = readdir(d))
		if (is_migration_file(e->d_name))
			files.push_back(dir + "/" + e->d_name);
	closedir(d);
	std::sort(files.begin(), files.end());
	return files;
}

/* The phase of each migration of the schema's history, by name. */
std::map<std::string, std::string>
history(Connection &conn, const Options &o)
{
	Rows		rows = conn.query("SELECT name, phase FROM expand_contract.migrations "
								  "WHERE schema_name OPERATOR(pg_catalog.=) $1",
								  {o.schema});
	std::map<std::string, std::string> phases;

	for (int r = 0; r < rows.size(); r++)
		phases[rows.at(r, 0)] = rows.at(r, 1);
	return phases;
}

/* migrate DIR: as pgroll's, every file not yet applied in order, all but the
 * last completed (the last too with --complete). */
void
migrate(Connection &conn, const Options &o, const std::string &dir)
{
	std::vector<std::string> files = migration_files(dir);
	std::map<std::string, std::string> done = history(conn, o);
	int			applied = 0;

	for (size_t i = 0; i < files.size(); i++)
	{
		MigrationFile file = read_file(files[i]);
		bool		last = i + 1 == files.size();
		auto		found = done.find(file.name);

		if (found != done.end())
		{
			/* Started by an earlier run and left open: a later file follows it. */
			if (found->second == "active" && (!last || o.complete))
			{
				complete(conn, o, true);
				applied++;
			}
			continue;
		}
		start_file(conn, o, file, !last || o.complete);
		applied++;
	}
	report(o, "migrate: " + std::to_string(applied) + " of " + std::to_string(files.size()) +
		   " migrations applied", {{"applied", std::to_string(applied)},
								   {"files", std::to_string(files.size())}});
}

void
pull(Connection &conn, const Options &o, const std::string &dir)
{
	Rows		rows = conn.query("SELECT name, pg_catalog.jsonb_pretty(document) FROM expand_contract.migrations "
								  "WHERE schema_name OPERATOR(pg_catalog.=) $1 ORDER BY started_at", {o.schema});

	mkdir(dir.c_str(), 0777);
	for (int r = 0; r < rows.size(); r++)
	{
		std::string path = dir + "/" + rows.at(r, 0) + ".json";
		std::ofstream out(path);

		if (!out)
			throw FileError("could not write \"" + path + "\"");
		out << rows.at(r, 1) << "\n";
	}
	report(o, "pull: " + std::to_string(rows.size()) + " migrations written to " + dir,
		   {{"written", std::to_string(rows.size())}, {"directory", json_string(dir)}});
}

void
latest(Connection &conn, const Options &o)
{
	Rows		rows = conn.query("SELECT version_schema FROM expand_contract.status($1) LIMIT 1", {o.schema});

	if (rows.size() == 0)
		throw ServerError("55000", "schema \"" + o.schema + "\" has no migration history", "",
						  "Start one, or record the schema as it is with baseline NAME.");
	if (o.json)
		printf("{\"version_schema\": %s}\n", json_string(rows.at(0, 0)).c_str());
	else
		printf("%s\n", rows.at(0, 0).c_str());
}

std::string
read_text(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);

	if (!in)
		throw FileError("could not read \"" + path + "\"");

	std::ostringstream text;

	text << in.rdbuf();
	return text.str();
}

/* convert FILE.sql: the server converts; the client prints JSON or YAML. */
void
convert(Connection &conn, const Options &o, const std::string &sql)
{
	Rows		rows = conn.query("SELECT pg_catalog.jsonb_pretty(expand_contract.convert($1))", {sql});

	fputs(o.yaml ? json_to_yaml(rows.at(0, 0)).c_str() : (rows.at(0, 0) + "\n").c_str(), stdout);
}

/* COMMAND --help: that command's lines of the usage, and the options. */
void
print_command_help(const std::string &command)
{
	std::istringstream usage(kUsage);
	std::string line;
	bool		in_command = false;
	bool		in_options = false;

	printf("Usage: expand-contract [OPTIONS] %s\n\n", command.c_str());
	while (std::getline(usage, line))
	{
		bool		command_line = line.rfind("  ", 0) == 0 && line.size() > 2 && line[2] != ' ';

		if (command_line && !in_options)
			in_command = line.rfind("  " + command + " ", 0) == 0 || line == "  " + command;
		else if (!command_line && line.rfind("   ", 0) != 0)
			in_command = false;
		if (line == "Options:")
		{
			in_options = true;
			printf("\n");
		}
		if (in_command || in_options)
			printf("%s\n", line.c_str());
	}
}

int
run(const Options &o)
{
	if (o.help && !o.args.empty())
	{
		print_command_help(o.args[0]);
		return 0;
	}
	if (o.help || o.args.empty())
	{
		fputs(kUsage, o.help ? stdout : stderr);
		return o.help ? 0 : 2;
	}

	const std::string &command = o.args[0];
	static const char *const kCommands[] = {"start", "complete", "rollback", "status", "validate",
											"migrate", "pull", "baseline", "latest", "convert"};

	if (std::none_of(std::begin(kCommands), std::end(kCommands),
					 [&](const char *c) { return command == c; }))
		throw UsageError("unknown command \"" + command + "\"");

	/* Files are read before connecting: a bad file changes nothing. */
	MigrationFile file;

	if (command == "start" || command == "validate")
		file = read_file(argument(o, 1, "a migration file"));

	Connection	conn(o.dbname);

	if (command == "start")
		start_file(conn, o, file, o.complete);
	else if (command == "complete")
	{
		no_arguments(o);
		complete(conn, o, o.force);
		report(o, "completed", {{"phase", "\"completed\""}});
	}
	else if (command == "rollback")
	{
		no_arguments(o);
		conn.query("SELECT expand_contract.rollback($1)", {o.schema});
		report(o, "rolled back", {{"phase", "\"rolled back\""}});
	}
	else if (command == "status")
	{
		no_arguments(o);
		status(conn, o);
	}
	else if (command == "validate")
		validate(conn, o, file);
	else if (command == "migrate")
		migrate(conn, o, argument(o, 1, "a directory"));
	else if (command == "pull")
		pull(conn, o, argument(o, 1, "a directory"));
	else if (command == "convert")
		convert(conn, o, read_text(argument(o, 1, "an SQL file")));
	else if (command == "baseline")
	{
		Rows		rows = conn.query("SELECT expand_contract.baseline($1, $2)",
									  {argument(o, 1, "a name"), o.schema});

		report(o, "baseline " + o.args[1] + ": version schema " + rows.at(0, 0),
			   {{"migration", json_string(o.args[1])}, {"version_schema", json_string(rows.at(0, 0))}});
	}
	else
	{
		no_arguments(o);
		latest(conn, o);
	}
	return 0;
}

void
print_error(const Options &o, const std::string &sqlstate, const std::string &message,
			const std::string &detail, const std::string &hint)
{
	fprintf(stderr, "expand-contract: ERROR %s: %s\n", sqlstate.c_str(), message.c_str());
	if (!detail.empty())
		fprintf(stderr, "DETAIL: %s\n", detail.c_str());
	if (!hint.empty())
		fprintf(stderr, "HINT: %s\n", hint.c_str());
	if (o.json)
		printf("{\"error\": {\"sqlstate\": %s, \"message\": %s, \"detail\": %s, \"hint\": %s}}\n",
			   json_string(sqlstate).c_str(), json_string(message).c_str(), json_string(detail).c_str(),
			   json_string(hint).c_str());
}

} // namespace

} // namespace ec_client

int
main(int argc, char **argv)
{
	using namespace ec_client;
	Options		o;

	try
	{
		o = parse_options(argc, argv);
		return run(o);
	}
	catch (const UsageError &e)
	{
		fprintf(stderr, "expand-contract: %s\nTry \"expand-contract --help\".\n", e.what());
		return 2;
	}
	catch (const FileError &e)
	{
		print_error(o, "58030", e.what(), "", "");
		return 3;
	}
	catch (const ServerError &e)
	{
		print_error(o, e.sqlstate, e.what(), e.detail, e.hint);
		return 1;
	}
}
