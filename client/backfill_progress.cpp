/*
 * backfill_progress.cpp — see backfill_progress.hpp.
 */
#include "backfill_progress.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace ec_client {

namespace {

struct Progress {
	long long done = 0;
	long long total = 0;		/* 0: unknown */
	double rate = 0;
	long long eta_seconds = -1;
};

Progress
read_progress(Connection &watcher, const std::string &schema)
{
	Rows		rows = watcher.query(
		"SELECT pg_catalog.sum(rows_done)::bigint, pg_catalog.sum(rows_total)::bigint, "
		"       pg_catalog.sum(rows_per_second)::float8, "
		"       pg_catalog.max(EXTRACT(epoch FROM eta))::bigint "
		"FROM expand_contract.backfill_status WHERE schema_name OPERATOR(pg_catalog.=) $1",
		{schema});
	Progress	p;

	if (rows.size() == 1)
	{
		p.done = rows.is_null(0, 0) ? 0 : std::stoll(rows.at(0, 0));
		p.total = rows.is_null(0, 1) ? 0 : std::stoll(rows.at(0, 1));
		p.rate = rows.is_null(0, 2) ? 0 : std::stod(rows.at(0, 2));
		p.eta_seconds = rows.is_null(0, 3) ? -1 : std::stoll(rows.at(0, 3));
	}
	return p;
}

std::string
clock_text(long long seconds)
{
	char		buf[32];

	if (seconds < 0)
		return "--:--:--";
	snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld", seconds / 3600, seconds / 60 % 60, seconds % 60);
	return buf;
}

std::string
progress_text(const Progress &p)
{
	char		buf[160];

	snprintf(buf, sizeof(buf), "%lld/%s rows  %.0f rows/s  ETA %s", p.done,
			 p.total > 0 ? std::to_string(p.total).c_str() : "?", p.rate,
			 clock_text(p.eta_seconds).c_str());
	return buf;
}

void
draw_bar(const Progress &p, const std::string &text)
{
	const int	width = 30;
	double		share = p.total > 0 ? std::min(1.0, (double) p.done / (double) p.total) : 0;
	int			filled = (int) (share * width);
	std::string bar(filled, '#');

	bar += std::string(width - filled, '.');
	fprintf(stderr, "\rbackfill [%s] %3d%%  %s\033[K", bar.c_str(), (int) (share * 100), text.c_str());
	fflush(stderr);
}

} // namespace

long long
run_backfill_with_progress(Connection &runner, Connection &watcher, const std::string &schema,
						   bool quiet)
{
	using Clock = std::chrono::steady_clock;
	bool		terminal = !quiet && isatty(STDERR_FILENO);
	auto		started = Clock::now();
	auto		last_line = started;
	Progress	p;

	runner.send("CALL expand_contract.run_backfill($1)", {schema});
	while (!runner.wait(terminal ? 200 : 1000))
	{
		p = read_progress(watcher, schema);
		if (terminal)
			draw_bar(p, progress_text(p));
		else if (!quiet && Clock::now() - last_line >= std::chrono::seconds(5))
		{
			fprintf(stderr, "backfill: %s\n", progress_text(p).c_str());
			last_line = Clock::now();
		}
	}
	runner.finish();
	p = read_progress(watcher, schema);
	if (terminal && p.done > 0)
	{
		char		summary[96];

		snprintf(summary, sizeof(summary), "%lld rows in %.1f s", p.done,
				 std::chrono::duration<double>(Clock::now() - started).count());
		p.total = p.done;
		draw_bar(p, summary);
		fputc('\n', stderr);
	}
	else if (!quiet && p.done > 0)
		fprintf(stderr, "backfill: done, %lld rows\n", p.done);
	return p.done;
}

} // namespace ec_client
