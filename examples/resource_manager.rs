//! A resource that registers its own cleanup when created, and cancels it
//! when closed early or dropped, through the registration's
//! [`atexit::Guard`]. Either way "Resource closed." is printed exactly once.
//!
//! ```text
//! $ cargo run --example resource_manager            # closed at exit
//! Resource opened.
//! Working...
//! Resource closed.
//! $ cargo run --example resource_manager -- close   # closed early
//! Resource opened.
//! Working...
//! Resource closed.
//! Done.
//! ```

use std::sync::{Arc, Mutex};

struct Resource {
    connection: Arc<Mutex<Option<String>>>,
    /// Cancels the exit handler when the resource is closed or dropped.
    _close_at_exit: atexit::Guard,
}

fn close_connection(connection: &Mutex<Option<String>>) {
    if connection.lock().unwrap().take().is_some() {
        println!("Resource closed.");
    }
}

impl Resource {
    fn open() -> Self {
        let connection = Arc::new(Mutex::new(Some("db://example".to_string())));
        println!("Resource opened.");
        let at_exit = Arc::clone(&connection);
        let handle = atexit::register(move || close_connection(&at_exit));
        Resource {
            connection,
            _close_at_exit: handle.cancel_on_drop(),
        }
    }

    /// Closes the connection now; dropping `self` then cancels the exit
    /// handler (and drops the reference it holds).
    fn close(self) {
        close_connection(&self.connection);
    }
}

/// Alive until the program ends: a `static` is never dropped, so its guard
/// never cancels, and the exit handler closes it.
static RESOURCE: Mutex<Option<Resource>> = Mutex::new(None);

fn main() {
    let resource = Resource::open();
    println!("Working...");
    if std::env::args().nth(1).as_deref() == Some("close") {
        resource.close();
        assert_eq!(atexit::ncallbacks(), 0, "the guard cancelled the handler");
        println!("Done.");
    } else {
        *RESOURCE.lock().unwrap() = Some(resource);
    }
}
