//! Parsing the queue file (issue #5, #14): one parse without key-path tracking (a second one
//! with it only to word an error), and a large file in the layout this crate writes parsed in
//! two halves on two threads, in place.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::{Map, Value};

use super::entry::QueueEntry;
use super::file::Queue;
use super::wire::{Entries, Parsed};
use crate::join::join;

/// A parse failure: the JSON key path (empty when unknown) and serde_json's error, which
/// carries the line and column.
pub(super) type ParseFailure = (String, serde_json::Error);

/// Reads the whole file, like `std::fs::read`. A large file is read in two halves on two
/// threads with positional reads (issue #14): copying 272 MiB out of the page cache, and
/// faulting in the buffer's pages, is a tenth of a second per thread. Anything appended
/// meanwhile is read after them, as `fs::read` would; a file that shrank is read again
/// from the start.
///
/// # Errors
/// The file's open and read errors.
pub(super) fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let Some(len) = usize::try_from(size)
        .ok()
        .filter(|_| size <= PARALLEL_MAX_READ_BYTES)
    else {
        // `fs::read` reports a buffer it cannot allocate as an error; `vec!` would abort.
        return std::fs::read(path);
    };
    if len < PARALLEL_MIN_BYTES {
        let mut buf = Vec::with_capacity(len);
        file.read_to_end(&mut buf)?;
        return Ok(buf);
    }
    // Zeroed by the allocator's fresh pages, not by a pass over the buffer.
    let mut buf = vec![0u8; len];
    let (head, tail) = buf.split_at_mut(len / 2);
    let offset = head.len() as u64;
    let (head, tail) = join(
        || read_exact_at(&file, head, 0),
        || read_exact_at(&file, tail, offset),
    );
    let read = head.and(tail);
    match read {
        Ok(()) => {
            file.seek(SeekFrom::Start(len as u64))?;
            file.read_to_end(&mut buf)?;
            Ok(buf)
        }
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            buf.clear();
            file.seek(SeekFrom::Start(0))?;
            file.read_to_end(&mut buf)?;
            Ok(buf)
        }
        Err(e) => Err(e),
    }
}

/// Above this size [`read_file`] leaves the file to `fs::read`.
const PARALLEL_MAX_READ_BYTES: u64 = 1 << 32;

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset).and_then(|n| {
        if n == buf.len() {
            Ok(())
        } else {
            Err(io::ErrorKind::UnexpectedEof.into())
        }
    })
}

/// Parses a document that may lack `entries` (the caller decides what that means).
///
/// The key path costs a wrapper around every value, so it is tracked only to report an error:
/// a document that parses is parsed once without it; one that does not is parsed again with
/// `serde_path_to_error`, which fails at the same place with the same error, plus the path.
///
/// The first parse reads the buffer as `str`: one UTF-8 check of the whole buffer costs less
/// than serde_json's check of each string it reads from a byte slice (issue #14). A buffer
/// that is not UTF-8 goes straight to the second parse, whose error gives the position.
pub(super) fn parse_slice(bytes: &[u8]) -> Result<Parsed, ParseFailure> {
    if let Some(parsed) = parse_fast(bytes) {
        return Ok(parsed);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Parsed = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| (e.path().to_string(), e.into_inner()))?;
    de.end().map_err(|e| (String::new(), e))?;
    Ok(parsed)
}

/// The first parse of [`parse_slice`]: `None` on any error.
fn parse_fast(bytes: &[u8]) -> Option<Parsed> {
    serde_json::from_str(std::str::from_utf8(bytes).ok()?).ok()
}

/// [`parse_slice`], on two threads for a large file (issue #5).
pub(super) fn parse_vec(bytes: Vec<u8>) -> Result<Parsed, ParseFailure> {
    if bytes.len() < PARALLEL_MIN_BYTES {
        return parse_slice(&bytes);
    }
    match parse_halves(bytes) {
        Ok(queue) => Ok(Parsed {
            queue,
            has_entries: true,
            entries_last: false,
        }),
        Err(bytes) => parse_slice(&bytes),
    }
}

/// A parsed document as a queue: no `entries` key is serde's "missing field" error.
pub(super) fn strict(parsed: Parsed) -> Result<Queue, ParseFailure> {
    if !parsed.has_entries {
        return Err((
            String::new(),
            <serde_json::Error as serde::de::Error>::missing_field("entries"),
        ));
    }
    Ok(parsed.queue)
}

/// Below this size one thread parses the whole file.
pub(super) const PARALLEL_MIN_BYTES: usize = 8 << 20;

/// The separator between two entries in the layout this crate (and Go) writes: entries are
/// objects at 4 spaces of indentation. A raw newline cannot occur inside a JSON string, so the
/// pattern only matches between entries.
const ENTRY_SEPARATOR: &[u8] = b"\n    },\n    {\n";

/// Parses a large queue on two threads by splitting the `entries` array at the first entry
/// boundary after the middle of the file (issues #5, #14), without copying either half:
///
/// - the head is closed by `]}` written over the `,\n` between the two entries, which makes
///   it a whole document;
/// - the tail becomes an array by a `[` written over the first space of its first entry's
///   indentation. It is read as one JSON value, and whatever follows the array (`}`, or more
///   top-level keys) is parsed as an object of its own.
///
/// Gives the buffer back, restored, when the file does not have the pretty layout or either
/// half fails to parse; the caller then parses sequentially, which also gives exact error
/// positions.
pub(super) fn parse_halves(mut bytes: Vec<u8>) -> Result<Queue, Vec<u8>> {
    let from = bytes.len() / 2;
    let Some(offset) = bytes[from..]
        .windows(ENTRY_SEPARATOR.len())
        .position(|w| w == ENTRY_SEPARATOR)
    else {
        return Err(bytes);
    };
    let head_end = from + offset + "\n    }".len();
    let tail_start = head_end + ",\n".len();
    bytes[head_end..tail_start].copy_from_slice(b"]}");
    bytes[tail_start] = b'[';
    let (head, tail) = bytes.split_at(tail_start);
    // Not `crate::join::join`: a half that fails in any way, a panic included, only means
    // the sequential parse decides.
    let (a, b) = std::thread::scope(|scope| {
        let b = scope.spawn(|| parse_tail(tail));
        // The array closed must be `entries`, not a top-level array of objects after it.
        let a = parse_fast(head)
            .filter(|p| p.has_entries && p.entries_last && !p.queue.entries.is_empty());
        (a, b.join().ok().flatten())
    });
    match (a, b) {
        (Some(Parsed { queue: mut a, .. }), Some((entries, rest))) => {
            // Free the file before the entry vectors are merged (peak memory).
            drop(bytes);
            a.entries.extend(entries);
            for (k, v) in rest {
                a.extra.insert(k, v);
            }
            Ok(a)
        }
        _ => {
            bytes[head_end..tail_start].copy_from_slice(b",\n");
            bytes[tail_start] = b' ';
            Err(bytes)
        }
    }
}

/// The tail of [`parse_halves`]: `[` + the remaining entries + `]`, then the rest of the top
/// level object, returned as its keys. The rest must hold nothing but keys this crate does
/// not know: a repeated `entries`, `schema_version` or `updated_at` gives `None`, so that the
/// sequential parse decides which one wins.
fn parse_tail(tail: &[u8]) -> Option<(Vec<QueueEntry>, Map<String, Value>)> {
    let text = std::str::from_utf8(tail).ok()?;
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Entries>();
    let entries = values.next()?.ok()?.0;
    let rest = text[values.byte_offset()..].trim_start();
    if let Some(end) = rest.strip_prefix('}') {
        return end.trim().is_empty().then_some((entries, Map::new()));
    }
    // `, "key": value ... }` becomes `{ "key": value ... }`.
    let rest = format!("{{{}", rest.strip_prefix(',')?);
    let keys: Map<String, Value> = serde_json::from_str(&rest).ok()?;
    let known = ["entries", "schema_version", "updated_at"];
    (!known.iter().any(|k| keys.contains_key(*k))).then_some((entries, keys))
}
