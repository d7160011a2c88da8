//! The messages the program sends its watchdog, over the socket whose end of
//! file is the program's death notice.
//!
//! Both ends are the same executable (the watchdog is `/proc/self/exe`, the
//! very file the program runs from, even if a new version was installed at
//! that path since), so the two always speak the same version; the version is
//! still carried (in the environment variable and in every header) so that a
//! mismatch is refused, never misread.
//!
//! Every message is a header of 8 bytes, then its payload:
//!
//! | bytes | field |
//! |---|---|
//! | 0 | version ([`VERSION`]) |
//! | 1 | kind ([`Kind`]) |
//! | 2 | how many descriptors travel with it (`SCM_RIGHTS`) |
//! | 3 | 0 (reserved) |
//! | 4..8 | payload length, little-endian `u32` |
//!
//! Descriptors ride on the `sendmsg` that carries the message's first byte,
//! so they reach the watchdog no later than the message: it keeps them in
//! arrival order and each message takes its own count from the front. A kind
//! the watchdog does not know is skipped by its length, its descriptors
//! closed: new kinds are added without touching the existing ones.
//!
//! Kinds now:
//! - `Tie` (1): payload `pgid: u32, leader: u32, leader_start: u64` (the
//!   leader's start time, field 22 of `/proc/<pid>/stat`), with 0 or 1
//!   descriptor: a pidfd of the leader, opened while it was unreaped. A
//!   `pgid` of 0 ties the process `leader` alone (with its descendants): a
//!   tied child that leads no group of its own, whose group is the
//!   program's.
//! - `Untie` (2): payload `pid: u32`: the program reaped that tied child
//!   itself (its stop, `wait`); forget it.
//! - `Bye` (3): no payload: the program's exit has done all it will do;
//!   the watchdog exits without acting.
//! - `Declare` (4): a declared cleanup (issue 24): `id: u64`, then one byte
//!   saying what it is, then its data:
//!   - 1, a terminal: `termios length: u32`, the program's `termios` as its
//!     bytes (both ends are the same executable, so the same layout), then
//!     the escape bytes; 1 descriptor, the tty.
//!   - 2, a path: `recursive: u8, dev: u64, ino: u64`, then the absolute
//!     path's bytes; 0 or 1 descriptor, the one that pins the inode.
//!   - 3, a process group: `pgid: u32, leader_start: u64` (0: no leader
//!     with that pid); 0 or 1 descriptor, a pidfd of the leader.
//! - `Cancel` (5): `id: u64`: the program cancelled it: never run it.
//! - `Ran` (6): `id: u64`: the program carried it out (a normal ending,
//!   `run_now`, or its crash handler): never run it again.
//! - `Look` (7): no payload: look at the declared ttys' modes now (the
//!   program has just set the mode it wants); the watchdog answers with one
//!   byte, [`LOOKED`], on the socket once it has looked.

// Windows's watchdog takes removals and consoles (a `Terminal` whose
// payload is `windows::console_payload`, not a termios): the kinds for
// process groups are Linux's.
#![cfg_attr(windows, allow(dead_code))]

/// The protocol's version.
pub(super) const VERSION: u8 = 1;
/// Header length.
pub(super) const HEADER: usize = 8;
/// The longest payload accepted: anything longer is a broken stream.
pub(super) const MAX_PAYLOAD: usize = 1 << 20;

/// What a message is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(super) enum Kind {
    Tie = 1,
    Untie = 2,
    Bye = 3,
    Declare = 4,
    Cancel = 5,
    Ran = 6,
    Look = 7,
}

/// The watchdog's answer to `Look`: the only byte it ever sends.
pub(super) const LOOKED: u8 = 0x4c;

/// A declared cleanup as `Declare` carries it (its descriptor travels
/// alongside).
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) enum Declared {
    /// Restore the tty (the descriptor) to `termios` (a `libc::termios`'s
    /// bytes), after writing `escape`.
    Terminal { termios: Vec<u8>, escape: Vec<u8> },
    /// Remove `path` if it still is `(dev, ino)`.
    Remove {
        recursive: bool,
        dev: u64,
        ino: u64,
        path: Vec<u8>,
    },
    /// Kill the group `pgid`, only while it is still the one declared.
    KillGroup { pgid: u32, leader_start: u64 },
}

/// A registered tied child, as `Tie` carries it: the group it leads
/// (`pgid == leader`), or the process alone (`pgid == 0`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Tie {
    pub(super) pgid: u32,
    pub(super) leader: u32,
    pub(super) leader_start: u64,
}

/// A message as the watchdog reads it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) enum Message {
    Tie(Tie),
    Untie {
        pid: u32,
    },
    Bye,
    Declare {
        id: u64,
        what: Declared,
    },
    Cancel {
        id: u64,
    },
    Ran {
        id: u64,
    },
    Look,
    /// A kind this build does not know (or a malformed known one): skipped.
    Unknown,
}

/// Encodes one message with `fds` descriptors announced.
pub(super) fn encode(kind: Kind, fds: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER + payload.len());
    bytes.extend_from_slice(&[VERSION, kind as u8, fds, 0]);
    // Payloads are built here and are a few bytes long.
    bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// `Tie`, announcing `fds` (0 or 1) descriptors.
pub(super) fn tie(tie: Tie, fds: u8) -> Vec<u8> {
    let mut payload = [0u8; 16];
    payload[..4].copy_from_slice(&tie.pgid.to_le_bytes());
    payload[4..8].copy_from_slice(&tie.leader.to_le_bytes());
    payload[8..].copy_from_slice(&tie.leader_start.to_le_bytes());
    encode(Kind::Tie, fds, &payload)
}

pub(super) fn untie(pid: u32) -> Vec<u8> {
    encode(Kind::Untie, 0, &pid.to_le_bytes())
}

pub(super) fn bye() -> Vec<u8> {
    encode(Kind::Bye, 0, &[])
}

pub(super) fn look() -> Vec<u8> {
    encode(Kind::Look, 0, &[])
}

/// `Declare`, announcing `fds` descriptors.
pub(super) fn declare(id: u64, what: &Declared, fds: u8) -> Vec<u8> {
    let mut payload = id.to_le_bytes().to_vec();
    match what {
        Declared::Terminal { termios, escape } => {
            payload.push(1);
            // A termios is a few dozen bytes.
            payload.extend_from_slice(&(termios.len() as u32).to_le_bytes());
            payload.extend_from_slice(termios);
            payload.extend_from_slice(escape);
        }
        Declared::Remove {
            recursive,
            dev,
            ino,
            path,
        } => {
            payload.push(2);
            payload.push(u8::from(*recursive));
            payload.extend_from_slice(&dev.to_le_bytes());
            payload.extend_from_slice(&ino.to_le_bytes());
            payload.extend_from_slice(path);
        }
        Declared::KillGroup { pgid, leader_start } => {
            payload.push(3);
            payload.extend_from_slice(&pgid.to_le_bytes());
            payload.extend_from_slice(&leader_start.to_le_bytes());
        }
    }
    encode(Kind::Declare, fds, &payload)
}

/// `Cancel` or `Ran` (whose payload is the id alone), built without
/// allocating: the crash handler sends `Ran`.
pub(super) const fn about(kind: Kind, id: u64) -> [u8; HEADER + 8] {
    let id = id.to_le_bytes();
    [
        VERSION, kind as u8, 0, 0, 8, 0, 0, 0, id[0], id[1], id[2], id[3], id[4], id[5], id[6],
        id[7],
    ]
}

/// What [`decode`] found at the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decoded {
    /// A whole message: it, its descriptor count, and its length in bytes.
    Message(Message, usize, usize),
    /// Not all of it has arrived.
    Incomplete,
    /// Another version, or a length no message has: the stream is not ours.
    Broken,
}

/// Decodes the message at the front of `bytes`.
pub(super) fn decode(bytes: &[u8]) -> Decoded {
    let Some(header) = bytes.get(..HEADER) else {
        return Decoded::Incomplete;
    };
    if header[0] != VERSION {
        return Decoded::Broken;
    }
    let length = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if length > MAX_PAYLOAD {
        return Decoded::Broken;
    }
    let Some(payload) = bytes.get(HEADER..HEADER + length) else {
        return Decoded::Incomplete;
    };
    let u32_at = |at: usize| {
        payload
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |at: usize| {
        payload
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    let message = match header[1] {
        1 if length == 16 => match (u32_at(0), u32_at(4)) {
            (Some(pgid), Some(leader)) => {
                let mut start = [0u8; 8];
                start.copy_from_slice(&payload[8..16]);
                Message::Tie(Tie {
                    pgid,
                    leader,
                    leader_start: u64::from_le_bytes(start),
                })
            }
            _ => Message::Unknown,
        },
        2 if length == 4 => u32_at(0).map_or(Message::Unknown, |pid| Message::Untie { pid }),
        3 if length == 0 => Message::Bye,
        4 => decode_declare(payload).unwrap_or(Message::Unknown),
        5 if length == 8 => u64_at(0).map_or(Message::Unknown, |id| Message::Cancel { id }),
        6 if length == 8 => u64_at(0).map_or(Message::Unknown, |id| Message::Ran { id }),
        7 if length == 0 => Message::Look,
        _ => Message::Unknown,
    };
    Decoded::Message(message, usize::from(header[2]), HEADER + length)
}

/// A `Declare` payload; `None` if malformed.
fn decode_declare(payload: &[u8]) -> Option<Message> {
    let u32_at = |at: usize| {
        Some(u32::from_le_bytes(
            payload.get(at..at + 4)?.try_into().ok()?,
        ))
    };
    let u64_at = |at: usize| {
        Some(u64::from_le_bytes(
            payload.get(at..at + 8)?.try_into().ok()?,
        ))
    };
    let id = u64_at(0)?;
    let what = match *payload.get(8)? {
        1 => {
            let length = usize::try_from(u32_at(9)?).ok()?;
            let termios = payload.get(13..13usize.checked_add(length)?)?.to_vec();
            let escape = payload.get(13 + length..)?.to_vec();
            Declared::Terminal { termios, escape }
        }
        2 => Declared::Remove {
            recursive: match *payload.get(9)? {
                0 => false,
                1 => true,
                _ => return None,
            },
            dev: u64_at(10)?,
            ino: u64_at(18)?,
            path: payload.get(26..)?.to_vec(),
        },
        3 if payload.len() == 21 => Declared::KillGroup {
            pgid: u32_at(9)?,
            leader_start: u64_at(13)?,
        },
        _ => return None,
    };
    Some(Message::Declare { id, what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let t = Tie {
            pgid: 42,
            leader: 42,
            leader_start: 1 << 40,
        };
        let mut stream = tie(t, 1);
        stream.extend(untie(42));
        stream.extend(bye());
        let mut at = 0;
        let mut seen = Vec::new();
        while let Decoded::Message(message, fds, length) = decode(&stream[at..]) {
            seen.push((message, fds));
            at += length;
        }
        assert_eq!(at, stream.len());
        assert_eq!(
            seen,
            [
                (Message::Tie(t), 1),
                (Message::Untie { pid: 42 }, 0),
                (Message::Bye, 0)
            ]
        );
    }

    fn all_declarations() -> Vec<Declared> {
        vec![
            Declared::Terminal {
                termios: (0..60).collect(),
                escape: b"\x1b[?1049l".to_vec(),
            },
            Declared::Terminal {
                termios: vec![7; 60],
                escape: Vec::new(),
            },
            Declared::Remove {
                recursive: false,
                dev: u64::MAX,
                ino: 1 << 50,
                path: b"/tmp/app.lock".to_vec(),
            },
            Declared::Remove {
                recursive: true,
                dev: 3,
                ino: 4,
                path: "/tmp/scratch \u{e9}".as_bytes().to_vec(),
            },
            Declared::KillGroup {
                pgid: 4_000_000,
                leader_start: 123_456_789,
            },
        ]
    }

    #[test]
    fn declarations_cancels_and_rans_round_trip() {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (i, what) in all_declarations().into_iter().enumerate() {
            let id = (i as u64) << 40 | 9;
            stream.extend(declare(id, &what, (i % 2) as u8));
            expected.push((Message::Declare { id, what }, i % 2));
        }
        stream.extend(about(Kind::Cancel, 1));
        stream.extend(about(Kind::Ran, u64::MAX));
        stream.extend(look());
        expected.push((Message::Cancel { id: 1 }, 0));
        expected.push((Message::Ran { id: u64::MAX }, 0));
        expected.push((Message::Look, 0));
        let mut at = 0;
        let mut seen = Vec::new();
        while let Decoded::Message(message, fds, length) = decode(&stream[at..]) {
            seen.push((message, fds));
            at += length;
        }
        assert_eq!(at, stream.len());
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_malformed_declaration_is_skipped_whole() {
        for what in all_declarations() {
            let whole = declare(5, &what, 1);
            // Cut the payload short but keep the header's length honest.
            for cut in HEADER..whole.len() {
                let mut short = whole[..cut].to_vec();
                short[4..8].copy_from_slice(&((cut - HEADER) as u32).to_le_bytes());
                match decode(&short) {
                    Decoded::Message(Message::Declare { what: got, .. }, _, _) => {
                        // Only a shorter path or escape still decodes.
                        assert!(
                            matches!(
                                (&got, &what),
                                (Declared::Remove { .. }, Declared::Remove { .. })
                                    | (Declared::Terminal { .. }, Declared::Terminal { .. })
                            ),
                            "{got:?} from {what:?} cut at {cut}"
                        );
                    }
                    Decoded::Message(Message::Unknown, 1, length) => assert_eq!(length, cut),
                    other => panic!("{other:?} from {what:?} cut at {cut}"),
                }
            }
        }
        let mut bad_kind = declare(5, &all_declarations()[0], 1);
        bad_kind[HEADER + 8] = 9;
        assert_eq!(
            decode(&bad_kind),
            Decoded::Message(Message::Unknown, 1, bad_kind.len())
        );
    }

    #[test]
    fn a_partial_message_waits_and_an_unknown_kind_is_skipped() {
        let whole = untie(7);
        assert_eq!(decode(&whole[..5]), Decoded::Incomplete);
        assert_eq!(decode(&whole[..HEADER + 2]), Decoded::Incomplete);
        let mut future = vec![VERSION, 200, 2, 0, 3, 0, 0, 0, 1, 2, 3];
        future.extend(bye());
        assert_eq!(decode(&future), Decoded::Message(Message::Unknown, 2, 11));
        assert_eq!(decode(&future[11..]), Decoded::Message(Message::Bye, 0, 8));
    }

    #[test]
    fn another_version_or_a_huge_length_is_broken() {
        let mut other = bye();
        other[0] = VERSION + 1;
        assert_eq!(decode(&other), Decoded::Broken);
        assert_eq!(
            decode(&[VERSION, 1, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            Decoded::Broken
        );
    }
}
