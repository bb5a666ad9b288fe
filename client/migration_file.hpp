/*
 * migration_file.hpp — a migration as a file of a repository: JSON, or YAML
 * (pgroll's two formats), read into the JSON text the server's start()
 * takes. The server checks the document; the client only reads the file.
 */
#pragma once

#include <string>

namespace ec_client {

struct MigrationFile {
	std::string path;
	std::string name;		/* the document's "name", else the file name without extension */
	std::string json;		/* the document as JSON text */
};

/* Reads a .json, .yaml or .yml file; std::runtime_error if it cannot be
 * read or parsed. */
MigrationFile read_migration_file(const std::string &path);

/* `text` as a JSON string literal. */
std::string json_string(const std::string &text);

/* A JSON document as YAML (strings quoted, so they read back as strings). */
std::string json_to_yaml(const std::string &json);

/* Whether `path` names a migration file (by extension). */
bool is_migration_file(const std::string &path);

} // namespace ec_client
