//! The reorder's moves, stored compactly (issue #14): a reorder of a 1M-entry queue can move
//! almost every entry, and a `String` per move cost one heap allocation each (about 85 MB and
//! a quarter of the reorder's time on 1M entries). The names share one buffer; each [`Move`]
//! borrows its name from it.

use serde::Serialize;
use serde::ser::Serializer;

/// One entry that changed position in the reorder (spec §4.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Move<'a> {
    /// Entry name.
    pub entry: &'a str,
    /// 0-based position before.
    pub from: usize,
    /// 0-based position after.
    pub to: usize,
    /// Its priority.
    pub priority: i64,
    /// Its blocking score.
    pub score: u64,
}

/// A move without its name: the name ends at `end` in [`Moves`]'s buffer and starts where
/// the previous one ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    end: usize,
    from: usize,
    to: usize,
    priority: i64,
    score: u64,
}

/// Entries whose position changed, in the order pushed (reorder: new order). Iterating gives
/// [`Move`]s; serialises as a JSON array of `{entry, from, to, priority, score}` objects, the
/// same document a `Vec<Move>` gives.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Moves {
    names: String,
    slots: Vec<Slot>,
}

impl Moves {
    /// Empty, with room for `moves` moves whose names total `name_bytes` bytes.
    pub fn with_capacity(moves: usize, name_bytes: usize) -> Self {
        Self {
            names: String::with_capacity(name_bytes),
            slots: Vec::with_capacity(moves),
        }
    }

    /// Appends `m` (its name is copied into the shared buffer).
    pub fn push(&mut self, m: Move<'_>) {
        self.names.push_str(m.entry);
        self.slots.push(Slot {
            end: self.names.len(),
            from: m.from,
            to: m.to,
            priority: m.priority,
            score: m.score,
        });
    }

    /// Number of moves.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The `i`-th move, if any.
    pub fn get(&self, i: usize) -> Option<Move<'_>> {
        let s = self.slots.get(i)?;
        let start = if i == 0 { 0 } else { self.slots[i - 1].end };
        Some(Move {
            entry: &self.names[start..s.end],
            from: s.from,
            to: s.to,
            priority: s.priority,
            score: s.score,
        })
    }

    /// The moves in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            moves: self,
            next: 0,
        }
    }
}

/// Iterator over [`Moves`].
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    moves: &'a Moves,
    next: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Move<'a>;

    fn next(&mut self) -> Option<Move<'a>> {
        let m = self.moves.get(self.next)?;
        self.next += 1;
        Some(m)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.moves.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Moves {
    type Item = Move<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> FromIterator<Move<'a>> for Moves {
    fn from_iter<I: IntoIterator<Item = Move<'a>>>(iter: I) -> Self {
        let mut out = Moves::default();
        for m in iter {
            out.push(m);
        }
        out
    }
}

impl std::fmt::Debug for Moves {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Moves {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(entry: &str, from: usize, to: usize) -> Move<'_> {
        Move {
            entry,
            from,
            to,
            priority: 1,
            score: 2,
        }
    }

    #[test]
    fn moves_give_back_what_was_pushed_and_serialise_as_a_list() {
        let pushed = [mv("curl", 3, 0), mv("", 0, 1), mv("a<b", 1, 3)];
        let moves: Moves = pushed.iter().copied().collect();
        assert_eq!(moves.len(), 3);
        assert_eq!(moves.iter().collect::<Vec<_>>(), pushed);
        assert_eq!(moves.get(3), None);
        assert_eq!(
            serde_json::to_string(&moves).unwrap(),
            serde_json::to_string(&pushed).unwrap()
        );
        assert_eq!(format!("{moves:?}"), format!("{pushed:?}"));
        assert!(Moves::default().is_empty());
    }
}
