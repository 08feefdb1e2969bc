-- The table the export examples read: 10,000 items.
--   sqlite3 export.db < export-setup.sql
--   psql -d app -f export-setup.sql
CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, qty integer NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO items SELECT i, 'item ' || i, i % 97 FROM n;
