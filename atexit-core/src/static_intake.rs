//! Taking the `#[atexit::handler]` functions into the registry: their
//! `inventory` items, looked for on every lock of the state (`state::lock`),
//! each put in its place by its registration key.

use crate::callback::Callback;
use crate::registry::Registry;
use crate::static_handler::StaticHandler;

/// The `#[atexit::handler]` functions the registry has taken in.
pub(crate) struct Taken {
    /// Their addresses, sorted.
    addresses: Vec<usize>,
    /// The newest item of `inventory`'s list when last looked at: items are
    /// only ever added at its head, so an unchanged head means nothing new.
    head: usize,
}

fn address(handler: &StaticHandler) -> usize {
    handler as *const StaticHandler as usize
}

impl Taken {
    pub(crate) const fn new() -> Self {
        Taken {
            addresses: Vec::new(),
            head: 0,
        }
    }

    /// Registers the handlers not taken yet, each in its place by
    /// [`StaticHandler::registration_key`]. Normally all of them come on the
    /// first call and none after; later ones are handlers whose constructors
    /// ran after `atexit` was first used (from another constructor), and they
    /// go into the order where their key puts them, not on top. When nothing
    /// is new this costs one load.
    #[inline]
    pub(crate) fn take_new(&mut self, registry: &mut Registry) {
        let head = inventory::iter::<StaticHandler>
            .into_iter()
            .next()
            .map_or(0, address);
        if head != self.head {
            self.take_new_from(head, registry);
        }
    }

    #[cold]
    fn take_new_from(&mut self, head: usize, registry: &mut Registry) {
        let handlers = || inventory::iter::<StaticHandler>.into_iter();
        self.head = head;
        let mut new: Vec<&'static StaticHandler> = handlers()
            .filter(|handler| self.addresses.binary_search(&address(handler)).is_err())
            .collect();
        self.addresses
            .extend(new.iter().map(|handler| address(handler)));
        self.addresses.sort_unstable();
        // Keys computed once each, not once per comparison.
        new.sort_by_cached_key(|handler| handler.registration_key());
        for handler in new {
            let key = handler.registration_key();
            registry.push_static(Callback::from_static(handler), &|other| {
                other
                    .as_static()
                    .is_some_and(|other| other.registration_key() <= key)
            });
        }
    }
}
