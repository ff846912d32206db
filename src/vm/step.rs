//! One tick as a pure function: the clock, an optional message and an
//! injected RNG in; the event to log (and so, for a send, its recipients) out.
//! The model's per-tick rule (docs/log-format.md, section 1) lives here and
//! only here.

use rand::RngExt;

use super::clock::Clock;
use crate::logline::Event;

/// A message taken off the network queue for this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    /// The sender's VM id.
    pub from: u32,
    /// The sender's tick at which it was sent.
    pub sent_tick: u64,
    /// The clock it carries.
    pub msg_clock: u64,
    /// Microseconds it waited on the queue.
    pub wait_us: u64,
}

/// What a roll of the die asks for when the queue is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send one message to each of these peers.
    Send(Vec<u32>),
    /// An internal event.
    Internal,
}

/// Maps a roll in `1..=event_range` to an action. `peers` is sorted, not empty.
///
/// With two peers (3 VMs) roll 1 goes to the lower-numbered peer and 2 to the
/// higher; with more, 1 and 2 each pick a peer uniformly at random; with one
/// peer every send goes to it.
pub fn action<R: rand::Rng + ?Sized>(roll: u32, peers: &[u32], rng: &mut R) -> Action {
    match (roll, peers.len()) {
        (1 | 2, 1) => Action::Send(vec![peers[0]]),
        (1, 2) => Action::Send(vec![peers[0]]),
        (2, 2) => Action::Send(vec![peers[1]]),
        (1 | 2, n) => Action::Send(vec![peers[rng.random_range(0..n)]]),
        (3, _) => Action::Send(peers.to_vec()),
        _ => Action::Internal,
    }
}

/// Plays tick `tick`: receive `msg` if there is one, otherwise roll the die.
/// `queue` is the number of messages still waiting after `msg` was taken.
pub fn step<R: rand::Rng + ?Sized>(
    clock: &mut Clock,
    tick: u64,
    msg: Option<Incoming>,
    queue: u64,
    peers: &[u32],
    event_range: u32,
    rng: &mut R,
) -> Event {
    if let Some(m) = msg {
        return receive(clock, tick, m, queue);
    }
    let roll = rng.random_range(1..=event_range);
    act(clock, tick, action(roll, peers, rng), queue)
}

/// Tick `tick` receives `m`: `clock = max(clock, msg_clock) + 1`.
pub fn receive(clock: &mut Clock, tick: u64, m: Incoming, queue: u64) -> Event {
    Event::Receive {
        tick,
        clock: clock.receive(m.msg_clock),
        queue,
        from: m.from,
        sent_tick: m.sent_tick,
        msg_clock: m.msg_clock,
        wait_us: m.wait_us,
    }
}

/// Tick `tick` does what the die asked for, a local event: `clock + 1`.
/// [`step`] with the roll already made, so a test can script a history.
pub fn act(clock: &mut Clock, tick: u64, action: Action, queue: u64) -> Event {
    match action {
        Action::Send(to) => Event::Send {
            tick,
            clock: clock.local(),
            queue,
            to,
        },
        Action::Internal => Event::Internal {
            tick,
            clock: clock.local(),
            queue,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(1)
    }

    #[test]
    fn two_vms_send_everything_to_the_only_peer() {
        let mut r = rng();
        for roll in 1..=3 {
            assert_eq!(action(roll, &[2], &mut r), Action::Send(vec![2]));
        }
        assert_eq!(action(4, &[2], &mut r), Action::Internal);
    }

    #[test]
    fn three_vms_send_low_high_all() {
        let mut r = rng();
        assert_eq!(action(1, &[1, 3], &mut r), Action::Send(vec![1]));
        assert_eq!(action(2, &[1, 3], &mut r), Action::Send(vec![3]));
        assert_eq!(action(3, &[1, 3], &mut r), Action::Send(vec![1, 3]));
        for roll in 4..=10 {
            assert_eq!(action(roll, &[1, 3], &mut r), Action::Internal);
        }
    }

    #[test]
    fn five_vms_pick_peers_uniformly() {
        let peers = [1, 2, 4, 5];
        let mut r = rng();
        let mut counts = [0u32; 6];
        for i in 0..40_000 {
            match action(1 + i % 2, &peers, &mut r) {
                Action::Send(to) => {
                    assert_eq!(to.len(), 1);
                    counts[to[0] as usize] += 1;
                }
                Action::Internal => panic!("roll 1 or 2 must send"),
            }
        }
        assert_eq!(counts[3], 0, "never to itself");
        for p in peers {
            let c = counts[p as usize];
            assert!((9_000..11_000).contains(&c), "peer {p} got {c} of 40000");
        }
        assert_eq!(action(3, &peers, &mut r), Action::Send(peers.to_vec()));
        assert_eq!(action(7, &peers, &mut r), Action::Internal);
    }

    #[test]
    fn a_message_is_always_received_first() {
        let mut c = Clock::default();
        let msg = Incoming {
            from: 3,
            sent_tick: 4,
            msg_clock: 5,
            wait_us: 12,
        };
        let e = step(&mut c, 1, Some(msg), 2, &[1, 3], 10, &mut rng());
        assert_eq!(
            e,
            Event::Receive {
                tick: 1,
                clock: 6,
                queue: 2,
                from: 3,
                sent_tick: 4,
                msg_clock: 5,
                wait_us: 12
            }
        );
    }

    #[test]
    fn sends_and_internals_increment_before_logging() {
        let mut c = Clock::default();
        let mut r = rng();
        let (mut sends, mut internals) = (0, 0);
        for tick in 1..=1000 {
            match step(&mut c, tick, None, 0, &[1, 3], 10, &mut r) {
                Event::Send { clock, to, .. } => {
                    assert_eq!(clock, tick);
                    assert!(!to.is_empty());
                    sends += 1;
                }
                Event::Internal { clock, .. } => {
                    assert_eq!(clock, tick);
                    internals += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // 3 of 10 rolls send: expect about 300.
        assert!((230..370).contains(&sends), "{sends} sends");
        assert_eq!(sends + internals, 1000);
    }

    #[test]
    fn event_range_three_never_has_internal_events() {
        let mut c = Clock::default();
        let mut r = rng();
        for tick in 1..=200 {
            let e = step(&mut c, tick, None, 0, &[2], 3, &mut r);
            assert!(matches!(e, Event::Send { .. }), "{e:?}");
        }
    }

    #[test]
    fn same_seed_same_choices() {
        let run = |seed| {
            let mut c = Clock::default();
            let mut r = StdRng::seed_from_u64(seed);
            (1..=100)
                .map(|t| step(&mut c, t, None, 0, &[1, 2, 4, 5], 10, &mut r))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }
}
