//! A thread that lives as long as the process, to spawn tied children from.
//!
//! Linux's parent-death signal is tied to the thread that forked the child:
//! a child spawned from a thread that ends (a worker, a blocking-pool thread)
//! gets it then, while the process lives on. This thread never ends, so the
//! signal only comes when the process dies. It is started on first use, and
//! again in a forked child (threads do not survive `fork`).

use std::io;
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

/// The spawner thread's queue, with the pid of the process it runs in.
static SPAWNER: Mutex<Option<(u32, Sender<Job>)>> = Mutex::new(None);

/// Runs `spawn` with `command` on the spawner thread and waits for it;
/// returns the command (moved there and back, so nothing borrowed crosses
/// threads) and what `spawn` returned.
pub(super) fn on_spawner_thread<C, R>(
    command: C,
    spawn: impl FnOnce(&mut C) -> R + Send + 'static,
) -> io::Result<(C, R)>
where
    C: Send + 'static,
    R: Send + 'static,
{
    let (reply, answer) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let mut command = command;
        let result = spawn(&mut command);
        let _ = reply.send((command, result));
    });
    queue()?
        .send(job)
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the spawn panicked on the spawner thread"))
}

fn queue() -> io::Result<Sender<Job>> {
    let mut spawner = SPAWNER.lock().unwrap_or_else(PoisonError::into_inner);
    let me = std::process::id();
    if let Some((pid, sender)) = spawner.as_ref() {
        if *pid == me {
            return Ok(sender.clone());
        }
    }
    let (sender, jobs) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("atexit-spawner".into())
        .spawn(move || {
            for job in jobs {
                // A panicking spawn fails that call only (its reply is
                // dropped); the thread stays for the next ones.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
        })?;
    *spawner = Some((me, sender.clone()));
    Ok(sender)
}
