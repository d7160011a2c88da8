//! Systems that are neither Unix nor Windows: no signals, no groups, no
//! parent-death mechanism. The stop kills the child at once.

use std::io;

pub(super) fn die_with_parent(_: &mut std::process::Command) {}

pub(super) fn after_spawn<C>(child: C) -> io::Result<C> {
    Ok(child)
}

/// Nothing is held besides the child itself.
pub(super) type Hold = ();

pub(super) fn hold(_: Option<u32>) -> Hold {}

/// A child here is only reaped through its `ExitChild`.
pub(super) fn reaped_elsewhere(_: u32, _: &Hold) -> bool {
    false
}

pub(super) fn leads_group(_: u32) -> bool {
    false
}

pub(super) fn ask_to_stop(_: u32, _: bool, _: &Hold) -> bool {
    false
}

pub(super) fn kill_group(_: u32) {}

/// Runs `look`: nothing to share between the looks at several children.
pub(super) fn look_round<R>(look: impl FnOnce() -> R) -> R {
    look()
}

pub(super) fn has_ended(_: u32) -> io::Result<bool> {
    Ok(true)
}

pub(super) fn wait_until_ended(_: u32) -> io::Result<()> {
    std::thread::sleep(std::time::Duration::from_millis(10));
    Ok(())
}
