//! End an open SQLite write transaction cleanly however the program ends:
//! commit it (or roll it back) and close the database.
//!
//! Batch importers keep one write transaction open for speed and commit at
//! the end. If the program ends first through `std::process::exit` or a
//! signal, the transaction is neither committed nor rolled back: the rows are
//! lost, and a "hot" `-journal` file is left next to the database for the next
//! program that opens it to roll back. Meanwhile the open transaction held the
//! database's write lock.
//!
//! Here the connection lives in an `Arc<Mutex<Option<Connection>>>` shared
//! with an exit handler, which takes it out, ends the transaction with
//! `COMMIT` or `ROLLBACK`, and closes it. Plain `BEGIN`/`COMMIT` statements
//! are used rather than `rusqlite::Transaction`, which borrows the connection
//! and so cannot be kept in the handler.
//!
//! ```text
//! $ cargo run -p atexit-real-world --example sqlite_commit -- exit /tmp/events.db commit
//! inserted 100 rows, not committed yet
//! committed, database closed
//! $ sqlite3 /tmp/events.db 'select count(*) from events'
//! 100
//! ```
//!
//! The arguments: how the program ends after inserting (`return`, `exit` for
//! `std::process::exit(3)`, `panic`, or `signal`: print `ready`, then wait
//! for SIGTERM or Ctrl+C), the database file, and what the handler does with
//! the open transaction: `commit` (the default) or `rollback`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

type SharedConnection = Arc<Mutex<Option<Connection>>>;

/// A panic while the lock was held leaves the connection usable.
fn lock(db: &SharedConnection) -> MutexGuard<'_, Option<Connection>> {
    db.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn finish(db: &SharedConnection, commit: bool) {
    // Taken out: anything that runs after this handler finds no connection,
    // instead of a closed one.
    let Some(connection) = lock(db).take() else {
        return;
    };
    let (statement, done) = if commit {
        ("COMMIT", "committed")
    } else {
        ("ROLLBACK", "rolled back")
    };
    if let Err(error) = connection.execute_batch(statement) {
        eprintln!("{statement} failed: {error}");
    }
    match connection.close() {
        Ok(()) => println!("{done}, database closed"),
        Err((_, error)) => eprintln!("cannot close the database: {error}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let ending = args.next().unwrap_or_else(|| "return".to_owned());
    if !["return", "exit", "panic", "signal"].contains(&ending.as_str()) {
        eprintln!("unknown ending {ending:?}: return, exit, panic or signal");
        std::process::exit(2);
    }
    let path = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("events.db"));
    let commit = match args.next().as_deref() {
        None | Some("commit") => true,
        Some("rollback") => false,
        Some(other) => {
            eprintln!("unknown action {other:?}: commit or rollback");
            std::process::exit(2);
        }
    };

    atexit::catch_signals().expect("signal handling");

    let connection = Connection::open(&path).expect("open the database");
    connection
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
             BEGIN IMMEDIATE;",
        )
        .expect("start the write transaction");
    let db: SharedConnection = Arc::new(Mutex::new(Some(connection)));
    let for_exit = Arc::clone(&db);
    atexit::register(move || finish(&for_exit, commit));

    {
        let guard = lock(&db);
        let connection = guard.as_ref().expect("the connection is open until exit");
        let mut insert = connection
            .prepare("INSERT INTO events (body) VALUES (?1)")
            .expect("prepare the insert");
        for number in 1..=100 {
            insert
                .execute([format!("event {number}")])
                .expect("insert a row");
        }
    }
    println!("inserted 100 rows, not committed yet");

    match ending.as_str() {
        "exit" => std::process::exit(3),
        "panic" => panic!("the import failed"),
        "signal" => {
            println!("ready");
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        _ => {}
    }
}
