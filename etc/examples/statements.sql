# One statement per line.
INSERT INTO events (kind, at) VALUES ('signup', now());
