/*
 * wal_segments.cpp — WAL segment files made ahead of a backfill's WAL; see
 * wal_segments.hpp.
 */
#include "backfill/wal_segments.hpp"

namespace ec {

namespace {

/* How far ahead, in time of WAL at the recent rate, and in segments. */
constexpr double ahead_seconds = 1.0;
constexpr int min_segments_ahead = 2;

struct WalPace {
	XLogRecPtr	insert;         /* the insert position at `at` */
	TimestampTz at;
	double		bytes_per_second;   /* smoothed */
	XLogSegNo	made_up_to;     /* segments up to this one exist (this timeline) */
	TimeLineID	timeline;
};

WalPace pace = {InvalidXLogRecPtr, 0, 0, 0, 0};

/* The cluster's WAL rate, smoothed over the last few looks. */
void
observe_wal_rate(XLogRecPtr insert, TimestampTz now)
{
	if (pace.at != 0 && now > pace.at && insert >= pace.insert)
	{
		double		seconds = (double) (now - pace.at) / USECS_PER_SEC;
		double		rate = (double) (insert - pace.insert) / seconds;

		pace.bytes_per_second = pace.bytes_per_second == 0 ? rate : 0.7 * pace.bytes_per_second + 0.3 * rate;
	}
	pace.insert = insert;
	pace.at = now;
}

uint64
bytes_ahead()
{
	uint64		wanted = (uint64) (pace.bytes_per_second * ahead_seconds);
	uint64		least = (uint64) min_segments_ahead * wal_segment_size;
	uint64		most = (uint64) max_wal_size_mb * 1024 * 1024 / 4;

	return Min(Max(wanted, least), Max(most, least));
}

} // namespace

void
make_wal_segments_ahead()
{
	if (RecoveryInProgress())
		return;

	XLogRecPtr	insert = GetXLogInsertRecPtr();
	TimeLineID	timeline = GetWALInsertionTimeLine();
	XLogSegNo	current;
	XLogSegNo	last;

	observe_wal_rate(insert, GetCurrentTimestamp());
	if (timeline != pace.timeline)
	{
		pace.timeline = timeline;
		pace.made_up_to = 0;
	}
	XLByteToSeg(insert, current, wal_segment_size);
	XLByteToSeg(insert + bytes_ahead(), last, wal_segment_size);
	/* XLogFileInit opens a segment that exists (a recycled one, or one
	 * another process made) and makes one that does not, in a file of its
	 * own that it renames into place. */
	for (XLogSegNo segno = Max(current + 1, pace.made_up_to + 1); segno <= last; segno++)
	{
		close(XLogFileInit(segno, timeline));
		pace.made_up_to = segno;
	}
}

} // namespace ec
