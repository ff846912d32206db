//! What the VM knows of each peer: one [`Peer`] per peer.

use anyhow::Result;

use super::Vm;
use crate::logline::Event;

/// One peer, as the tick loop sees it (its link itself is the net thread's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Peer {
    pub(super) id: u32,
    /// The link has been up.
    pub(super) linked: bool,
    /// The link's last break is in the log, its `link_up` not yet.
    pub(super) down_logged: bool,
    /// Given up on (`peer_lost` logged).
    pub(super) lost: bool,
}

impl Peer {
    pub(super) fn new(id: u32) -> Peer {
        Peer {
            id,
            linked: false,
            down_logged: false,
            lost: false,
        }
    }
}

impl Vm {
    /// How many links have been up.
    pub(super) fn links_up(&self) -> usize {
        self.peers.iter().filter(|p| p.linked).count()
    }

    pub(super) fn pos(&self, peer: u32) -> Option<usize> {
        self.peers.binary_search_by_key(&peer, |p| p.id).ok()
    }

    /// Logs `peer_lost` once.
    pub(super) fn lose(&mut self, pos: usize, why: &str) -> Result<()> {
        if !self.peers[pos].lost {
            self.peers[pos].lost = true;
            self.warner.warn(
                "lost peer",
                &format!("gave up on VM {}: {why}", self.peers[pos].id),
            );
            // Lost during set-up: logged right after `start`, which comes first.
            if self.start_logged {
                self.log.write(&Event::PeerLost {
                    peer: self.peers[pos].id,
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_peer_knows_nothing_yet() {
        let p = Peer::new(3);
        assert_eq!(
            (p.id, p.linked, p.down_logged, p.lost),
            (3, false, false, false)
        );
    }
}
