//! A bounded in-process cache of events. Events never change after
//! creation, so a cached one is never stale; only misses go to the repo.
//! Unknown ids are remembered briefly too, so a client walking ids cannot
//! turn every request into a repo query.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::{Event, EventId};

/// How long "no such event" is believed. Short: the event may be created
/// a moment later, through another instance.
const NEGATIVE_TTL: Duration = Duration::from_secs(1);

#[derive(Clone)]
enum Entry {
    Found(Arc<Event>),
    Missing(Instant),
}

pub(super) struct EventCache {
    // S3-FIFO eviction, sharded: reads on the hot path take no global lock.
    events: Cache<EventId, Entry>,
}

/// What the cache knows of an id.
pub(super) enum Cached {
    Found(Arc<Event>),
    Missing,
    Unknown,
}

impl EventCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            events: Cache::new(capacity.max(16)),
        }
    }

    pub(super) fn get(&self, id: EventId) -> Cached {
        match self.events.get(&id) {
            Some(Entry::Found(event)) => Cached::Found(event),
            Some(Entry::Missing(at)) if at.elapsed() < NEGATIVE_TTL => Cached::Missing,
            _ => Cached::Unknown,
        }
    }

    pub(super) fn found(&self, event: Arc<Event>) {
        self.events.insert(event.id, Entry::Found(event));
    }

    pub(super) fn missing(&self, id: EventId) {
        self.events.insert(id, Entry::Missing(Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::Layout;

    fn event(id: i64) -> Arc<Event> {
        Arc::new(Event {
            id: EventId::new(id).unwrap(),
            name: "e".into(),
            date: Utc::now(),
            location: None,
            layout: Arc::new(Layout::single_row(1).unwrap()),
            created_at: Utc::now(),
        })
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = EventCache::new(100);
        for id in 1..=10_000 {
            cache.found(event(id));
        }
        assert!(
            cache.events.len() <= 100 + 100 / 10,
            "{}",
            cache.events.len()
        );
        // The most recent are kept.
        assert!(matches!(
            cache.get(EventId::new(10_000).unwrap()),
            Cached::Found(_)
        ));
    }

    #[test]
    fn unknown_ids_are_remembered_briefly() {
        let cache = EventCache::new(100);
        let id = EventId::new(5).unwrap();
        assert!(matches!(cache.get(id), Cached::Unknown));
        cache.missing(id);
        assert!(matches!(cache.get(id), Cached::Missing));
        cache.found(event(5));
        assert!(matches!(cache.get(id), Cached::Found(_)));
    }
}
