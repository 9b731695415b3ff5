//! Values kept per thread, found by a few static strings: the metrics'
//! label values, a fixed error's code and message. A string is named by
//! its address and length, so none is hashed or compared as text (two
//! copies of one string only make the value twice), and the key is hashed
//! with foldhash: std's SipHash of it was most of a lookup's cost.
//!
//! Per thread, so a lookup takes no lock and the value, once made, is
//! only ever touched by the thread that made it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::thread::LocalKey;

/// A thread's values by `N` static strings.
pub(crate) type Kept<H, const N: usize> =
    RefCell<HashMap<[(usize, usize); N], H, foldhash::fast::FixedState>>;

/// `with` run on this thread's value for `keys`, made by `make` on the
/// thread's first use of them. The value is lent, not cloned.
pub(crate) fn kept<H, R, const N: usize>(
    cache: &'static LocalKey<Kept<H, N>>,
    keys: [&'static str; N],
    make: impl FnOnce() -> H,
    with: impl FnOnce(&H) -> R,
) -> R {
    let keys = keys.map(|key| (key.as_ptr() as usize, key.len()));
    cache.with_borrow_mut(|cache| with(cache.entry(keys).or_insert_with(make)))
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::{kept, Kept};

    thread_local! {
        static HANDLES: Kept<u32, 2> = RefCell::default();
        static REGISTERED: Cell<u32> = const { Cell::new(0) };
    }

    /// The handle for `labels`, counting how often one was registered.
    fn handle(labels: [&'static str; 2]) -> u32 {
        kept(
            &HANDLES,
            labels,
            || {
                REGISTERED.set(REGISTERED.get() + 1);
                REGISTERED.get()
            },
            |handle| *handle,
        )
    }

    #[test]
    fn a_series_is_registered_once_per_thread_and_labels() {
        let first = handle(["GET", "2xx"]);
        assert_eq!(handle(["GET", "2xx"]), first);
        assert_eq!(REGISTERED.get(), 1);
        let other = handle(["GET", "4xx"]);
        assert_ne!(other, first);
        // A label that is a prefix of another at the same address is
        // another value: the length is part of the key.
        let both: &'static str = "2xx";
        assert_ne!(handle(["GET", &both[..1]]), first);
        assert_eq!(REGISTERED.get(), 3);
    }
}
