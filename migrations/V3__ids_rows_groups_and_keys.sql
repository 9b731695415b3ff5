-- What the service's second version stores, for a database of V2 (one the
-- original Node API created included):
-- 1. 64-bit ids: a 32-bit serial runs out after ~21,000 events of 100,000
--    seats.
-- 2. Rows: each seat's number in venue order (`seats.seat_no`) and, for
--    events with named rows, the rows (`event_rows`). An event without rows
--    there is the original single row `S` of `total_seats`, so old events
--    need no rows; their seats' numbers come from their `S<n>` codes.
-- 3. Booking groups: one row per booking (the hold's id), which makes a
--    confirm exactly-once and lets settling a confirm that never finished
--    fence it out (`ABORTED`), and queues a cancel's seats for the mirror.
-- 4. Idempotency keys of event creation.
-- 5. Keys ready for a Postgres distributed by event (Citus): every primary
--    key, unique index and foreign key of seats, bookings, booking_groups
--    and event_rows includes event_id.
--
-- As V2 does, this refuses data it cannot carry over rather than change it
-- behind the operator's back, and says what to fix. Refinery runs it in one
-- transaction, so a refusal changes nothing.

DO $$
DECLARE
    found bigint;
    example text;
BEGIN
    -- Seat numbers come from the codes: S1..S<total_seats>, as the original
    -- API and V2 created them.
    SELECT count(*), min(format('event %s seat %L', s.event_id, s.seat_code))
    INTO found, example
    FROM seats s JOIN events e ON e.id = s.event_id
    WHERE CASE WHEN s.seat_code ~ '^S[1-9][0-9]{0,8}$'
               THEN substr(s.seat_code, 2)::bigint > e.total_seats
               ELSE true END;
    IF found > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format(
                'migration V3 refused: %s seat(s) have a code that is not S<n> with n from 1 to '
                'their event''s total_seats (e.g. %s), so their seat number cannot be derived; '
                'nothing was changed. List them with: SELECT s.* FROM seats s JOIN events e ON '
                'e.id = s.event_id WHERE CASE WHEN s.seat_code ~ ''^S[1-9][0-9]{0,8}$'' THEN '
                'substr(s.seat_code, 2)::bigint > e.total_seats ELSE true END; rename or delete '
                'them (and their bookings), then start the service again.',
                found, example);
    END IF;

    SELECT count(*), min(b.booking_group_id::text) INTO found, example
    FROM bookings b
    WHERE b.status NOT IN ('CONFIRMED', 'CANCELLED');
    IF found > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format(
                'migration V3 refused: %s booking row(s) have a status other than CONFIRMED or '
                'CANCELLED (e.g. in booking group %s); nothing was changed. List them with: '
                'SELECT * FROM bookings WHERE status NOT IN (''CONFIRMED'', ''CANCELLED''); set '
                'each to CONFIRMED or CANCELLED, then start the service again.',
                found, example);
    END IF;

    -- A booking is one hold of one user in one event, all CONFIRMED or all
    -- CANCELLED: the original API wrote and cancelled its rows together.
    SELECT count(*), min(g.booking_group_id::text) INTO found, example
    FROM (
        SELECT booking_group_id FROM bookings
        GROUP BY booking_group_id
        HAVING count(DISTINCT event_id) > 1
            OR count(DISTINCT user_id) > 1
            OR count(DISTINCT status) > 1
    ) AS g;
    IF found > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format(
                'migration V3 refused: %s booking group(s) mix events, users or statuses '
                '(e.g. %s), which a booking cannot; nothing was changed. List them with: '
                'SELECT booking_group_id FROM bookings GROUP BY booking_group_id HAVING '
                'count(DISTINCT event_id) > 1 OR count(DISTINCT user_id) > 1 OR '
                'count(DISTINCT status) > 1; give each part its own booking_group_id (or make '
                'the statuses agree), then start the service again.',
                found, example);
    END IF;

    SELECT count(*), min(b.booking_group_id::text) INTO found, example
    FROM bookings b JOIN seats s ON s.id = b.seat_id
    WHERE s.event_id <> b.event_id;
    IF found > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = format(
                'migration V3 refused: %s booking row(s) name a seat of another event (e.g. in '
                'booking group %s); nothing was changed. List them with: SELECT b.* FROM '
                'bookings b JOIN seats s ON s.id = b.seat_id WHERE s.event_id <> b.event_id; '
                'correct or delete them, then start the service again.',
                found, example);
    END IF;
END
$$;

-- Keys that change shape go first: every foreign key of seats and bookings
-- and their primary keys, whatever the original API named them. V1's
-- UNIQUE (event_id, seat_code) goes too: the seat's number is its key now,
-- unique per event, and its code is the layout's name for that number
-- (names are unique by construction of a layout; old codes are S<n>, as
-- checked above). Keeping it would cost every event creation a quarter of
-- its time, for a rule already kept.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
        WHERE conrelid IN ('seats'::regclass, 'bookings'::regclass)
          AND (contype IN ('f', 'p')
               OR contype = 'u' AND conrelid = 'seats'::regclass
                  AND conkey::int2[] @> ARRAY[(SELECT attnum FROM pg_attribute
                                               WHERE attrelid = 'seats'::regclass
                                                 AND attname = 'seat_code')]
                  AND cardinality(conkey) = 2)
        -- Foreign keys before the keys they may depend on.
        ORDER BY contype = 'f' DESC
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname);
    END LOOP;
END
$$;

-- 64-bit ids. Each ALTER TABLE rewrites its table once.
ALTER TABLE events ALTER COLUMN id TYPE bigint;

-- seat_no is filled by the same rewrite (a USING over the new column).
ALTER TABLE seats ADD COLUMN seat_no integer;
ALTER TABLE seats
    ALTER COLUMN id TYPE bigint,
    ALTER COLUMN event_id TYPE bigint,
    ALTER COLUMN seat_no TYPE integer USING substr(seat_code, 2)::integer,
    ALTER COLUMN seat_no SET NOT NULL;

ALTER TABLE bookings
    ALTER COLUMN id TYPE bigint,
    ALTER COLUMN event_id TYPE bigint,
    ALTER COLUMN seat_id TYPE bigint;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['events', 'seats', 'bookings'] LOOP
        EXECUTE format('ALTER SEQUENCE %s AS bigint', pg_get_serial_sequence(t, 'id'));
    END LOOP;
END
$$;

-- Seats: numbered 1..=total in venue order, once per event. The code stays
-- (row label || number in the row, as the layout names it), for people
-- reading the table.
ALTER TABLE seats
    ADD CONSTRAINT seats_pkey PRIMARY KEY (event_id, id),
    ADD CONSTRAINT seats_event_id_seat_no_key UNIQUE (event_id, seat_no),
    ADD CONSTRAINT seats_seat_no_positive CHECK (seat_no >= 1),
    ADD CONSTRAINT seats_event_id_fkey FOREIGN KEY (event_id) REFERENCES events (id);

-- Rows of events created with them, in venue order. Seat `n` of the venue
-- is seat `n - (seats of the rows before)` of its row.
CREATE TABLE event_rows (
    event_id bigint NOT NULL REFERENCES events (id),
    position integer NOT NULL CHECK (position >= 1),
    label varchar(8) NOT NULL CHECK (label ~ '^[A-Za-z0-9]{1,8}$'),
    seats integer NOT NULL CHECK (seats >= 1),
    PRIMARY KEY (event_id, position),
    UNIQUE (event_id, label)
);

-- One row per booking, and per hold settled as never booked (ABORTED, so a
-- confirm of it arriving later finds the key taken and writes nothing).
-- Cancels set unbook_pending until the mirror has freed the seats.
CREATE TABLE booking_groups (
    event_id bigint NOT NULL REFERENCES events (id),
    id uuid NOT NULL,
    user_id varchar(255) NOT NULL,
    status varchar(10) NOT NULL
        CONSTRAINT booking_groups_status_known CHECK (status IN ('CONFIRMED', 'CANCELLED', 'ABORTED')),
    seat_count integer NOT NULL CHECK (seat_count >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    unbook_pending boolean NOT NULL DEFAULT false,
    PRIMARY KEY (event_id, id),
    CONSTRAINT booking_groups_unbook_only_cancelled CHECK (NOT unbook_pending OR status = 'CANCELLED')
);

-- Existing bookings become groups. When they were cancelled is unknown
-- (the original API did not record it), and nothing needs unbooking: a
-- mirror is loaded from CONFIRMED rows only.
INSERT INTO booking_groups (event_id, id, user_id, status, seat_count, created_at)
SELECT event_id, booking_group_id, min(user_id), min(status), count(*), min(created_at)
FROM bookings
GROUP BY event_id, booking_group_id;

-- A booking is looked up by its id alone (the API's paths carry no event).
CREATE INDEX booking_groups_id_idx ON booking_groups (id);
-- "My bookings", newest first, a page at a time (keyset).
CREATE INDEX booking_groups_user_idx
    ON booking_groups (user_id, created_at DESC, id DESC)
    WHERE status <> 'ABORTED';
-- The queue of cancels whose seats the mirror may still show booked.
CREATE INDEX booking_groups_unbook_idx ON booking_groups (cancelled_at) WHERE unbook_pending;

-- Bookings: each row belongs to its group and names a seat of its own
-- event (which implies the event exists: the seat's key says so).
ALTER TABLE bookings
    ADD CONSTRAINT bookings_pkey PRIMARY KEY (event_id, id),
    ADD CONSTRAINT bookings_seat_fkey
        FOREIGN KEY (event_id, seat_id) REFERENCES seats (event_id, id),
    ADD CONSTRAINT bookings_group_fkey
        FOREIGN KEY (event_id, booking_group_id) REFERENCES booking_groups (event_id, id);
-- V3 refused other statuses above, so V2's check now holds for every row.
ALTER TABLE bookings VALIDATE CONSTRAINT bookings_status_known;

-- The seats of a booking, within its event. Replaces V2's lookup by group
-- id alone; V2's index by seat alone goes too (nothing reads bookings by
-- seat but the partial unique index, and seats are never deleted), as does
-- the user index, now on booking_groups. Each index a confirm need not
-- maintain is one less write per seat.
DROP INDEX bookings_booking_group_id_idx;
DROP INDEX bookings_seat_id_idx;
DROP INDEX bookings_user_id_created_at_idx;
CREATE INDEX bookings_group_idx ON bookings (event_id, booking_group_id);

-- Idempotency keys of event creation, per caller ('' for anonymous
-- callers), with a digest of the request they came with. Not keyed by
-- event: this table is the coordinator's (or distributed by caller).
CREATE TABLE event_creation_keys (
    caller text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    event_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, key)
);
