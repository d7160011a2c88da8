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
//! closed: new kinds (issue 24's declared cleanups: `Declare{id, data}` with
//! a tty or pinned-file descriptor, `Cancel{id}`, `Ran{id}`) are added
//! without touching the existing ones.
//!
//! Kinds now:
//! - `Tie` (1): payload `pgid: u32, leader: u32, leader_start: u64` (the
//!   leader's start time, field 22 of `/proc/<pid>/stat`), with 0 or 1
//!   descriptor: a pidfd of the leader, opened while it was unreaped.
//! - `Untie` (2): payload `pgid: u32`: the program reaped that group's leader
//!   itself (its stop, `wait`); forget the group.
//! - `Bye` (3): no payload: the program's exit has done all it will do;
//!   the watchdog exits without acting.

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
}

/// A registered process group, as `Tie` carries it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Tie {
    pub(super) pgid: u32,
    pub(super) leader: u32,
    pub(super) leader_start: u64,
}

/// A message as the watchdog reads it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Message {
    Tie(Tie),
    Untie {
        pgid: u32,
    },
    Bye,
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

pub(super) fn untie(pgid: u32) -> Vec<u8> {
    encode(Kind::Untie, 0, &pgid.to_le_bytes())
}

pub(super) fn bye() -> Vec<u8> {
    encode(Kind::Bye, 0, &[])
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
        2 if length == 4 => u32_at(0).map_or(Message::Unknown, |pgid| Message::Untie { pgid }),
        3 if length == 0 => Message::Bye,
        _ => Message::Unknown,
    };
    Decoded::Message(message, usize::from(header[2]), HEADER + length)
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
                (Message::Untie { pgid: 42 }, 0),
                (Message::Bye, 0)
            ]
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
