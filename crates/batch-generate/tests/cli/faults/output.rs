//! `--max-output` bounds what is kept of a generator's output: a generator writing 1 GiB to
//! stdout must not make the run hold 1 GiB (the Go tool buffered all of it).

use std::ffi::OsString;
use std::path::Path;

use crate::util::{RUN_LIMIT, entry, isolated};

const MIB: u64 = 1 << 20;
/// Peak RSS allowed for a run whose generator writes 1 GiB.
const LIMIT: u64 = 64 * MIB;

/// `VmHWM` (peak resident set) of a process in bytes.
fn vm_hwm(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn one_gib_of_generator_output_keeps_memory_bounded() {
    let mut sb = isolated("spew");
    sb.write_queue(&[entry("spew-1", "homebrew:spew-1", 1)]);
    sb.set_rules(&[("spew-*", "spew:1024")]);

    // GNU time reports the binary's own peak RSS (wait4), unaffected by the other tests of
    // this process; without it, poll the binary's VmHWM (a high-water mark) while it runs.
    let time = Path::new("/usr/bin/time");
    let time_out = sb.logs.join("time-maxrss");
    let (out, peak, method) = if time.exists() {
        let prefix: Vec<OsString> = vec![
            time.into(),
            "-o".into(),
            time_out.clone().into(),
            "-f".into(),
            "%M".into(),
        ];
        let cmd = sb.command(&prefix, &[], &[]);
        let out = sb.spawn_cmd("spew", cmd).wait(RUN_LIMIT);
        let text = std::fs::read_to_string(&time_out).unwrap_or_default();
        let kb: u64 = text
            .lines()
            .rev()
            .find_map(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("no max RSS from /usr/bin/time: {text:?}\n{}", out.ctx()));
        (out, kb * 1024, "/usr/bin/time %M")
    } else {
        let mut run = sb.spawn("spew", &[], &[]);
        let pid = run.pid();
        let mut peak = 0;
        let out = run.wait_observing(RUN_LIMIT, || {
            if let Some(v) = vm_hwm(pid) {
                peak = peak.max(v);
            }
        });
        (out, peak, "VmHWM polled every 20 ms")
    };
    out.code(0);
    eprintln!(
        "1 GiB output: peak RSS {:.1} MiB ({method}), run took {:?}",
        peak as f64 / MIB as f64,
        out.elapsed
    );
    let e = sb.entry("spew-1");
    assert_eq!(e["status"], "success", "{e}\n{}", out.ctx());
    assert!(
        sb.output.join("s/spew-1.toml").exists(),
        "the recipe of the spewing entry is kept"
    );
    assert!(
        peak > MIB,
        "implausible peak RSS {peak} bytes: the measurement failed"
    );
    assert!(
        peak < LIMIT,
        "peak RSS {:.1} MiB >= 64 MiB while the generator wrote 1 GiB (max-output is 1 MiB per stream)",
        peak as f64 / MIB as f64
    );
}
