/*
 * migration_file.cpp — see migration_file.hpp. YAML is read with yaml-cpp
 * and written out as JSON with YAML 1.2's core schema for plain scalars
 * (null, booleans, numbers); quoted scalars stay strings.
 */
#include "migration_file.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace ec_client {

namespace {

std::string
extension_of(const std::string &path)
{
	size_t		dot = path.find_last_of('.');
	size_t		slash = path.find_last_of('/');

	if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
		return "";
	return path.substr(dot + 1);
}

std::string
stem_of(const std::string &path)
{
	size_t		slash = path.find_last_of('/');
	std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
	size_t		dot = base.find_last_of('.');

	return dot == std::string::npos ? base : base.substr(0, dot);
}

/* A plain scalar as YAML 1.2's core schema types it. */
std::string
plain_scalar_json(const std::string &value)
{
	static const std::regex null_re("^(~|null|Null|NULL|)$");
	static const std::regex bool_re("^(true|True|TRUE|false|False|FALSE)$");
	static const std::regex int_re("^[-+]?[0-9]+$");
	static const std::regex float_re("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$");

	if (std::regex_match(value, null_re))
		return "null";
	if (std::regex_match(value, bool_re))
		return value[0] == 't' || value[0] == 'T' ? "true" : "false";
	if (std::regex_match(value, int_re) || std::regex_match(value, float_re))
		return value[0] == '+' ? value.substr(1) : value;
	return json_string(value);
}

std::string
yaml_to_json(const YAML::Node &node)
{
	switch (node.Type())
	{
		case YAML::NodeType::Null:
		case YAML::NodeType::Undefined:
			return "null";
		case YAML::NodeType::Scalar:
			/* yaml-cpp tags a plain scalar "?", a quoted one "!". */
			return node.Tag() == "?" ? plain_scalar_json(node.Scalar()) : json_string(node.Scalar());
		case YAML::NodeType::Sequence:
		{
			std::string out = "[";

			for (size_t i = 0; i < node.size(); i++)
				out += (i > 0 ? ", " : "") + yaml_to_json(node[i]);
			return out + "]";
		}
		case YAML::NodeType::Map:
		{
			std::string out = "{";
			bool		first = true;

			for (const auto &item : node)
			{
				out += (first ? "" : ", ") + json_string(item.first.as<std::string>()) + ": " +
					yaml_to_json(item.second);
				first = false;
			}
			return out + "}";
		}
	}
	return "null";
}

std::string
read_all(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);

	if (!in)
		throw std::runtime_error("could not read migration file \"" + path + "\"");

	std::ostringstream text;

	text << in.rdbuf();
	return text.str();
}

/* The document's top-level "name", if it has one (the server reads the
 * rest). */
std::string
document_name(const YAML::Node &document)
{
	if (document.IsMap() && document["name"] && document["name"].IsScalar())
		return document["name"].as<std::string>();
	return "";
}

void
emit_yaml(YAML::Emitter &out, const YAML::Node &node)
{
	switch (node.Type())
	{
		case YAML::NodeType::Sequence:
			out << YAML::BeginSeq;
			for (const auto &item : node)
				emit_yaml(out, item);
			out << YAML::EndSeq;
			break;
		case YAML::NodeType::Map:
			out << YAML::BeginMap;
			for (const auto &item : node)
			{
				out << YAML::Key << item.first.as<std::string>() << YAML::Value;
				emit_yaml(out, item.second);
			}
			out << YAML::EndMap;
			break;
		case YAML::NodeType::Scalar:
			if (node.Tag() == "?")	/* a JSON number, boolean or null */
				out << node.Scalar();
			else
				out << YAML::DoubleQuoted << node.Scalar();
			break;
		default:
			out << YAML::Null;
	}
}

} // namespace

std::string
json_to_yaml(const std::string &json)
{
	YAML::Emitter out;

	emit_yaml(out, YAML::Load(json));
	return std::string(out.c_str()) + "\n";
}

std::string
json_string(const std::string &text)
{
	std::string out = "\"";

	for (unsigned char c : text)
	{
		switch (c)
		{
			case '"': out += "\\\""; break;
			case '\\': out += "\\\\"; break;
			case '\n': out += "\\n"; break;
			case '\r': out += "\\r"; break;
			case '\t': out += "\\t"; break;
			default:
				if (c < 0x20)
				{
					char		buf[8];

					snprintf(buf, sizeof(buf), "\\u%04x", c);
					out += buf;
				}
				else
					out += (char) c;
		}
	}
	return out + "\"";
}

bool
is_migration_file(const std::string &path)
{
	std::string ext = extension_of(path);

	return ext == "json" || ext == "yaml" || ext == "yml";
}

MigrationFile
read_migration_file(const std::string &path)
{
	std::string text = read_all(path);
	YAML::Node	document;

	/* JSON is YAML too: one parser reads both; JSON text is passed on as
	 * written, so the server sees exactly the file. */
	try
	{
		document = YAML::Load(text);
	}
	catch (const YAML::Exception &e)
	{
		throw std::runtime_error("could not parse \"" + path + "\": " + e.what());
	}
	if (!document.IsMap())
		throw std::runtime_error("\"" + path + "\" is not a migration document (an object)");

	MigrationFile file;

	file.path = path;
	file.name = document_name(document);
	if (file.name.empty())
		file.name = stem_of(path);
	file.json = extension_of(path) == "json" ? text : yaml_to_json(document);
	return file;
}

} // namespace ec_client
