//! Passes over every entry of a large queue, on two threads (1M-entry queues, issue #14):
//! a hash lookup per entry name costs about 0.1 s on one thread, mostly waiting for memory.

use crate::QueueEntry;
use crate::join::join;

/// Below this many entries one thread does the pass.
const PARALLEL_MIN: usize = 1 << 16;

/// The positions of the entries for which `pred` holds, ascending. A large slice is split in
/// two halves, one per thread.
pub(super) fn positions(
    entries: &[QueueEntry],
    pred: impl Fn(&QueueEntry) -> bool + Sync,
) -> Vec<usize> {
    let scan = |start: usize, part: &[QueueEntry]| -> Vec<usize> {
        part.iter()
            .enumerate()
            .filter(|(_, e)| pred(e))
            .map(|(i, _)| start + i)
            .collect()
    };
    if entries.len() < PARALLEL_MIN {
        return scan(0, entries);
    }
    let middle = entries.len() / 2;
    let (head, tail) = entries.split_at(middle);
    let (mut out, rest) = join(|| scan(0, head), || scan(middle, tail));
    out.extend(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_in_order_on_one_or_two_threads() {
        for n in [0, 10, PARALLEL_MIN + 5] {
            let entries: Vec<QueueEntry> = (0..n)
                .map(|i| QueueEntry::new(format!("e{i}"), "npm:x", 1))
                .collect();
            let expected: Vec<usize> = (0..n).filter(|i| i % 3 == 1).collect();
            let got = positions(&entries, |e| e.name[1..].parse::<usize>().unwrap() % 3 == 1);
            assert_eq!(got, expected, "{n} entries");
        }
    }
}
