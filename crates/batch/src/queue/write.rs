//! The queue's save path (issue #14): the file is rendered straight into byte buffers instead
//! of through serde's formatter, and a large queue is rendered on two threads.
//!
//! The output is byte-for-byte what [`jsonfmt::to_pretty`] gives for the queue's serde
//! implementation (Go's `json.MarshalIndent(v, "", "  ")` with its HTML-safe escapes, spec
//! §1.10); the tests check the two against each other on generated queues. Serde's formatter
//! costs one call per token, scans every string twice (its own escapes, then Go's) and prints
//! timestamps through `fmt`; on a 1M-entry queue that was about 2 s of a 2.5 s save.
//!
//! Unknown keys (`extra`) are rare; their values still go through serde and are re-indented.

use std::io::{self, Write};
use std::sync::mpsc;

use serde_json::Value;

use super::entry::QueueEntry;
use super::file::Queue;
use crate::records::jsonfmt;
use crate::records::timestamp::Rfc3339;

/// Entries rendered per buffer (about 2.5 MiB of JSON for typical entries).
const CHUNK_ENTRIES: usize = 8192;

/// The single-thread path writes its buffer out when it holds this many bytes.
const FLUSH_BYTES: usize = 48 << 10;

/// Below this many entries one thread renders the whole file.
const PARALLEL_MIN_ENTRIES: usize = 4 * CHUNK_ENTRIES;

/// Indentation of an entry's keys: the entries are objects inside the top-level `entries`
/// array, so their keys sit at depth 3.
const KEY_INDENT: &[u8] = b"\n      \"";

/// Writes `queue` with `updated_at` to `w`, ending with a newline. Large queues are rendered
/// on two threads, chunk by chunk, and written in order; at most three chunks are in memory
/// at once.
///
/// # Errors
/// Only write errors of `w`.
pub(super) fn write_queue<W: Write>(w: &mut W, queue: &Queue, updated_at: &str) -> io::Result<()> {
    let mut buf = Vec::with_capacity(FLUSH_BYTES + (16 << 10));
    buf.extend_from_slice(b"{\n  \"schema_version\": ");
    buf.extend_from_slice(itoa::Buffer::new().format(queue.schema_version).as_bytes());
    buf.extend_from_slice(b",\n  \"updated_at\": ");
    push_str(&mut buf, updated_at);
    buf.extend_from_slice(b",\n  \"entries\": [");
    if queue.entries.len() < PARALLEL_MIN_ENTRIES {
        for (i, e) in queue.entries.iter().enumerate() {
            push_entry(&mut buf, e, i == 0);
            // Written as it fills, so the file is never held in memory whole.
            if buf.len() >= FLUSH_BYTES {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
    } else {
        w.write_all(&buf)?;
        buf.clear();
        write_chunks_parallel(w, &queue.entries)?;
    }
    if queue.entries.is_empty() {
        buf.push(b']');
    } else {
        buf.extend_from_slice(b"\n  ]");
    }
    push_extra(&mut buf, &queue.extra, b"\n  \"");
    buf.extend_from_slice(b"\n}\n");
    w.write_all(&buf)
}

/// The whole file in memory ([`write_queue`] into a vector).
pub(super) fn queue_bytes(queue: &Queue, updated_at: &str) -> Vec<u8> {
    let mut out = Vec::new();
    write_queue(&mut out, queue, updated_at).expect("writing to a vector cannot fail");
    out
}

/// Renders the entries in chunks: this thread renders the even chunks and writes every chunk
/// in order; a helper renders the odd ones and hands each over through a channel of one slot,
/// so it works one chunk ahead at most. Emptied buffers go back to the helper for reuse. If a
/// write fails, dropping the receiver stops the helper at its next send.
fn write_chunks_parallel<W: Write>(w: &mut W, entries: &[QueueEntry]) -> io::Result<()> {
    let chunks: Vec<&[QueueEntry]> = entries.chunks(CHUNK_ENTRIES).collect();
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = mpsc::sync_channel::<Vec<u8>>(1);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
        let odd: Vec<&[QueueEntry]> = chunks.iter().skip(1).step_by(2).copied().collect();
        scope.spawn(move || {
            for chunk in odd {
                let mut buf = empty_rx.try_recv().unwrap_or_default();
                render(&mut buf, chunk, false);
                if full_tx.send(buf).is_err() {
                    return;
                }
            }
        });
        let mut own = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            if i % 2 == 0 {
                own.clear();
                render(&mut own, chunk, i == 0);
                w.write_all(&own)?;
            } else {
                let mut theirs = full_rx
                    .recv()
                    .map_err(|_| io::Error::other("the queue writer's helper thread stopped"))?;
                w.write_all(&theirs)?;
                theirs.clear();
                // The helper may have finished already; then the buffer is simply dropped.
                let _ = empty_tx.send(theirs);
            }
        }
        Ok(())
    })
}

/// Renders `entries` into `buf`; `first` when they start the array.
fn render(buf: &mut Vec<u8>, entries: &[QueueEntry], first: bool) {
    for (i, e) in entries.iter().enumerate() {
        push_entry(buf, e, first && i == 0);
    }
}

/// Appends one entry at depth 2, preceded by `,` unless it is the first.
fn push_entry(buf: &mut Vec<u8>, e: &QueueEntry, first: bool) {
    buf.extend_from_slice(if first { b"\n    {" } else { b",\n    {" });
    // `,` + newline + indentation + `"key": ` before every key but the first.
    let key = |buf: &mut Vec<u8>, k: &[u8]| {
        buf.push(b',');
        buf.extend_from_slice(KEY_INDENT);
        buf.extend_from_slice(k);
    };
    let mut int = itoa::Buffer::new();
    buf.extend_from_slice(KEY_INDENT);
    buf.extend_from_slice(b"name\": ");
    push_str(buf, &e.name);
    key(buf, b"source\": ");
    push_str(buf, &e.source);
    key(buf, b"priority\": ");
    buf.extend_from_slice(int.format(e.priority).as_bytes());
    key(buf, b"status\": ");
    push_str(buf, e.status.as_str());
    key(buf, b"confidence\": ");
    push_str(buf, &e.confidence);
    key(buf, b"disambiguated_at\": ");
    push_time(buf, e.disambiguated_at.as_ref());
    key(buf, b"failure_count\": ");
    buf.extend_from_slice(int.format(e.failure_count).as_bytes());
    key(buf, b"next_retry_at\": ");
    push_time(buf, e.next_retry_at.as_ref());
    push_extra(buf, &e.extra, KEY_INDENT);
    buf.extend_from_slice(b"\n    }");
}

/// Appends `, <indent>"key": value` for each unknown key. `key_start` is the newline, the
/// indentation and the opening quote; nested lines of a value are indented to match.
fn push_extra<'a>(
    buf: &mut Vec<u8>,
    extra: impl IntoIterator<Item = (&'a String, &'a Value)>,
    key_start: &[u8],
) {
    for (k, v) in extra {
        buf.push(b',');
        buf.extend_from_slice(key_start);
        push_str_contents(buf, k);
        buf.extend_from_slice(b"\": ");
        let indent = &key_start[..key_start.len() - 1];
        let mut value = jsonfmt::to_pretty(v).expect("JSON values always serialise");
        value.pop(); // to_pretty's trailing newline
        // A raw newline cannot occur inside a JSON string, so every newline starts a line.
        for (i, line) in value.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                buf.extend_from_slice(indent);
            }
            buf.extend_from_slice(line);
        }
    }
}

fn push_time(buf: &mut Vec<u8>, t: Option<&Rfc3339>) {
    match t {
        None => buf.extend_from_slice(b"null"),
        Some(t) => {
            buf.push(b'"');
            t.push_to(buf);
            buf.push(b'"');
        }
    }
}

/// Appends `s` as a JSON string with serde_json's escapes plus Go's (see [`push_str_contents`]).
fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    push_str_contents(buf, s);
    buf.push(b'"');
}

/// What a byte needs inside a JSON string: 0 nothing, `u` a `\u00XX` escape, `h` one of Go's
/// HTML escapes (`<`, `>`, `&`), `e` a possible U+2028/U+2029 (Go escapes both), anything else
/// the letter of a short escape (`\"`, `\\`, `\n`, ...).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0A] = b'n';
    t[0x0C] = b'f';
    t[0x0D] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'<' as usize] = b'h';
    t[b'>' as usize] = b'h';
    t[b'&' as usize] = b'h';
    t[0xE2] = b'e';
    t
};

/// Appends the escaped contents of `s` (no quotes): serde_json's escapes (`\"`, `\\`, `\b`,
/// `\f`, `\n`, `\r`, `\t`, other control bytes as lowercase `\u00xx`) and Go's `\u003c`,
/// `\u003e`, `\u0026`, `\u2028`, `\u2029` (spec §1.10).
fn push_str_contents(buf: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let kind = ESCAPE[b as usize];
        if kind == 0 {
            i += 1;
            continue;
        }
        let len = match kind {
            b'e' => match bytes.get(i + 1..i + 3) {
                Some([0x80, 0xA8 | 0xA9]) => 3,
                _ => {
                    i += 1;
                    continue;
                }
            },
            _ => 1,
        };
        buf.extend_from_slice(&bytes[start..i]);
        match kind {
            b'u' => buf.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xF)],
            ]),
            b'h' => buf.extend_from_slice(match b {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                _ => b"\\u0026",
            }),
            b'e' => buf.extend_from_slice(if bytes[i + 2] == 0xA8 {
                b"\\u2028"
            } else {
                b"\\u2029"
            }),
            short => buf.extend_from_slice(&[b'\\', short]),
        }
        i += len;
        start = i;
    }
    buf.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
