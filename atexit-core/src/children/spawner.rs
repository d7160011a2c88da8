//! A thread that lives as long as the process, to spawn tied children from.
//!
//! Linux's parent-death signal is tied to the thread that forked the child:
//! a child spawned from a thread that ends (a worker, a blocking-pool thread)
//! gets it then, while the process lives on. This thread never ends, so the
//! signal only comes when the process dies. It is started on first use, and
//! again in a forked child (threads do not survive `fork`).

use std::io;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

/// The spawner thread's queue, with the pid of the process it runs in.
static SPAWNER: Mutex<Option<(u32, Sender<Job>)>> = Mutex::new(None);

/// Runs `spawn` with `command` on the spawner thread and waits for it;
/// returns what `spawn` returned. The command is moved there and back (so
/// nothing borrowed crosses threads), `placeholder` standing in for it
/// meanwhile: on every path, errors and a panicking spawn included, the
/// caller's `command` is its own again when this returns.
pub(super) fn on_spawner_thread<C, R>(
    command: &mut C,
    placeholder: C,
    spawn: impl FnOnce(&mut C) -> R + Send + 'static,
) -> io::Result<R>
where
    C: Send + 'static,
    R: Send + 'static,
{
    // Where the command is whenever the job does not hold it: a job that is
    // never run (the thread gone) drops its copy of this, not the command.
    let home = Arc::new(Mutex::new(Some(std::mem::replace(command, placeholder))));
    let job_home = Arc::clone(&home);
    let (reply, answer) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let taken = job_home
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(mut command) = taken else { return };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| spawn(&mut command)));
        *job_home.lock().unwrap_or_else(PoisonError::into_inner) = Some(command);
        let _ = reply.send(result);
    });
    let result = queue().and_then(|queue| {
        queue
            .send(job)
            .map_err(|_| io::Error::other("the spawner thread is gone"))?;
        answer
            .recv()
            .map_err(|_| io::Error::other("the spawner thread is gone"))?
            .map_err(|_| io::Error::other("the spawn panicked on the spawner thread"))
    });
    // The job put it back before it replied, or never took it.
    if let Some(back) = home.lock().unwrap_or_else(PoisonError::into_inner).take() {
        *command = back;
    }
    result
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

#[cfg(test)]
mod tests {
    /// Issue 20: an error on the spawner thread replaced the caller's
    /// command with an empty one.
    #[test]
    fn the_command_comes_back_when_the_spawn_panics() {
        let mut command = std::process::Command::new("sh");
        command.args(["-c", "exit 3"]);
        let result = super::on_spawner_thread(
            &mut command,
            std::process::Command::new(""),
            |_: &mut std::process::Command| -> () { panic!("a spawn that panics") },
        );
        let error = result.unwrap_err();
        assert!(error.to_string().contains("panicked"), "{error}");
        assert_eq!(command.get_program(), "sh");
        // And it still spawns, on the same (still running) thread.
        let status = super::on_spawner_thread(
            &mut command,
            std::process::Command::new(""),
            |command: &mut std::process::Command| command.status(),
        )
        .expect("the spawner thread")
        .expect("sh");
        assert_eq!(status.code(), Some(3));
    }
}
