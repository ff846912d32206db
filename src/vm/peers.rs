//! What the VM knows of each peer: one [`Peer`] per peer.

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
