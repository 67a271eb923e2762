//! Lane pool rules: abandoned lanes are not reused, bases stay idle, pinned bases wait.

use super::*;

#[test]
fn busy_lanes_are_not_handed_out_until_released() {
    let mut pool = Pool::new(2, 1);
    let a = pool.acquire(None);
    let b = pool.acquire(None);
    assert_eq!((a, b, pool.acquire(None)), (Some(0), Some(1), None));
    pool.release(0);
    assert_eq!(pool.acquire(None), Some(0));
}

#[test]
fn a_ready_base_holds_its_lane_and_forks_elsewhere() {
    let mut pool = Pool::new(3, 1);
    let ticket = pool.begin_warm("doc", 7).expect("warm");
    assert!(pool.begin_warm("doc", 7).is_none(), "already warming");
    assert!(matches!(pool.lookup("doc", 7), Lookup::Pending(_)));
    pool.warm_ready("doc", &ticket, "resp_1".into());
    let Lookup::Ready { id, lane } = pool.lookup("doc", 7) else {
        panic!("ready")
    };
    assert_eq!((id.as_str(), lane), ("resp_1", ticket.lane));
    assert!(
        matches!(pool.lookup("doc", 8), Lookup::Cold),
        "context changed"
    );
    let worker = pool.acquire(Some(lane)).expect("worker");
    assert_ne!(worker, lane);
    // The base lane is only taken when nothing else is left, and then the session is cold.
    let other = pool.acquire(None).expect("third lane");
    assert_ne!(other, lane);
    assert_eq!(
        pool.acquire(Some(lane)),
        None,
        "the kept base is never evicted"
    );
    assert_eq!(pool.acquire(None), Some(lane));
    assert!(matches!(pool.lookup("doc", 7), Lookup::Cold));
}

#[test]
fn a_pinned_base_is_not_reused_until_its_fork_starts() {
    let mut pool = Pool::new(2, 1);
    let ticket = pool.begin_warm("doc", 1).expect("warm");
    pool.warm_ready("doc", &ticket, "r".into());
    pool.pin(ticket.lane);
    // A new context replaces the base; its old lane stays pinned.
    let next = pool.begin_warm("doc", 2);
    assert!(next.is_some_and(|t| t.lane != ticket.lane));
    assert_eq!(pool.acquire(None), None);
    pool.unpin(ticket.lane);
    assert_eq!(pool.acquire(None), Some(ticket.lane));
}

#[test]
fn stale_bases_and_failed_warm_ups_are_forgotten() {
    let mut pool = Pool::new(3, 2);
    let ticket = pool.begin_warm("doc", 1).expect("warm");
    pool.warm_ready("doc", &ticket, "r1".into());
    pool.drop_base("doc", "other");
    assert!(matches!(pool.lookup("doc", 1), Lookup::Ready { .. }));
    pool.drop_base("doc", "r1");
    assert!(matches!(pool.lookup("doc", 1), Lookup::Cold));
    let failed = pool.begin_warm("doc", 1).expect("warm again");
    let Lookup::Pending(rx) = pool.lookup("doc", 1) else {
        panic!("pending")
    };
    pool.warm_failed("doc", &failed);
    assert_eq!(*rx.borrow(), BaseState::Gone);
    assert_eq!(pool.busy(), 0);
}

#[test]
fn at_most_max_bases_sessions_are_warm() {
    let mut pool = Pool::new(4, 2);
    for (n, session) in ["a", "b", "c"].into_iter().enumerate() {
        let ticket = pool.begin_warm(session, 1).expect("warm");
        pool.warm_ready(session, &ticket, format!("r{n}"));
    }
    assert!(
        matches!(pool.lookup("a", 1), Lookup::Cold),
        "oldest evicted"
    );
    assert!(matches!(pool.lookup("c", 1), Lookup::Ready { .. }));
}
