//! Unit tests of `select` (spec §3, §8.1 #1–15, §8.2 #83–88).
