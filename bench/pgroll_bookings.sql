-- bench/pgroll_bookings.sql — pgroll's shape on a copy of the bookings
-- table (pgroll.bookings, which the caller created with id, status and
-- studio): the new column, a _pgroll_needs_backfill flag, and its PL/pgSQL
-- trigger reading search_path to tell the old version's writes. Used by
-- writers_during_backfill.sh and writers_alternating.sh.
ALTER TABLE pgroll.bookings ADD COLUMN registered boolean,
                            ADD COLUMN _pgroll_needs_backfill boolean DEFAULT true;
CREATE FUNCTION pgroll.sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    status pgroll.bookings.status%TYPE := NEW.status;
    search_path text;
BEGIN
    SELECT current_setting INTO search_path FROM current_setting('search_path');
    IF search_path != 'pgroll_02' THEN
        NEW.registered = (status = 'attended_registered');
        NEW._pgroll_needs_backfill = false;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER sync BEFORE INSERT OR UPDATE ON pgroll.bookings FOR EACH ROW EXECUTE FUNCTION pgroll.sync();
