//! The sockets a poll or select watches, for every reader of a call: the
//! kernel harness polls their descriptors, the report names them, each in
//! lane order.

use crate::call::{Call, Naming};

impl<N: Naming> Call<N> {
    /// A poll's or select's sockets in lane order: its `sock`, then each of
    /// `also`. Empty for every other call.
    pub fn watched(&self) -> impl Iterator<Item = &N::Sock> {
        let (sock, also) = match self {
            Call::Poll { sock, also, .. } | Call::Select { sock, also, .. } => {
                (Some(sock), Some(also))
            }
            _ => (None, None),
        };
        sock.into_iter()
            .chain(also.into_iter().flat_map(|a| a.iter()))
    }
}

#[cfg(test)]
mod tests {
    use crate::call::{select_sets::READFDS, Fds, PollAlso};
    use crate::Call;

    #[test]
    fn a_poll_and_a_select_watch_their_socket_then_the_others_in_order() {
        let poll: Call<Fds> = Call::Poll {
            sock: 4,
            also: PollAlso([Some(7), Some(5), None]),
            events: 1,
            timeout: None,
        };
        assert_eq!(poll.watched().copied().collect::<Vec<_>>(), [4, 7, 5]);
        let select: Call<Fds> = Call::Select {
            sock: 3,
            also: PollAlso::default(),
            sets: READFDS,
            timeout: None,
        };
        assert_eq!(select.watched().copied().collect::<Vec<_>>(), [3]);
        let close: Call<Fds> = Call::Close { sock: 3 };
        assert_eq!(close.watched().count(), 0);
    }
}
