//! [`Extra`]: the keys of a queue entry that this crate does not know, kept so that a queue
//! loaded and saved unchanged keeps its bytes (spec §1.1).

use std::ops::Index;

use serde_json::{Map, Value};

/// An entry's unknown keys and their values, in file order.
///
/// Almost no entry has any, so the map is boxed and only allocated by the first key: the
/// field takes 8 bytes of each entry instead of the 72 of a map (a 1M-entry queue is 64 MB
/// smaller, and reorder moves smaller entries; issue #14). Two `Extra`s are equal when they
/// hold the same keys and values, in any order (as `serde_json::Map`).
#[derive(Debug, Clone, Default)]
pub struct Extra(Option<Box<Map<String, Value>>>);

impl Extra {
    /// No keys.
    pub fn new() -> Self {
        Self(None)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.as_ref()?.get(key)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` (a new key goes last; an existing one keeps its place) and returns the old
    /// value.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        self.0
            .get_or_insert_with(Default::default)
            .insert(key, value)
    }

    /// Removes `key`, keeping the order of the others, and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let map = self.0.as_mut()?;
        let value = map.shift_remove(key);
        if map.is_empty() {
            self.0 = None;
        }
        value
    }

    /// The keys and values, in order.
    pub fn iter(&self) -> serde_json::map::Iter<'_> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        match &self.0 {
            Some(map) => map.iter(),
            None => EMPTY.get_or_init(Map::new).iter(),
        }
    }
}

impl PartialEq for Extra {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<'a> IntoIterator for &'a Extra {
    type Item = (&'a String, &'a Value);
    type IntoIter = serde_json::map::Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Index<&str> for Extra {
    type Output = Value;

    /// # Panics
    /// When `key` is absent, as `serde_json::Map` does.
    fn index(&self, key: &str) -> &Value {
        self.get(key)
            .unwrap_or_else(|| panic!("no key {key:?} in the entry's extra keys"))
    }
}

impl From<Map<String, Value>> for Extra {
    fn from(map: Map<String, Value>) -> Self {
        if map.is_empty() {
            Self(None)
        } else {
            Self(Some(Box::new(map)))
        }
    }
}

impl FromIterator<(String, Value)> for Extra {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Self::from(iter.into_iter().collect::<Map<String, Value>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn behaves_as_an_ordered_map() {
        let mut e = Extra::new();
        assert!(e.is_empty() && e.get("a").is_none() && e.iter().next().is_none());
        assert_eq!(e.insert("b".into(), json!(1)), None);
        e.insert("a".into(), json!(2));
        assert_eq!(e.insert("b".into(), json!(3)), Some(json!(1)));
        let keys: Vec<&String> = e.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["b", "a"],
            "a new key goes last, an existing one stays"
        );
        assert_eq!(e["b"], json!(3));
        assert!(e.contains_key("a") && e.len() == 2);
        assert_eq!(e.remove("b"), Some(json!(3)));
        assert_eq!(e.remove("a"), Some(json!(2)));
        assert_eq!(e, Extra::new(), "emptied equals never filled");
        assert!(e.0.is_none());
    }

    #[test]
    fn equality_ignores_order_like_a_map() {
        let ab: Extra = [("a".into(), json!(1)), ("b".into(), json!(2))]
            .into_iter()
            .collect();
        let ba: Extra = [("b".into(), json!(2)), ("a".into(), json!(1))]
            .into_iter()
            .collect();
        assert_eq!(ab, ba);
        let other: Extra = [("a".into(), json!(1)), ("b".into(), json!(3))]
            .into_iter()
            .collect();
        assert_ne!(ab, other);
        assert_ne!(ab, Extra::new());
    }
}
