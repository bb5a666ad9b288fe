--
-- convert: DDL as a migration document, read by the server's own parser.
-- Each statement kind, then a round trip: the DDL run directly and its
-- conversion run through start/complete give the same schema.
--
\set SHOW_CONTEXT never
CREATE SCHEMA convert_direct;
CREATE SCHEMA convert_migrated;

-- Each kind of statement, one operation per line.
CREATE FUNCTION pg_temp.ops(sql text) RETURNS SETOF jsonb LANGUAGE sql AS $$
    SELECT jsonb_array_elements(expand_contract.convert(sql) -> 'operations')
$$;
SELECT * FROM pg_temp.ops($$
CREATE TABLE products (id serial PRIMARY KEY, name varchar(255) NOT NULL UNIQUE,
                       price numeric(10, 2) DEFAULT 0.00 NOT NULL CHECK (price >= 0),
                       category_id int REFERENCES categories (id) ON DELETE CASCADE,
                       code text GENERATED ALWAYS AS (upper(name)) STORED,
                       CONSTRAINT name_len CHECK (length(name) > 1));
ALTER TABLE products ADD COLUMN stock int NOT NULL DEFAULT 100, ADD COLUMN sku text NOT NULL;
ALTER TABLE products ALTER COLUMN price TYPE numeric(12, 2) USING price * 1.0;
ALTER TABLE products ALTER COLUMN name SET NOT NULL, ALTER COLUMN name DROP NOT NULL;
ALTER TABLE products ALTER COLUMN stock SET DEFAULT 10, ALTER COLUMN stock DROP DEFAULT;
ALTER TABLE products DROP COLUMN sku;
ALTER TABLE products RENAME COLUMN name TO title;
ALTER TABLE products RENAME CONSTRAINT name_len TO title_len;
ALTER TABLE products RENAME TO items;
CREATE UNIQUE INDEX items_title_idx ON items USING btree (title DESC NULLS LAST) WHERE stock > 0;
CREATE INDEX items_code_idx ON items USING hash (code);
ALTER TABLE items ADD CONSTRAINT items_stock_key UNIQUE (stock);
ALTER TABLE items ADD CONSTRAINT items_category_fkey FOREIGN KEY (category_id) REFERENCES categories (id);
ALTER TABLE items DROP CONSTRAINT items_stock_key;
COMMENT ON COLUMN items.title IS 'what it is called';
ALTER TABLE items REPLICA IDENTITY USING INDEX items_pkey;
DROP INDEX items_title_idx;
DROP TABLE items;
$$);

-- What has no operation is kept as an sql operation, with a WARNING: a
-- statement, or a statement with one part that has none.
SELECT * FROM pg_temp.ops($$
CREATE VIEW v AS SELECT 1;
ALTER TABLE items ADD COLUMN note text, SET UNLOGGED;
CREATE INDEX ON items (lower(title));
$$);
-- Strings, quoted names and comments do not confuse where a part ends.
SELECT * FROM pg_temp.ops($$
CREATE TABLE "odd, names" ("a,b" text DEFAULT 'x, NOT NULL' /* NOT NULL */ NOT NULL,
                           c int DEFAULT (1 + 2) CHECK (c IN (3, 4)));
$$);
-- Not DDL at all: a syntax error is the parser's.
SELECT expand_contract.convert('ALTER TABLE');

-- The round trip: each statement run directly in one schema, and converted
-- and migrated (start, then complete once its indexes are built) in the
-- other, each at top level.
CREATE TEMP TABLE steps (n serial, statement text);
INSERT INTO steps (statement) VALUES
  ($$CREATE TABLE categories (id int PRIMARY KEY, name text NOT NULL)$$),
  ($$CREATE TABLE products (id int PRIMARY KEY, name varchar(255) NOT NULL UNIQUE,
                            price numeric(10, 2) DEFAULT 0.00 NOT NULL CHECK (price >= 0),
                            category_id int REFERENCES categories (id) ON DELETE CASCADE,
                            CONSTRAINT name_len CHECK (length(name) > 1))$$),
  ($$ALTER TABLE products ADD COLUMN stock int NOT NULL DEFAULT 100$$),
  ($$ALTER TABLE products ADD COLUMN note text$$),
  ($$ALTER TABLE products ALTER COLUMN stock SET DEFAULT 10$$),
  ($$ALTER TABLE products ALTER COLUMN note SET DEFAULT 'none'$$),
  ($$ALTER TABLE products RENAME COLUMN name TO title$$),
  ($$CREATE INDEX products_title_idx ON products (title DESC) WHERE stock > 0$$),
  ($$COMMENT ON COLUMN products.title IS 'what it is called'$$),
  ($$ALTER TABLE products RENAME TO items$$),
  ($$ALTER TABLE items REPLICA IDENTITY FULL$$),
  ($$DROP INDEX products_title_idx$$),
  ($$CREATE TABLE scratch (id int PRIMARY KEY)$$),
  ($$DROP TABLE scratch$$);
SET client_min_messages = warning;
\o /dev/null
SELECT 'SET search_path = convert_direct', statement,
       format('SELECT expand_contract.start(%L, expand_contract.convert(%L), %L)',
              lpad(n::text, 2, '0') || '_step', statement, 'convert_migrated'),
       $$CALL expand_contract.wait_for_index_builds('convert_migrated')$$,
       $$SELECT expand_contract.complete('convert_migrated')$$
  FROM steps ORDER BY n \gexec
\o
RESET client_min_messages;
RESET search_path;
SELECT count(*) AS migrations_completed FROM expand_contract.migrations
 WHERE schema_name = 'convert_migrated' AND phase = 'completed';

-- The two schemas' shapes, each relative to its own schema.
CREATE FUNCTION pg_temp.shape(schema name) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT format('column %s.%s %s %s default %s comment %s', c.relname, a.attname,
                  format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END,
                  pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum))
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
      LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
     WHERE c.relnamespace = schema::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s.%s %s', c.relname, k.conname, replace(pg_get_constraintdef(k.oid), schema || '.', ''))
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = schema::regnamespace
    UNION ALL
    SELECT format('index %s', replace(indexdef, schema || '.', ''))
      FROM pg_indexes WHERE schemaname = schema
    UNION ALL
    SELECT format('table %s replica identity %s', relname, relreplident)
      FROM pg_class WHERE relnamespace = schema::regnamespace AND relkind = 'r'
$$;
SELECT * FROM pg_temp.shape('convert_migrated') ORDER BY 1;
SELECT 'only directly' AS side, * FROM (SELECT * FROM pg_temp.shape('convert_direct')
                                        EXCEPT SELECT * FROM pg_temp.shape('convert_migrated')) d
UNION ALL
SELECT 'only migrated', * FROM (SELECT * FROM pg_temp.shape('convert_migrated')
                                EXCEPT SELECT * FROM pg_temp.shape('convert_direct')) m;

-- Clean up.
SET client_min_messages = warning;
DROP SCHEMA convert_direct, convert_migrated CASCADE;
DELETE FROM expand_contract.migrations WHERE schema_name = 'convert_migrated';
