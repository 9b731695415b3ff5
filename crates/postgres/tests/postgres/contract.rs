//! The `BookingRepo` port contract, as every adapter runs it.

use booking_postgres::testing::TestDatabase;

booking_domain::booking_repo_contract!(TestDatabase::create());
