//! `Decision::verdict` must not allocate: it runs once per tool call on the hot path.
//! This binary counts allocations made on the test's own thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bighub_core::{Decision, Verdict};
use serde_json::Value;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counting touches only thread-local cells.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    (out, COUNT.with(Cell::get))
}

#[test]
fn verdict_does_not_allocate_but_votes_may() {
    let raw: Value =
        serde_json::from_str(include_str!("fixtures/argocd_sync_review.json")).unwrap();
    let d = Decision::from_backend_response(&raw);

    let (verdict, n) = allocations(|| d.verdict());
    assert_eq!(verdict, Verdict::ApprovalRequired);
    assert_eq!(n, 0, "verdict() allocated {n} times");

    // The counter works: votes() builds strings.
    let (votes, n) = allocations(|| d.votes());
    assert_eq!(votes.len(), 7);
    assert!(n > 0);
}
