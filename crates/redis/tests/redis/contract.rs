//! The `HoldStore` contract suite, every case on a fresh key prefix.

booking_domain::hold_store_contract!(booking_redis::testing::test_store());
