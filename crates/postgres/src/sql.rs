//! The use cases as SQL. Each is one statement, so one round trip and its
//! own transaction: the data-modifying CTEs below check and write in one
//! step, and the statement commits or fails as a whole. All CTEs read one
//! snapshot, taken when the statement starts; what a concurrent writer
//! commits after that shows up as a conflict (a unique index waits for it,
//! then fails or, with ON CONFLICT DO NOTHING, skips), and the statement
//! reports "nothing happened, nothing seen", which the caller answers by
//! running it again (`Step::Rerun`).
//!
//! Seats are spoken of by number (`seats.seat_no`, the domain's `SeatNo`);
//! their codes are written once, when the event is created, as the layout
//! names them.

use crate::repo::Statement;

/// The event's rows and seats, inserted set-based from the CTE `event`:
/// - `$5 text[]`, `$6 int4[]`: the rows' labels and sizes, in venue order;
/// - `$7 bool`: whether to store the rows (an event without rows in
///   `event_rows` is the original single row `S`).
///
/// Seat `n` of row `r` is venue seat `before(r) + n`, coded `label || n`,
/// as `Layout::code` names it; one generate_series per row.
macro_rules! insert_layout {
    () => {
        "
, layout AS (
    SELECT r.position::int4 AS position, r.label, r.seats,
           (sum(r.seats) OVER (ORDER BY r.position) - r.seats)::int4 AS before
    FROM unnest($5::text[], $6::int4[]) WITH ORDINALITY AS r (label, seats, position)
), rows_stored AS (
    INSERT INTO event_rows (event_id, position, label, seats)
    SELECT event.id, layout.position, layout.label, layout.seats
    FROM event, layout
    WHERE $7::bool
), seats_stored AS (
    INSERT INTO seats (event_id, seat_no, seat_code)
    SELECT event.id, layout.before + n, layout.label || n
    FROM event, layout, generate_series(1, layout.seats) AS n
)"
    };
}

/// Creates an event without an idempotency key: `$1` name, `$2` date,
/// `$3` location, `$4 int4` total seats, then the layout's parameters.
pub(crate) const CREATE_EVENT: Statement = Statement::write(concat!(
    "
WITH event AS (
    INSERT INTO events (name, event_date, location, total_seats)
    VALUES ($1, $2, $3, $4::int4)
    RETURNING id, event_date, created_at
)",
    insert_layout!(),
    "
SELECT id, event_date, created_at FROM event"
));

/// Creates an event under an idempotency key: the parameters of
/// `CREATE_EVENT`, then `$8` caller ('' when anonymous), `$9` key, `$10`
/// the request's fingerprint.
///
/// A live key (used in the last 24 hours) is answered from `prior`, and
/// nothing is written. Otherwise the key is claimed, with the next event
/// id, and the event inserted under that id: an expired key is taken over
/// (its row updated), a key claimed by a concurrent create that committed
/// after this statement's snapshot makes the claim skip (it waits for that
/// create first), and then nothing is written and nothing seen, so the
/// caller re-runs and finds the key live. One event per key, always.
pub(crate) const CREATE_EVENT_KEYED: Statement = Statement::write(concat!(
    "
WITH prior AS (
    SELECT fingerprint, event_id FROM event_creation_keys
    WHERE caller = $8 AND key = $9 AND created_at > now() - interval '24 hours'
), claim AS (
    INSERT INTO event_creation_keys AS k (caller, key, fingerprint, event_id)
    SELECT $8, $9, $10, nextval(pg_get_serial_sequence('events', 'id')::regclass)
    WHERE NOT EXISTS (SELECT 1 FROM prior)
    ON CONFLICT (caller, key) DO UPDATE
        SET fingerprint = EXCLUDED.fingerprint, event_id = EXCLUDED.event_id, created_at = now()
        WHERE k.created_at <= now() - interval '24 hours'
    RETURNING event_id
), event AS (
    INSERT INTO events (id, name, event_date, location, total_seats)
    SELECT claim.event_id, $1, $2, $3, $4::int4 FROM claim
    RETURNING id, event_date, created_at
)",
    insert_layout!(),
    "
SELECT event.id, event.event_date, event.created_at, prior.fingerprint, prior.event_id
FROM (SELECT 1) AS one
LEFT JOIN event ON true
LEFT JOIN prior ON true"
));

/// An event with its rows (labels and sizes, in order; empty for the
/// original single row `S`).
pub(crate) const EVENT: Statement = Statement::read(
    "
SELECT e.id, e.name, e.event_date, e.location, e.total_seats, e.created_at,
       ARRAY(SELECT r.label::text FROM event_rows r WHERE r.event_id = e.id ORDER BY r.position),
       ARRAY(SELECT r.seats FROM event_rows r WHERE r.event_id = e.id ORDER BY r.position)
FROM events e
WHERE e.id = $1",
);

/// The seat numbers of booking group `g`, in venue order.
macro_rules! group_seats {
    () => {
        "ARRAY(
           SELECT s.seat_no FROM bookings b
           JOIN seats s ON s.event_id = b.event_id AND s.id = b.seat_id
           WHERE b.event_id = g.event_id AND b.booking_group_id = g.id
           ORDER BY s.seat_no
       )"
    };
}

/// The group `$1` of event `$2` as it stands, in any status, for confirm
/// and settle.
macro_rules! existing_group {
    () => {
        concat!(
            "existing AS (
    SELECT g.status, g.user_id, g.created_at, ",
            group_seats!(),
            " AS seats
    FROM booking_groups g
    WHERE g.event_id = $2 AND g.id = $1
)"
        )
    };
}

/// Books every seat of a hold, or reports why not, in one statement:
/// `$1 uuid` the hold's id, `$2 int8` its event, `$3 int4[]` its seat
/// numbers, `$4 text` its user.
///
/// - a group with this id, in any status: `existing`, nothing written (a
///   retried confirm, or `ABORTED` by settling);
/// - else seats with a CONFIRMED booking: `taken`, nothing written;
/// - else seats the event does not have (`found` short): nothing written;
/// - else the group row, `ON CONFLICT DO NOTHING` on its primary key, and
///   only if that inserted one row per seat (in seat number order, so that
///   confirms of overlapping seats wait on each other instead of
///   deadlocking).
///
/// A concurrent confirm or settle of the same hold that commits after this
/// statement's snapshot makes the group insert skip (after waiting for it):
/// no row, nothing seen, so the caller re-runs and finds its group. A
/// concurrent confirm of the same seats that commits first makes the
/// partial unique index fail this statement as a whole (23505): the caller
/// re-runs it and finds the seats taken.
const CONFIRM_SQL: &str = concat!(
    "
WITH ",
    existing_group!(),
    ", wanted AS (
    SELECT s.id, s.seat_no FROM seats s
    WHERE s.event_id = $2 AND s.seat_no = ANY ($3::int4[])
), taken AS (
    SELECT w.seat_no FROM wanted w
    CROSS JOIN LATERAL (
        SELECT 1 FROM bookings b
        WHERE b.event_id = $2 AND b.seat_id = w.id AND b.status = 'CONFIRMED'
        LIMIT 1
    ) AS confirmed
), grp AS (
    INSERT INTO booking_groups (event_id, id, user_id, status, seat_count)
    SELECT $2, $1, $4, 'CONFIRMED', cardinality($3::int4[])
    WHERE NOT EXISTS (SELECT 1 FROM existing)
      AND NOT EXISTS (SELECT 1 FROM taken)
      AND (SELECT count(*) FROM wanted) = cardinality($3::int4[])
    ON CONFLICT (event_id, id) DO NOTHING
    RETURNING created_at
), inserted AS (
    INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status, created_at)
    SELECT $1, $2, w.id, $4, 'CONFIRMED', grp.created_at
    FROM grp, wanted w
    ORDER BY w.seat_no
    RETURNING seat_id
)
SELECT existing.status, existing.user_id, existing.created_at, existing.seats,
       ARRAY(SELECT seat_no FROM taken ORDER BY seat_no) AS taken,
       (SELECT count(*) FROM wanted) AS found,
       (SELECT created_at FROM grp) AS created_at,
       (SELECT count(*) FROM inserted) AS inserted
FROM (SELECT 1) AS one
LEFT JOIN existing ON true"
);

pub(crate) const CONFIRM: Statement = Statement {
    sql: CONFIRM_SQL,
    access: crate::errors::Access::Write,
    unique_is_race: true,
};

/// The confirm statement as the repo runs it, for benchmarks that measure
/// its ceiling with pgbench. Parameters:
/// - `$1 uuid`: the booking (hold) id;
/// - `$2 int8`: the event id (it was `int4` before migration V3);
/// - `$3 int4[]`: the seats' numbers in the venue, 1..=total (seat codes
///   as `text[]` before V3);
/// - `$4 text`: the user id.
///
/// It answers one row: `(existing status, user, created_at, seats, taken
/// int4[], found int8, created_at, inserted int8)`. It writes the
/// `booking_groups` row too, so a database for it needs V3's schema, and
/// seats with `seat_no` set.
pub fn confirm_statement() -> &'static str {
    CONFIRM_SQL
}

/// Decides a confirm that never finished: `$1 uuid` the hold's id, `$2
/// int8` its event, `$3 text` its user, `$4 int4` its seat count.
///
/// Answers the group as it stands when there is one; else inserts it as
/// ABORTED, `ON CONFLICT DO NOTHING`, so a confirm of it that comes later
/// (or commits later) finds the key taken and writes nothing. A confirm
/// that commits after this statement's snapshot makes the insert skip, and
/// the caller re-runs to read that booking.
pub(crate) const SETTLE: Statement = Statement::write(concat!(
    "
WITH ",
    existing_group!(),
    ", aborted AS (
    INSERT INTO booking_groups (event_id, id, user_id, status, seat_count)
    SELECT $2, $1, $3, 'ABORTED', $4::int4
    WHERE NOT EXISTS (SELECT 1 FROM existing)
    ON CONFLICT (event_id, id) DO NOTHING
    RETURNING 1
)
SELECT existing.status, existing.user_id, existing.created_at, existing.seats,
       (SELECT count(*) FROM aborted) AS aborted
FROM (SELECT 1) AS one
LEFT JOIN existing ON true"
));

/// The columns of a booking in the statements below: id, event, user,
/// status, created_at, seat numbers.
macro_rules! booking_columns {
    () => {
        concat!(
            "g.id, g.event_id, g.user_id, g.status, g.created_at, ",
            group_seats!()
        )
    };
}

/// A booking by id alone (`$1 uuid`); settled holds (ABORTED) are none.
pub(crate) const BOOKING: Statement = Statement::read(concat!(
    "
SELECT ",
    booking_columns!(),
    "
FROM booking_groups g
WHERE g.id = $1 AND g.status <> 'ABORTED'"
));

/// Cancels booking `$1` if CONFIRMED: the group (CANCELLED, stamped, and
/// queued for the mirror's unbook) and its seat rows, in one statement.
/// Answers the booking as it was, with how many groups this statement
/// cancelled. A concurrent cancel waits on the group's row lock, then
/// finds it no longer CONFIRMED and cancels nothing.
pub(crate) const CANCEL: Statement = Statement::write(concat!(
    "
WITH target AS (
    SELECT ",
    booking_columns!(),
    " AS seats
    FROM booking_groups g
    WHERE g.id = $1 AND g.status <> 'ABORTED'
), cancelled AS (
    UPDATE booking_groups g
    SET status = 'CANCELLED', cancelled_at = now(), unbook_pending = true
    FROM target t
    WHERE g.event_id = t.event_id AND g.id = t.id AND g.status = 'CONFIRMED'
    RETURNING g.event_id, g.id
), freed AS (
    UPDATE bookings b SET status = 'CANCELLED'
    FROM cancelled c
    WHERE b.event_id = c.event_id AND b.booking_group_id = c.id AND b.status = 'CONFIRMED'
    RETURNING 1
)
SELECT t.id, t.event_id, t.user_id, t.status, t.created_at, t.seats,
       (SELECT count(*) FROM cancelled) AS cancelled
FROM target t"
));

/// Cancelled bookings whose unbook is pending, cancelled at least `$1
/// float8` seconds ago, oldest first, at most `$2 int8`.
pub(crate) const UNBOOKS_DUE: Statement = Statement::read(concat!(
    "
SELECT ",
    booking_columns!(),
    "
FROM booking_groups g
WHERE g.unbook_pending AND g.cancelled_at <= now() - make_interval(secs => $1::float8)
ORDER BY g.cancelled_at
LIMIT $2::int8"
));

/// Takes booking `$1` off the unbook queue.
pub(crate) const UNBOOKED: Statement = Statement::write(
    "
UPDATE booking_groups SET unbook_pending = false
WHERE id = $1 AND unbook_pending",
);

/// Every CONFIRMED seat of event `$1` with its booking.
pub(crate) const BOOKED_SEATS: Statement = Statement::read(
    "
SELECT s.seat_no, b.booking_group_id
FROM bookings b
JOIN seats s ON s.event_id = b.event_id AND s.id = b.seat_id
WHERE b.event_id = $1 AND b.status = 'CONFIRMED'",
);

/// The holds of event `$1` that can never be booked again, recorded
/// within the last `$2 float8` seconds: bookings now cancelled (by when
/// they were booked) and holds settled as never booked (ABORTED, by when
/// they were settled). A range of the groups' primary key.
pub(crate) const SPENT_HOLDS: Statement = Statement::read(
    "
SELECT g.id
FROM booking_groups g
WHERE g.event_id = $1 AND g.status IN ('CANCELLED', 'ABORTED')
  AND g.created_at >= now() - make_interval(secs => $2::float8)",
);

/// A page of user `$1`'s bookings, newest first, strictly before the
/// cursor `($2 timestamptz, $3 uuid)` (both NULL for the first page), at
/// most `$4 int8`. A keyset scan of `booking_groups_user_idx`, seats and
/// all in one statement.
pub(crate) const USER_BOOKINGS: Statement = Statement::read(concat!(
    "
SELECT ",
    booking_columns!(),
    "
FROM booking_groups g
WHERE g.user_id = $1 AND g.status <> 'ABORTED'
  AND (g.created_at, g.id) < (COALESCE($2::timestamptz, 'infinity'),
                              COALESCE($3::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY g.created_at DESC, g.id DESC
LIMIT $4::int8"
));

pub(crate) const INFO: Statement = Statement::read("SELECT version(), now()");
