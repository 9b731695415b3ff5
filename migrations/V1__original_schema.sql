-- The original Node API's schema, unchanged. IF NOT EXISTS lets a database
-- that the original API created adopt these migrations in place: there V1
-- changes nothing and only V2 onwards do work.

CREATE TABLE IF NOT EXISTS events (
    id SERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    event_date TIMESTAMP NOT NULL,
    location VARCHAR(255),
    total_seats INTEGER NOT NULL,
    created_at TIMESTAMP DEFAULT NOW()
);

CREATE TABLE IF NOT EXISTS seats (
    id SERIAL PRIMARY KEY,
    event_id INTEGER REFERENCES events(id),
    seat_code VARCHAR(10) NOT NULL,
    status VARCHAR(20) DEFAULT 'AVAILABLE',
    UNIQUE(event_id, seat_code)
);

CREATE TABLE IF NOT EXISTS bookings (
    id SERIAL PRIMARY KEY,
    booking_group_id UUID NOT NULL,
    event_id INTEGER REFERENCES events(id),
    seat_id INTEGER REFERENCES seats(id),
    user_id VARCHAR(255) NOT NULL,
    status VARCHAR(20) DEFAULT 'CONFIRMED',
    created_at TIMESTAMP DEFAULT NOW()
);
