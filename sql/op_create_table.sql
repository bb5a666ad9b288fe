--
-- create_table: a bookshop that so far only tracked authors starts selling
-- books. The new app gets a "books" table with keys, checks, a generated
-- column and references; the old app never used it and runs on unchanged.
--
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE SCHEMA op_create_table;
SET search_path = op_create_table;

SET ec_test.schema = 'op_create_table';
\i sql/include/op_helpers.psql

-- Version 1 of the app.
CREATE TABLE authors (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO authors VALUES (1, 'Ursula K. Le Guin'), (2, 'Stanisław Lem');

--------------------------------------------------------------------------
-- Documents that start() must refuse. Each leaves nothing behind.
--------------------------------------------------------------------------
-- the name is taken
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "authors",
    "columns": [{"name": "id", "type": "integer", "pk": true}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [
    {"create_table": {"name": "books", "columns": [{"name": "id", "type": "integer", "pk": true}]}},
    {"create_table": {"name": "books", "columns": [{"name": "id", "type": "integer", "pk": true}]}}]}$$);
-- bad columns
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": {"name": "id", "type": "integer"}}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}, {"name": "id", "type": "text"}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "serial4ever"}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer", "pk": "yes"}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer", "primary_key": true}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}, {"name": "_ec_flag", "type": "boolean"}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer", "check": {"name": "id_positive"}}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer", "check": {"name": "id_positive", "constraint": "id >"}}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer", "default": "1",
                 "generated": {"identity": {}}}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer",
                 "generated": {"expression": "1", "identity": {}}}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer",
                 "generated": {"identity": {"user_specified_values": "SOMETIMES"}}}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"},
                {"name": "author_id", "type": "integer",
                 "references": {"table": "authors", "column": "id"}}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"},
                {"name": "author_id", "type": "integer",
                 "references": {"name": "books_author_fk", "table": "writers", "column": "id"}}]}}]}$$);
-- bad table-level constraints
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}],
    "constraints": [{"name": "no_overlap", "type": "exclude", "columns": ["id"]}]}}]}$$);
-- exclusion elements are elements, nothing more; their operators must exist
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}],
    "constraints": [{"name": "no_overlap", "type": "exclude",
                     "exclude": {"elements": "id WITH =), CHECK (false"}}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}],
    "constraints": [{"name": "no_overlap", "type": "exclude",
                     "exclude": {"elements": "id WITH ~~~"}}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}],
    "constraints": [{"name": "no_overlap", "type": "exclude",
                     "exclude": {"elements": "idx WITH ="}}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}],
    "constraints": [{"name": "no_overlap", "type": "overlap", "columns": ["id"]}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}],
    "constraints": [{"name": "id_unique", "type": "unique"}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}],
    "constraints": [{"name": "isbn_unique", "type": "unique", "columns": ["isbn"]}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}],
    "constraints": [{"name": "id_unique", "type": "unique", "columns": [1]}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}],
    "constraints": [{"name": "id_unique", "type": "unique", "columns": ["id"], "deferrable": "yes"}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer", "pk": true}],
    "constraints": [{"name": "books_pk", "type": "primary_key", "columns": ["id"]}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}],
    "constraints": [{"name": "books_author_fk", "type": "foreign_key", "columns": ["id"],
                     "references": {"table": "authors", "columns": ["id"], "on_delete": "VANISH"}}]}}]}$$);
-- unknown fields and wrong field types
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}], "owner": "shop"}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": ["books"],
    "columns": [{"name": "id", "type": "integer"}]}}]}$$);
SELECT * FROM pg_temp.start_fails($${"operations": [{"create_table": {"name": "books",
    "columns": [{"name": "id", "type": "integer"}], "comment": 5}}]}$$);

SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();

--------------------------------------------------------------------------
-- Scenario 1: expand, write through both versions, backfill, complete.
--------------------------------------------------------------------------
SELECT expand_contract.start('01_books', $${"operations": [
    {"create_table": {"name": "books", "comment": "books we sell",
     "columns": [
        {"name": "id", "type": "integer", "pk": true,
         "generated": {"identity": {"user_specified_values": "BY DEFAULT",
                                    "sequence_options": "START WITH 100"}}},
        {"name": "title", "type": "text", "comment": "full title",
         "check": {"name": "title_not_blank", "constraint": "title <> ''"}},
        {"name": "isbn", "type": "text", "nullable": true, "unique": true},
        {"name": "author_id", "type": "integer",
         "references": {"name": "books_author_fk", "table": "authors", "column": "id",
                        "on_delete": "CASCADE"}},
        {"name": "pages", "type": "integer", "nullable": true, "default": "100"},
        {"name": "shout", "type": "text", "nullable": true,
         "generated": {"expression": "upper(title)"}}],
     "constraints": [
        {"name": "pages_positive", "type": "check", "check": "pages > 0"},
        {"name": "title_per_author", "type": "unique", "columns": ["title", "author_id"],
         "nulls_not_distinct": true},
        {"name": "books_author_fk2", "type": "foreign_key", "columns": ["author_id"],
         "references": {"table": "authors", "columns": ["id"]},
         "deferrable": true, "initially_deferred": true}]}}]}$$,
    'op_create_table');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.schemas();
-- The table is created under its final name at once; the new version sees
-- it through a view.
SELECT * FROM pg_temp.columns('op_create_table.books');
SELECT * FROM pg_temp.constraints('op_create_table.books');
SELECT obj_description('op_create_table.books'::regclass, 'pg_class') AS table_comment;
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.columns('op_create_table_01_books.books');

-- The new app sells books.
SET search_path = op_create_table_01_books;
INSERT INTO books (title, author_id) VALUES ('The Dispossessed', 1);
INSERT INTO books (title, isbn, author_id, pages) VALUES ('Solaris', '978-0156027601', 2, 204);
SELECT pg_temp.error_of($$INSERT INTO books (title, author_id) VALUES ('', 1)$$);
SELECT pg_temp.error_of($$INSERT INTO books (title, author_id) VALUES ('Lost', 3)$$);
SELECT pg_temp.error_of($$INSERT INTO books (title, author_id, pages) VALUES ('Thin', 1, 0)$$);
SELECT pg_temp.error_of($$INSERT INTO books (title, author_id) VALUES ('Solaris', 2)$$);
SELECT pg_temp.error_of($$INSERT INTO books (title, isbn, author_id) VALUES ('Fiasco', '978-0156027601', 2)$$);
UPDATE books SET pages = 387 WHERE title = 'The Dispossessed';
SELECT * FROM books ORDER BY id;
SELECT * FROM authors ORDER BY id;

-- The old app keeps working with authors; the table is there for it too.
SET search_path = op_create_table;
INSERT INTO authors VALUES (3, 'Octavia E. Butler');
INSERT INTO books (id, title, author_id) VALUES (7, 'Kindred', 3);
SELECT * FROM books ORDER BY id;

SELECT table_name, batch, rows, rows_done, rows_left
  FROM expand_contract.backfill('op_create_table');

-- Contract: the table stays as it is.
SELECT expand_contract.complete('op_create_table');
SELECT * FROM pg_temp.status();
SELECT * FROM pg_temp.columns('op_create_table.books');
SELECT * FROM pg_temp.leftovers();
DELETE FROM authors WHERE id = 2;    -- ON DELETE CASCADE takes Solaris along
SELECT * FROM books ORDER BY id;
SET search_path = op_create_table_01_books;
INSERT INTO books (title, author_id) VALUES ('The Lathe of Heaven', 1);
SELECT * FROM books ORDER BY id;

--------------------------------------------------------------------------
-- Scenario 2: expand, write through both versions, roll back. The tables
-- the migration created go away with their rows; everything else stays.
--------------------------------------------------------------------------
SET search_path = op_create_table;
SELECT expand_contract.start('02_reviews', $${"operations": [
    {"create_table": {"name": "reviews",
     "columns": [
        {"name": "id", "type": "integer", "pk": true},
        {"name": "book_id", "type": "integer",
         "references": {"name": "reviews_book_fk", "table": "books", "column": "id"}},
        {"name": "stars", "type": "integer",
         "check": {"name": "stars_range", "constraint": "stars BETWEEN 1 AND 5"}}]}},
    {"create_table": {"name": "review_votes",
     "columns": [
        {"name": "review_id", "type": "integer",
         "references": {"name": "votes_review_fk", "table": "reviews", "column": "id"}},
        {"name": "voter", "type": "text"}],
     "constraints": [{"name": "votes_pk", "type": "primary_key", "columns": ["review_id", "voter"]}]}}]}$$,
    'op_create_table');
SELECT * FROM pg_temp.status();
SELECT c.relname, c.relkind FROM pg_class c
 WHERE c.relnamespace = 'op_create_table_02_reviews'::regnamespace ORDER BY c.relname;

SET search_path = op_create_table_02_reviews;
INSERT INTO reviews VALUES (1, 100, 5), (2, 7, 4);
INSERT INTO review_votes VALUES (1, 'ann'), (1, 'bob');
SELECT pg_temp.error_of($$INSERT INTO reviews VALUES (3, 100, 6)$$);
INSERT INTO books (title, author_id) VALUES ('The Word for World Is Forest', 1);
SET search_path = op_create_table;
INSERT INTO books (id, title, author_id) VALUES (8, 'Dawn', 3);
SELECT * FROM reviews ORDER BY id;

SELECT expand_contract.rollback('op_create_table');
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'op_create_table'::regnamespace AND c.relkind = 'r' ORDER BY c.relname;
SELECT * FROM books ORDER BY id;
SELECT * FROM pg_temp.leftovers();
SELECT * FROM pg_temp.schemas();
SELECT * FROM pg_temp.status();

--------------------------------------------------------------------------
-- Scenario 3: a table-level foreign key to a table the same migration
-- renames names it the way the new version does, as a column-level
-- reference would.
--------------------------------------------------------------------------
SELECT expand_contract.start('03_writers', $${"operations": [
    {"rename_table": {"from": "authors", "to": "writers"}},
    {"create_table": {"name": "essays",
     "columns": [
        {"name": "id", "type": "integer", "pk": true},
        {"name": "writer_id", "type": "integer"},
        {"name": "title", "type": "text"}],
     "constraints": [{"name": "essays_writer_fk", "type": "foreign_key", "columns": ["writer_id"],
                      "references": {"table": "writers", "columns": ["id"]}}]}}]}$$,
    'op_create_table');
SET search_path = op_create_table_03_writers;
INSERT INTO essays VALUES (1, 1, 'Dreams Must Explain Themselves');
SELECT pg_temp.error_of($$INSERT INTO essays VALUES (2, 42, 'Nobody')$$);
SET search_path = op_create_table;
SELECT expand_contract.complete('op_create_table');
SELECT * FROM pg_temp.constraints('op_create_table.essays');
SELECT * FROM essays ORDER BY id;

--------------------------------------------------------------------------
-- Exclusion constraints (pgroll's example 52): elements and predicate are
-- analysed on the new table and rebuilt with qualified operators.
--------------------------------------------------------------------------
SELECT expand_contract.start('05_library', $${"operations": [{"create_table": {"name": "library",
    "columns": [{"name": "id", "type": "serial"}, {"name": "title", "type": "text", "nullable": true},
                {"name": "shelf", "type": "integer"}],
    "constraints": [{"name": "library_pk", "type": "primary_key", "columns": ["id"]},
                    {"name": "forbid_duplicated_titles", "type": "exclude",
                     "exclude": {"index_method": "btree", "elements": "lower(title) WITH =, shelf WITH =",
                                 "predicate": "title IS NOT NULL"}}]}}]}$$, 'op_create_table') AS version_schema;
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 'op_create_table.library'::regclass ORDER BY 1;
INSERT INTO op_create_table_05_library.library (title, shelf) VALUES ('Dune', 1), (NULL, 1), (NULL, 1);
INSERT INTO op_create_table_05_library.library (title, shelf) VALUES ('DUNE', 1);
SELECT expand_contract.rollback('op_create_table');
SELECT to_regclass('op_create_table.library') AS after_rollback;
SELECT expand_contract.start('05_library', $${"operations": [{"create_table": {"name": "library",
    "columns": [{"name": "id", "type": "serial"}, {"name": "title", "type": "text", "nullable": true},
                {"name": "shelf", "type": "integer"}],
    "constraints": [{"name": "forbid_duplicated_titles", "type": "exclude",
                     "exclude": {"elements": "title WITH =", "predicate": "title IS NOT NULL"}}]}}]}$$,
    'op_create_table') AS version_schema;
SELECT expand_contract.complete('op_create_table');
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'forbid_duplicated_titles';

-- A table with no columns yet (pgroll allows it); columns come later.
SELECT expand_contract.start('06_placeholder', '{"operations": [{"create_table": {"name": "placeholder",
    "columns": []}}]}', 'op_create_table') AS version_schema;
SELECT expand_contract.complete('op_create_table');
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'op_create_table.placeholder'::regclass AND attnum > 0;

-- Clean up.
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS op_create_table, op_create_table_01_books,
    op_create_table_03_writers, op_create_table_05_library,
    op_create_table_06_placeholder CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'op_create_table';
RESET client_min_messages;
