pub mod bookings;
