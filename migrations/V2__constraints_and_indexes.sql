-- What the original schema left to application code, made the database's
-- job: one CONFIRMED booking per seat, time zones, NOT NULLs, lookups.
--
-- An upgraded database may hold rows that break these rules. Rather than
-- alter data behind the operator's back, this migration checks first and
-- refuses with a message saying what to fix. Refinery runs each migration
-- in one transaction, so a refusal changes nothing.

DO $$
DECLARE
    doubled bigint;
    missing bigint;
BEGIN
    SELECT count(*) INTO doubled FROM (
        SELECT 1 FROM bookings
        WHERE status = 'CONFIRMED' AND event_id IS NOT NULL AND seat_id IS NOT NULL
        GROUP BY event_id, seat_id
        HAVING count(*) > 1
    ) AS d;
    IF doubled > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'unique_violation',
            MESSAGE = format(
                'migration V2 refused: %s seat(s) have more than one CONFIRMED booking, '
                'which the one-booking-per-seat unique index forbids; nothing was changed. '
                'List them with: SELECT event_id, seat_id, array_agg(booking_group_id) '
                'FROM bookings WHERE status = ''CONFIRMED'' GROUP BY event_id, seat_id '
                'HAVING count(*) > 1; decide which booking keeps each seat, set the others to '
                'CANCELLED (UPDATE bookings SET status = ''CANCELLED'' WHERE booking_group_id = ...), '
                'then start the service again.',
                doubled);
    END IF;

    -- Columns the service reads as always present. The original API always
    -- filled them, so only hand-written rows can miss them.
    SELECT
        (SELECT count(*) FROM events WHERE created_at IS NULL)
      + (SELECT count(*) FROM seats WHERE event_id IS NULL)
      + (SELECT count(*) FROM bookings
         WHERE event_id IS NULL OR seat_id IS NULL OR status IS NULL OR created_at IS NULL)
    INTO missing;
    IF missing > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'not_null_violation',
            MESSAGE = format(
                'migration V2 refused: %s row(s) have NULL in events.created_at, seats.event_id, '
                'or bookings.event_id/seat_id/status/created_at, which become NOT NULL; nothing '
                'was changed. Fill in or delete those rows, then start the service again.',
                missing);
    END IF;
END
$$;

-- The original stored local times without a zone; they are read as UTC.
ALTER TABLE events
    ALTER COLUMN event_date TYPE timestamptz USING event_date AT TIME ZONE 'UTC',
    ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN created_at SET NOT NULL;

ALTER TABLE bookings
    ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN created_at SET NOT NULL,
    ALTER COLUMN event_id SET NOT NULL,
    ALTER COLUMN seat_id SET NOT NULL,
    ALTER COLUMN status SET NOT NULL;

-- Seat codes are up to 32 characters (SeatCode::MAX_LEN). Widening a
-- varchar rewrites neither the table nor its unique index. seats.status is
-- left as the original API had it: the service does not maintain it (holds
-- live in the hold store, and bookings decide what is booked).
ALTER TABLE seats
    ALTER COLUMN seat_code TYPE varchar(32),
    ALTER COLUMN event_id SET NOT NULL;

-- Rules that old rows might break harmlessly (an unknown status, an empty
-- event) are enforced for every new write, and validated for old rows only
-- when they already comply, so they never block an upgrade.
ALTER TABLE bookings
    ADD CONSTRAINT bookings_status_known CHECK (status IN ('CONFIRMED', 'CANCELLED')) NOT VALID;
ALTER TABLE events
    ADD CONSTRAINT events_total_seats_positive CHECK (total_seats > 0) NOT VALID;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM bookings WHERE status NOT IN ('CONFIRMED', 'CANCELLED')) THEN
        ALTER TABLE bookings VALIDATE CONSTRAINT bookings_status_known;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM events WHERE total_seats <= 0) THEN
        ALTER TABLE events VALIDATE CONSTRAINT events_total_seats_positive;
    END IF;
END
$$;

-- The rule that makes a double booking impossible whatever the code does.
-- event_id comes first so the index stays enforceable when the table is
-- distributed by event.
CREATE UNIQUE INDEX bookings_one_confirmed_per_seat
    ON bookings (event_id, seat_id)
    WHERE status = 'CONFIRMED';

-- A booking is read, retried and cancelled by its group id.
CREATE INDEX bookings_booking_group_id_idx ON bookings (booking_group_id);
-- Every booking of a seat, whatever its status (history, foreign key checks).
CREATE INDEX bookings_seat_id_idx ON bookings (seat_id);
-- A user's bookings, newest first.
CREATE INDEX bookings_user_id_created_at_idx ON bookings (user_id, created_at DESC);
