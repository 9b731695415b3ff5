//! The port contract suite, run against the in-memory adapters.

mod holds {
    use booking_memory::MemoryHoldStore;

    booking_domain::hold_store_contract!(async { Box::new(MemoryHoldStore::new()) });
}

mod repo {
    use booking_memory::MemoryBookingRepo;

    booking_domain::booking_repo_contract!(async { Box::new(MemoryBookingRepo::new()) });
}
