//! A resource that registers its own cleanup when created and cancels it when
//! closed early, through the `Handle` the registration returned. Either way
//! "Resource closed." is printed exactly once.
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
    exit_handler: atexit::Handle,
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
        let exit_handler = atexit::register(move || close_connection(&at_exit));
        Resource {
            connection,
            exit_handler,
        }
    }

    fn close(self) {
        // Closed now: the exit handler would have nothing to do, so cancel it
        // (and drop the reference it holds).
        self.exit_handler.unregister();
        close_connection(&self.connection);
    }
}

fn main() {
    let resource = Resource::open();
    println!("Working...");
    if std::env::args().nth(1).as_deref() == Some("close") {
        resource.close();
        println!("Done.");
    } else {
        // Leaked on purpose: the exit handler closes it.
        std::mem::forget(resource);
    }
}
