-- Terrain central service: first schema.
--
-- Identifiers and e-mails use the "C" collation so that ORDER BY follows
-- byte order, the order the Backend interface promises and Go's sort uses,
-- whatever the database's default locale is.
--
-- Record fields are json (not jsonb): json keeps the text exactly as sent,
-- so every field value comes back byte for byte; jsonb would reorder keys,
-- rewrite numbers and escapes, and drop duplicates.

-- The head of the change feed: the last sequence number a committed write
-- handed out. One row, updated by writers that hold the write advisory lock,
-- so numbers become visible in commit order (a SEQUENCE would not give that).
CREATE TABLE feed_head (
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	seq bigint NOT NULL CHECK (seq >= 0)
);
INSERT INTO feed_head (singleton, seq) VALUES (true, 0);

CREATE TABLE meta (
	key text COLLATE "C" PRIMARY KEY,
	value text NOT NULL
);

-- The latest version of every record, tombstones included.
CREATE TABLE records (
	kind text COLLATE "C" NOT NULL,
	id text COLLATE "C" NOT NULL,
	region text COLLATE "C" NOT NULL,
	parent text COLLATE "C" NOT NULL,
	seq bigint NOT NULL,
	deleted boolean NOT NULL,
	fields json,
	versions json,
	PRIMARY KEY (kind, id)
);
-- The change feed: a range of sequence numbers within a set of regions.
CREATE INDEX records_feed ON records (region, seq);
CREATE INDEX records_parent ON records (parent) WHERE parent <> '';

-- Feed entries telling devices that a record left a region.
CREATE TABLE exits (
	seq bigint PRIMARY KEY,
	region text COLLATE "C" NOT NULL,
	kind text COLLATE "C" NOT NULL,
	id text COLLATE "C" NOT NULL
);
CREATE INDEX exits_feed ON exits (region, seq);

-- Times are Unix nanoseconds: timestamptz keeps microseconds only, and a
-- device read back must equal the one written.
CREATE TABLE devices (
	id text COLLATE "C" PRIMARY KEY,
	coordinator_id text COLLATE "C" NOT NULL,
	name text NOT NULL,
	token_hash bytea UNIQUE,
	last_seq bigint NOT NULL,
	delivered text[],
	pending text[],
	pending_through bigint NOT NULL,
	dropped text[],
	dropped_through bigint NOT NULL,
	created_ns bigint,
	signed_in_ns bigint
);

CREATE TABLE rejections (
	device_id text COLLATE "C" NOT NULL,
	seq bigint NOT NULL,
	rejection json NOT NULL,
	PRIMARY KEY (device_id, seq)
);

-- E-mails are stored lower case by the service; the unique index on
-- lower(email) still refuses a second coordinator differing only by case.
CREATE TABLE coordinators (
	id text COLLATE "C" PRIMARY KEY,
	name text NOT NULL,
	email text COLLATE "C" NOT NULL,
	regions text[],
	disabled boolean NOT NULL,
	role text NOT NULL,
	password_hash text NOT NULL
);
CREATE UNIQUE INDEX coordinators_email ON coordinators (lower(email));

CREATE TABLE failures (
	key text COLLATE "C" PRIMARY KEY,
	count integer NOT NULL,
	last_ns bigint
);
