//! End-to-end tests of `publish`, `fetch` and `store health|consolidate|gc` (issue #7): the
//! real binary against a moto S3 server started per test on 127.0.0.1 (see
//! [`batch_testkit::moto`] for how it is found and when a test skips).
//! Assertions use the exit-code constants and check that no secret reaches the output.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use batch_generate::exit;
use batch_store::store::{MANIFEST_KEY, Store};
use batch_store::{Location, S3Settings, Secret, Sha256Hex, StoreConfig, Timeouts};
use batch_testkit::moto::{self, ACCESS_KEY, Moto, SECRET_KEY};
use batch_testkit::{Out, output_of, write_tree};

/// The binary with a clean environment: no AWS_*/BATCH_*/GITHUB_* variables but `env`.
fn command(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_batch-generate"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("BATCH_") || k.starts_with("GITHUB_") {
            c.env_remove(k);
        }
    }
    c.env("RUST_LOG", "debug")
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null());
    c
}

/// Runs the binary to its end; [`Out::code`] also asserts the secret key was never printed.
fn run(args: &[&str], env: &[(&str, String)]) -> Out {
    output_of(&mut command(args, env)).never_prints(SECRET_KEY)
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

struct Fixture {
    moto: Moto,
    tmp: tempfile::TempDir,
    url: String,
    bucket: String,
}

impl Fixture {
    fn new(test: &str, bucket: &str) -> Option<Self> {
        let moto = moto::start(test)?;
        moto.create_bucket(bucket);
        Some(Self {
            moto,
            tmp: tempfile::tempdir().expect("temp dir"),
            url: format!("s3://{bucket}/art"),
            bucket: bucket.to_owned(),
        })
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_env(args, &[])
    }

    /// `store gc --store <url> --keep-manifest manifest.json` plus `extra`.
    fn gc(&self, extra: &[&str]) -> Out {
        let mut args = vec![
            "store",
            "gc",
            "--store",
            &self.url,
            "--keep-manifest",
            MANIFEST_KEY,
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn run_env(&self, args: &[&str], extra: &[(&str, String)]) -> Out {
        let mut env = self.moto.env();
        env.extend(extra.iter().cloned());
        run(args, &env)
    }

    /// Overwrites `key` (relative to the `art` prefix) in the bucket directly, with the
    /// test credentials (moto refuses anonymous overwrites).
    fn damage(&self, key: &str, body: &'static [u8]) {
        let store = Store::open(&StoreConfig {
            location: Location::S3 {
                bucket: self.bucket.clone(),
                prefix: "art".into(),
            },
            s3: S3Settings {
                endpoint: Some(self.moto.endpoint.clone()),
                region: Some("us-east-1".into()),
                access_key_id: Some(ACCESS_KEY.into()),
                secret_access_key: Some(Secret::new(SECRET_KEY)),
                session_token: None,
            },
            timeouts: Timeouts::default(),
        })
        .expect("open the store");
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(store.put(
                key,
                bytes::Bytes::from_static(body),
                object_store::PutMode::Overwrite,
                object_store::Attributes::new(),
            ))
            .expect("overwrite the object");
    }
}

#[test]
fn publish_dedup_and_fetch_round_trip() {
    let Some(f) = Fixture::new("publish_dedup_and_fetch_round_trip", "cli-round") else {
        return;
    };
    let src = f.path("out/recipes");
    write_tree(
        &src,
        &[
            ("r/ripgrep.toml", "name = \"rg\"\n"),
            ("f/fd.toml", "name = \"fd\"\n"),
        ],
    );
    let out = f.run(&["publish", p(&src), "--store", &f.url]);
    out.code(exit::SUCCESS);
    assert!(
        out.stdout.contains("uploaded recipes/r/ripgrep.toml"),
        "{}",
        out.ctx()
    );
    assert!(
        out.stdout.contains("`manifest.json` updated"),
        "{}",
        out.ctx()
    );

    let again = f.run(&["publish", p(&src), "--store", &f.url, "--json"]);
    again.code(exit::SUCCESS);
    let doc: serde_json::Value = serde_json::from_str(&again.stdout).expect("JSON report");
    assert_eq!(doc["manifest"]["written"], false, "{}", again.ctx());
    assert!(
        doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["action"] == "existed")
    );

    let dest = f.path("fetched");
    let cache = f.path("cache");
    let got = f.run(&[
        "fetch",
        "recipes/r/ripgrep.toml",
        "recipes/f/fd.toml",
        "--store",
        &f.url,
        "--cache-dir",
        p(&cache),
        "--out",
        p(&dest),
    ]);
    got.code(exit::SUCCESS);
    assert_eq!(
        std::fs::read_to_string(dest.join("recipes/r/ripgrep.toml")).unwrap(),
        "name = \"rg\"\n"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("recipes/f/fd.toml")).unwrap(),
        "name = \"fd\"\n"
    );
    assert!(got.stdout.contains("from store"), "{}", got.ctx());
    let cached = f.run(&[
        "fetch",
        "recipes/r/ripgrep.toml",
        "--store",
        &f.url,
        "--cache-dir",
        p(&cache),
        "--out",
        p(&dest),
    ]);
    cached.code(exit::SUCCESS);
    assert!(cached.stdout.contains("from cache"), "{}", cached.ctx());

    let unknown = f.run(&[
        "fetch",
        "recipes/x.toml",
        "--store",
        &f.url,
        "--cache-dir",
        p(&cache),
        "--out",
        p(&dest),
    ]);
    unknown.code(exit::FAILURE);
    assert!(
        unknown.stderr.contains("is not in manifest"),
        "{}",
        unknown.ctx()
    );
}

/// Two `publish` processes started together on the same manifest: both succeed and both
/// entries are recorded (a lost conditional PUT is retried).
#[test]
fn concurrent_cli_publishers_lose_nothing() {
    let Some(f) = Fixture::new("concurrent_cli_publishers_lose_nothing", "cli-conc") else {
        return;
    };
    let mut children = Vec::new();
    for i in 0..3 {
        let d = f.path(&format!("job{i}/recipes"));
        write_tree(&d, &[(&format!("j/job{i}.toml"), &format!("job {i}"))]);
        let mut c = command(
            &["publish", p(&d), "--store", &f.url, "--json"],
            &f.moto.env(),
        );
        children.push(
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn"),
        );
    }
    let mut conflicts = 0;
    for c in children {
        let o = c.wait_with_output().expect("wait");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        conflicts += doc["manifest"]["conflicts"].as_u64().unwrap();
    }
    let dest = f.path("fetched");
    let got = f.run(&[
        "fetch",
        "recipes/j/job0.toml",
        "recipes/j/job1.toml",
        "recipes/j/job2.toml",
        "--store",
        &f.url,
        "--cache-dir",
        p(&f.path("cache")),
        "--out",
        p(&dest),
    ]);
    got.code(exit::SUCCESS);
    eprintln!("conflicts retried across the three publishers: {conflicts}");
}

#[test]
fn fragments_and_consolidate() {
    let Some(f) = Fixture::new("fragments_and_consolidate", "cli-frag") else {
        return;
    };
    for (run_id, name) in [
        ("2026-11-24-all-shard-1", "a"),
        ("2026-11-24-all-shard-2", "b"),
    ] {
        let d = f.path(&format!("{run_id}/recipes"));
        write_tree(&d, &[(&format!("{name}/{name}.toml"), name)]);
        f.run(&["publish", p(&d), "--store", &f.url, "--fragment", run_id])
            .code(exit::SUCCESS);
    }
    let c = f.run(&["store", "consolidate", "--store", &f.url]);
    c.code(exit::SUCCESS);
    assert!(
        c.stdout.contains("Consolidated 2 fragment(s)"),
        "{}",
        c.ctx()
    );
    assert!(c.stdout.contains("2 entries"), "{}", c.ctx());
    assert!(c.stdout.contains(": written"), "{}", c.ctx());
    let again = f.run(&["store", "consolidate", "--store", &f.url]);
    again.code(exit::SUCCESS);
    assert!(
        again.stdout.contains("already up to date"),
        "{}",
        again.ctx()
    );
    let bad = f.run(&[
        "publish",
        p(&f.path("x")),
        "--store",
        &f.url,
        "--fragment",
        "../evil",
    ]);
    bad.code(exit::FAILURE);
    assert!(bad.stderr.contains("invalid run id"), "{}", bad.ctx());
}

/// An object damaged in the store is refused: exit 1, nothing written to `--out`.
#[test]
fn corrupt_object_is_refused() {
    let Some(f) = Fixture::new("corrupt_object_is_refused", "cli-corrupt") else {
        return;
    };
    let src = f.path("recipes");
    write_tree(&src, &[("r/rg.toml", "the real recipe")]);
    f.run(&["publish", p(&src), "--store", &f.url])
        .code(exit::SUCCESS);
    let key = Store::object_key(&Sha256Hex::of(b"the real recipe"));
    f.damage(&key, b"tampered recipe");
    let dest = f.path("dest");
    let out = f.run(&[
        "fetch",
        "recipes/r/rg.toml",
        "--store",
        &f.url,
        "--cache-dir",
        p(&f.path("cache")),
        "--out",
        p(&dest),
    ]);
    out.code(exit::FAILURE);
    assert!(out.stderr.contains("is corrupt"), "{}", out.ctx());
    assert!(out.stderr.contains("hint:"), "{}", out.ctx());
    assert!(!dest.exists(), "nothing written\n{}", out.ctx());
}

/// `store health` exits 0 and writes healthy=true while moto runs; once it is stopped, exit
/// 4 within the --timeout with healthy=false, a fetch of a cached file succeeds with a
/// warning stating its age, and one of an uncached file exits 4.
#[test]
fn store_down_health_and_fetch_fallback() {
    let Some(mut f) = Fixture::new("store_down_health_and_fetch_fallback", "cli-down") else {
        return;
    };
    let src = f.path("recipes");
    write_tree(&src, &[("r/rg.toml", "rg"), ("f/fd.toml", "fd")]);
    f.run(&["publish", p(&src), "--store", &f.url])
        .code(exit::SUCCESS);
    let cache = f.path("cache");
    let dest = f.path("dest");
    f.run(&[
        "fetch",
        "recipes/r/rg.toml",
        "--store",
        &f.url,
        "--cache-dir",
        p(&cache),
        "--out",
        p(&dest),
    ])
    .code(exit::SUCCESS);
    let gh = f.path("github_output");
    let ghenv = [("GITHUB_OUTPUT", p(&gh).to_owned())];
    f.run_env(&["store", "health", "--store", &f.url], &ghenv)
        .code(exit::SUCCESS);
    assert_eq!(
        std::fs::read_to_string(&gh).unwrap(),
        "healthy=true\nreason=\n"
    );

    f.moto.stop();
    std::fs::remove_file(&gh).unwrap();
    let down = f.run_env(
        &["store", "health", "--store", &f.url, "--timeout", "5s"],
        &ghenv,
    );
    down.code(exit::STORE_UNREACHABLE);
    assert!(
        down.elapsed < Duration::from_secs(5 + 3),
        "{:?}\n{}",
        down.elapsed,
        down.ctx()
    );
    let text = std::fs::read_to_string(&gh).unwrap();
    assert!(
        text.starts_with("healthy=false\nreason=store request LIST"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 2, "single-line values: {text}");

    std::fs::remove_dir_all(&dest).unwrap();
    let stale = f.run(&[
        "fetch",
        "recipes/r/rg.toml",
        "--store",
        &f.url,
        "--cache-dir",
        p(&cache),
        "--out",
        p(&dest),
    ]);
    stale.code(exit::SUCCESS);
    assert_eq!(
        std::fs::read_to_string(dest.join("recipes/r/rg.toml")).unwrap(),
        "rg"
    );
    assert!(
        stale.stderr.contains("WARN") && stale.stderr.contains("unreachable"),
        "{}",
        stale.ctx()
    );
    assert!(
        stale.stderr.contains("fetched from the store") && stale.stderr.contains(" ago"),
        "{}",
        stale.ctx()
    );

    let missing = f.run(&[
        "fetch",
        "recipes/f/fd.toml",
        "--store",
        &f.url,
        "--cache-dir",
        p(&cache),
        "--out",
        p(&dest),
    ]);
    missing.code(exit::STORE_UNREACHABLE);
    assert!(
        missing.stderr.contains("is not in the cache"),
        "{}",
        missing.ctx()
    );
}

/// GC through the CLI: inside the grace window nothing goes; with a zero window the dry run
/// lists the one unreferenced object and deletes nothing; a kept manifest that does not
/// exist stops everything; the real run deletes only that object.
#[test]
fn gc_dry_run_grace_and_refusal() {
    let Some(f) = Fixture::new("gc_dry_run_grace_and_refusal", "cli-gc") else {
        return;
    };
    let (v1, v2) = (f.path("v1/recipes"), f.path("v2/recipes"));
    write_tree(&v1, &[("r/rg.toml", "rg one"), ("f/fd.toml", "fd")]);
    write_tree(&v2, &[("r/rg.toml", "rg two")]);
    f.run(&["publish", p(&v1), "--store", &f.url])
        .code(exit::SUCCESS);
    f.run(&["publish", p(&v2), "--store", &f.url])
        .code(exit::SUCCESS);
    let orphan = Store::object_key(&Sha256Hex::of(b"rg one"));

    let kept = f.gc(&[]);
    kept.code(exit::SUCCESS);
    assert!(
        kept.stdout.contains("1 inside the grace window, 0 deleted"),
        "{}",
        kept.ctx()
    );

    let dry = f.gc(&["--grace", "0s", "--dry-run"]);
    dry.code(exit::SUCCESS);
    assert!(
        dry.stdout.contains(&format!("would delete {orphan}")),
        "{}",
        dry.ctx()
    );
    assert!(
        dry.stdout.contains("1 would delete (dry run)"),
        "{}",
        dry.ctx()
    );

    let refused = f.gc(&["--keep-manifest", "manifests/missing.json", "--grace", "0s"]);
    refused.code(exit::FAILURE);
    assert!(
        refused.stderr.contains("does not exist"),
        "{}",
        refused.ctx()
    );

    let real = f.gc(&["--grace", "0s"]);
    real.code(exit::SUCCESS);
    assert!(
        real.stdout.contains(&format!("deleted {orphan}")),
        "{}",
        real.ctx()
    );
    let dest = f.path("dest");
    f.run(&[
        "fetch",
        "recipes/r/rg.toml",
        "recipes/f/fd.toml",
        "--store",
        &f.url,
        "--cache-dir",
        p(&f.path("cache")),
        "--out",
        p(&dest),
    ])
    .code(exit::SUCCESS);
    assert_eq!(
        std::fs::read_to_string(dest.join("recipes/r/rg.toml")).unwrap(),
        "rg two"
    );
}

#[test]
fn usage_errors_and_missing_credentials() {
    for bad in [
        &["publish"][..],
        &["publish", "dir"],
        &[
            "fetch",
            "--store",
            "s3://b",
            "--cache-dir",
            "c",
            "--out",
            "o",
        ],
        &["store", "gc", "--store", "s3://b"],
        &[
            "store",
            "gc",
            "--store",
            "s3://b",
            "--keep-manifest",
            "m",
            "--grace",
            "1mo",
        ],
        &["store", "health", "--store", "s3://b", "--timeout", "soon"],
    ] {
        run(bad, &[]).code(exit::USAGE);
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = run(
        &["publish", p(tmp.path()), "--store", "s3://bucket/x"],
        &[("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned())],
    );
    out.code(exit::FAILURE);
    assert!(out.stderr.contains("no S3 credentials"), "{}", out.ctx());
    let out = run(&["publish", p(tmp.path()), "--store", "gs://bucket"], &[]);
    out.code(exit::FAILURE);
    assert!(
        out.stderr.contains("invalid store location"),
        "{}",
        out.ctx()
    );
}
