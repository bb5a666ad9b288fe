/*
 * version_detect.hpp — which schema version is writing a row.
 *
 * In order: the session setting expand_contract.version (a version schema or
 * migration name), then the first version schema found on search_path. The
 * base schema and the previous version schema count as the old version; a
 * search_path naming neither version also means the old version.
 */
#pragma once

#include "pg.hpp"

namespace ec {

/* The versions one migration connects. */
struct VersionIdentity {
	const char *migration;
	const char *new_schema;
	const char *base_schema;
	const char *previous_schema; /* "" when there is none */
};

/* The last search_path seen and what it meant, so the write path compares a
 * string instead of re-splitting search_path for every row. */
struct VersionCache {
	char *search_path;
	bool is_new;
};

extern char *version_setting;

void define_version_setting();

bool writer_is_new_version(const VersionIdentity &identity, VersionCache *cache,
						   MemoryContext cache_context);

} // namespace ec
