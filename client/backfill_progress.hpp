/*
 * backfill_progress.hpp — runs a schema's backfill (CALL run_backfill) on
 * one connection while another reads backfill_status, drawing a progress
 * bar on a terminal (rows done of total, rate, ETA) or printing a plain line
 * now and then when the output is not one.
 */
#pragma once

#include "connection.hpp"

namespace ec_client {

/* Returns the rows backfilled. */
long long run_backfill_with_progress(Connection &runner, Connection &watcher, const std::string &schema,
									 bool quiet);

} // namespace ec_client
