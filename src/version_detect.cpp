/*
 * version_detect.cpp — which schema version is writing; see version_detect.hpp.
 */
#include "version_detect.hpp"

namespace ec {

char *version_setting = NULL;

void
define_version_setting()
{
	DefineCustomStringVariable("expand_contract.version",
							   "Schema version this session writes as (a version schema or migration name).",
							   "Overrides the version found on search_path; empty means use search_path.",
							   &version_setting,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
}

namespace {

enum class Match { None, Old, New };

Match
match_name(const VersionIdentity &identity, const char *name)
{
	if (strcmp(name, identity.new_schema) == 0)
		return Match::New;
	if (strcmp(name, identity.base_schema) == 0 || strcmp(name, identity.previous_schema) == 0)
		return Match::Old;
	return Match::None;
}

} // namespace

bool
writer_is_new_version(const VersionIdentity &identity, VersionCache *cache,
					  MemoryContext cache_context)
{
	if (version_setting != NULL && version_setting[0] != '\0')
	{
		if (strcmp(version_setting, identity.migration) == 0)
			return true;

		Match		setting = match_name(identity, version_setting);

		if (setting != Match::None)
			return setting == Match::New;
	}

	const char *path = namespace_search_path;

	if (cache->search_path != NULL && strcmp(cache->search_path, path) == 0)
		return cache->is_new;

	List	   *names = NIL;
	ListCell   *lc;
	bool		is_new = false;

	if (SplitIdentifierString(pstrdup(path), ',', &names))
	{
		foreach(lc, names)
		{
			Match		m = match_name(identity, (const char *) lfirst(lc));

			if (m != Match::None)
			{
				is_new = m == Match::New;
				break;
			}
		}
	}
	if (cache->search_path != NULL)
		pfree(cache->search_path);
	cache->search_path = MemoryContextStrdup(cache_context, path);
	cache->is_new = is_new;
	return is_new;
}

} // namespace ec
