//! `find` must not allocate when a text holds no PII (hot path).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use pfm_pii::Scrubber;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwards to the system allocator with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn find_does_not_allocate_without_findings() {
    let s = Scrubber::new();
    let texts = [
        (
            "POS PURCHASE TESCO STORES 3312 LONDON GB",
            Some("Alice Walker"),
        ),
        ("Paid 1,234.56 EUR on 2024-01-15 at 10:30, ref 123456", None),
        (
            "Invoice INV2024-0001234, order ORD-555-123-4567",
            Some("Jörg Müller"),
        ),
        ("Lunch at Joe dot com diner, user@localhost", None),
        (
            "IBAN GB82 WEST 1234 5698 7654 33, card 4111 1111 1111 1112",
            Some("Ann Lee"),
        ),
        (
            "Annual fee for Leeds branch; code AB1234560 ref DA 12 34 56 A",
            Some("Ann Lee"),
        ),
        ("", None),
    ];
    // Warm up the regex caches of this thread.
    for (t, n) in texts {
        assert!(s.find(t, n).is_empty(), "{t:?}");
    }
    for (t, n) in texts {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..10 {
            assert!(s.find(t, n).is_empty());
            assert!(matches!(s.scrub_cow(t, n), std::borrow::Cow::Borrowed(_)));
        }
        let allocated = ALLOCATIONS.load(Ordering::Relaxed) - before;
        assert_eq!(allocated, 0, "{allocated} allocations for {t:?}");
    }
}
