/*
 * sql.hpp — running the DDL and catalog statements of start/complete/rollback.
 *
 * Only the phase functions use SPI; the per-row write path never does. Every
 * identifier is quoted (qi/qname), every value is passed as a parameter or
 * quoted as a literal (ql).
 */
#pragma once

#include "pg.hpp"

namespace ec {

const char *qi(const char *identifier);                      /* quote_identifier */
const char *qname(const char *schema, const char *name);     /* "schema"."name" */
const char *ql(const char *literal);                         /* quote_literal */

/* Runs one statement the extension built, that returns nothing of interest;
 * ERROR if the text holds more than one. */
void sql_exec(const char *statement);
void sql_execf(const char *format, ...) pg_attribute_printf(1, 2);
/* Runs SQL a migration's author wrote (an sql operation), as written. */
void sql_exec_as_written(const char *sql);

/*
 * Runs a query with text parameters ($1..$n; NULL entries are SQL NULL) and
 * returns the first column of the first row as text, or NULL when there is no
 * row or the value is NULL. Queries read with a fresh snapshot (see sql.cpp).
 */
const char *sql_value(const char *query, int nargs = 0, const char *const *args = NULL);

/* Runs a query with text parameters and returns every row as a char ** of
 * column texts (entries NULL for SQL NULL), in a List. */
List *sql_rows(const char *query, int nargs = 0, const char *const *args = NULL);
/* Runs a write statement with text parameters; returns the rows it wrote. */
uint64 sql_rows_changed(const char *statement, int nargs, const char *const *args);

/* Same as sql_exec/sql_value, but as the owner of the extension's catalog:
 * callers of the phase functions need no rights on the catalog tables. */
void catalog_exec(const char *query, int nargs = 0, const char *const *args = NULL);
List *catalog_rows(const char *query, int nargs = 0, const char *const *args = NULL);
/* catalog_rows with the running statement's snapshot, for what must agree
 * with the rows that statement sees (read only). */
List *catalog_rows_as_seen(const char *query, int nargs = 0, const char *const *args = NULL);

/*
 * Makes `search_path` (a list as SET takes it) the search_path until the
 * returned nest level is popped with restore_search_path(). An ERROR pops it
 * too.
 */
int use_search_path(const char *search_path);
void restore_search_path(int nest_level);

/* Text array literal helpers for catalog columns. */
const char *text_array_literal(List *strings);
List *text_array_elements(const char *array_literal);

} // namespace ec
