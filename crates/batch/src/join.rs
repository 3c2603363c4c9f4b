//! [`join`]: two closures at once, one on a scoped thread (the two-thread passes over large
//! queues, issue #14).

/// Runs `a` on this thread and `b` on a scoped thread, and returns both results. A panic in
/// `b` is resumed here, after `a` has finished.
pub(crate) fn join<RA, RB: Send>(
    a: impl FnOnce() -> RA,
    b: impl FnOnce() -> RB + Send,
) -> (RA, RB) {
    std::thread::scope(|scope| {
        let b = scope.spawn(b);
        let a = a();
        let b = b
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_results_in_order_and_a_panic_in_the_helper_is_resumed() {
        assert_eq!(join(|| 1, || "two"), (1, "two"));
        let caught = std::panic::catch_unwind(|| join(|| (), || panic!("helper failed")));
        let message = caught.unwrap_err();
        assert_eq!(message.downcast_ref::<&str>(), Some(&"helper failed"));
    }
}
