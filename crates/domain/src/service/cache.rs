//! A bounded in-process cache of events. Events never change after
//! creation, so a cached one is never stale; only misses go to the repo.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::{Event, EventId};

pub(super) struct EventCache {
    capacity: usize,
    // Readers vastly outnumber writers (one write per event per process),
    // so an RwLock is uncontended on the hot path.
    events: RwLock<HashMap<EventId, Arc<Event>>>,
}

impl EventCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            events: RwLock::new(HashMap::new()),
        }
    }

    pub(super) fn get(&self, id: EventId) -> Option<Arc<Event>> {
        self.events
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    pub(super) fn insert(&self, event: Arc<Event>) {
        let mut events = self.events.write().unwrap_or_else(|e| e.into_inner());
        if events.len() >= self.capacity {
            // Crude but bounded: the working set refills from the repo.
            events.clear();
        }
        events.insert(event.id, event);
    }
}
