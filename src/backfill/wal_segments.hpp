/*
 * wal_segments.hpp — WAL segment files made ahead of a backfill's WAL.
 *
 * The process that first writes WAL into a segment file that does not exist
 * yet creates it there and then: it fills 16 MB with zeros and syncs them
 * while it holds WALWriteLock, so every commit in the cluster waits (stalls
 * of about 50 ms, twice a second at the default 32MB/s, on the 2-core VM of
 * bench/writers_alternating.sh). PostgreSQL makes segments ahead of time only
 * at checkpoints (it recycles the old ones and adds one), sized to the WAL
 * written between two checkpoints; a backfill writes far more than that. So
 * the runner makes the files its next second of WAL will need itself,
 * between batches and holding no lock, and writers' commits only open them.
 */
#pragma once

#include "pg.hpp"

namespace ec {

/*
 * Makes sure the WAL segment files from the current insert position up to
 * about one second of the cluster's recent WAL rate ahead exist (at least two
 * segments ahead, at most a quarter of max_wal_size). Nothing on a standby.
 * Each backend remembers how far it got, so a segment is looked at once.
 */
void make_wal_segments_ahead();

} // namespace ec
