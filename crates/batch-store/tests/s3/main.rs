//! The artifact store against a real S3-compatible server (moto, started per test on
//! 127.0.0.1; see [`batch_testkit::moto`] for how it is found and when a test skips). Covers
//! issue #7's list: upload + verify, dedup, concurrent publishers on one manifest (412 retried),
//! fragments + consolidate, corrupt downloads refused, store down (health within its limit,
//! fetch from the cache with a warning), and GC's references and grace window.

mod read;
mod util;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use batch_base::clock::{Clock as _, FixedClock};
use batch_store::consolidate::consolidate;
use batch_store::gc::{GcOptions, gc};
use batch_store::manifest::Manifest;
use batch_store::publish::{ObjectAction, PublishOptions, publish};
use batch_store::store::{MANIFEST_KEY, Store};
use batch_store::update::load;
use batch_store::{Sha256Hex, StoreError};
use batch_testkit::moto;
use batch_testkit::write_tree;
use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};
use object_store::{Attribute, Attributes, PutMode, UpdateVersion};

use crate::util::{Gate, s3_store};

fn now_clock() -> FixedClock {
    FixedClock::new(Timestamp::now())
}

async fn manifest(store: &Store) -> Manifest {
    load(store, MANIFEST_KEY)
        .await
        .expect("manifest loads")
        .expect("manifest exists")
        .0
}

/// Upload and verify, metadata on the objects, then dedup: the second publish uploads
/// nothing and does not rewrite the manifest (same ETag).
#[tokio::test]
async fn upload_verify_metadata_and_dedup() {
    let Some(moto) = moto::start("upload_verify_metadata_and_dedup") else {
        return;
    };
    let store = s3_store(&moto, "bkt-upload", "artifacts/v1");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("recipes");
    write_tree(
        &src,
        &[
            ("r/ripgrep.toml", "[metadata]\nname = \"ripgrep\"\n"),
            ("f/fd.toml", "[metadata]\nname = \"fd\"\n"),
            ("f/fd-copy.toml", "[metadata]\nname = \"fd\"\n"),
        ],
    );
    let clock = now_clock();
    let r = publish(&store, &src, &PublishOptions::default(), &clock)
        .await
        .unwrap();
    assert_eq!(r.files.len(), 3);
    let m = r.manifest.unwrap();
    assert!(m.written && m.attempts == 1 && m.conflicts == 0, "{m:?}");

    let objects = store.list("sha256/").await.unwrap();
    assert_eq!(
        objects.len(),
        2,
        "identical content is stored once: {objects:?}"
    );
    let m = manifest(&store).await;
    let rg = &m.entries["recipes/r/ripgrep.toml"];
    assert_eq!(rg.recipe.as_deref(), Some("ripgrep"));
    assert_eq!(rg.category.as_deref(), Some("recipe"));
    assert_eq!(
        rg.sha256,
        Sha256Hex::of(b"[metadata]\nname = \"ripgrep\"\n")
    );
    assert_eq!(
        m.entries["recipes/f/fd.toml"].sha256,
        m.entries["recipes/f/fd-copy.toml"].sha256
    );
    // The object carries its metadata (x-amz-meta-*).
    let obj = store
        .get(&Store::object_key(&rg.sha256))
        .await
        .unwrap()
        .unwrap();
    let meta = |k: &'static str| {
        obj.attributes
            .get(&Attribute::Metadata(k.into()))
            .map(|v| v.as_ref().to_owned())
    };
    assert_eq!(meta("sha256").as_deref(), Some(rg.sha256.as_str()));
    assert_eq!(
        meta("logical-path").as_deref(),
        Some("recipes/r/ripgrep.toml")
    );
    assert_eq!(meta("size").as_deref(), Some(rg.size.to_string().as_str()));
    assert_eq!(meta("recipe").as_deref(), Some("ripgrep"));

    let etag_before = store.get(MANIFEST_KEY).await.unwrap().unwrap().version;
    let again = publish(&store, &src, &PublishOptions::default(), &clock)
        .await
        .unwrap();
    assert!(
        again
            .files
            .iter()
            .all(|f| f.action == ObjectAction::Existed),
        "{again:?}"
    );
    assert!(
        !again.manifest.unwrap().written,
        "nothing but generated_at would change"
    );
    let etag_after = store.get(MANIFEST_KEY).await.unwrap().unwrap().version;
    assert_eq!(etag_before, etag_after, "the manifest was not rewritten");
}

/// moto enforces the preconditions this design relies on: `If-None-Match: *` on an existing
/// key and `If-Match` with a stale ETag both fail (412), and object_store reports them as
/// `AlreadyExists` and `Precondition`.
#[tokio::test]
async fn moto_honours_conditional_put() {
    let Some(moto) = moto::start("moto_honours_conditional_put") else {
        return;
    };
    let store = s3_store(&moto, "bkt-cond", "");
    let first = store
        .put(
            "k",
            Bytes::from_static(b"one"),
            PutMode::Create,
            Attributes::new(),
        )
        .await
        .unwrap();
    let err = store
        .put(
            "k",
            Bytes::from_static(b"two"),
            PutMode::Create,
            Attributes::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Request {
                source: object_store::Error::AlreadyExists { .. },
                ..
            }
        ),
        "{err:?}"
    );
    let v1 = UpdateVersion::from(first);
    let second = store
        .put(
            "k",
            Bytes::from_static(b"two"),
            PutMode::Update(v1.clone()),
            Attributes::new(),
        )
        .await
        .unwrap();
    let stale = store
        .put(
            "k",
            Bytes::from_static(b"three"),
            PutMode::Update(v1),
            Attributes::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &stale,
            StoreError::Request {
                source: object_store::Error::Precondition { .. },
                ..
            }
        ),
        "{stale:?}"
    );
    assert_ne!(second.e_tag, None);
    assert_eq!(&store.get("k").await.unwrap().unwrap().bytes[..], b"two");
}

/// Two publishers read the same manifest version (forced by a barrier in front of their
/// first conditional write), so exactly one conditional PUT loses with 412 and is retried;
/// no entry is lost. Done twice: when the manifest is absent (both `If-None-Match: *`) and
/// when it exists (both `If-Match` on one ETag).
#[tokio::test]
async fn two_publishers_race_and_neither_entry_is_lost() {
    let Some(moto) = moto::start("two_publishers_race_and_neither_entry_is_lost") else {
        return;
    };
    moto.create_bucket("bkt-race");
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let a = Gate::store(&moto, "bkt-race", "p", barrier.clone());
        let b = Gate::store(&moto, "bkt-race", "p", barrier);
        let (da, db) = (
            tmp.path().join(format!("a{round}")),
            tmp.path().join(format!("b{round}")),
        );
        write_tree(&da, &[(&format!("r/a{round}.toml"), &format!("a {round}"))]);
        write_tree(&db, &[(&format!("r/b{round}.toml"), &format!("b {round}"))]);
        let opts = PublishOptions {
            logical_prefix: Some("recipes".into()),
            ..PublishOptions::default()
        };
        let clock = now_clock();
        let (ra, rb) = tokio::join!(
            publish(&a, &da, &opts, &clock),
            publish(&b, &db, &opts, &clock)
        );
        let (ma, mb) = (ra.unwrap().manifest.unwrap(), rb.unwrap().manifest.unwrap());
        assert_eq!(
            ma.conflicts + mb.conflicts,
            1,
            "round {round}: {ma:?} {mb:?}"
        );
        assert!(ma.written && mb.written);
        assert_eq!(ma.attempts + mb.attempts, 3);
    }
    let m = manifest(&s3_store_no_create(&moto, "bkt-race", "p")).await;
    let keys: Vec<&str> = m.entries.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "recipes/r/a0.toml",
            "recipes/r/a1.toml",
            "recipes/r/b0.toml",
            "recipes/r/b1.toml"
        ]
    );
}

fn s3_store_no_create(moto: &moto::Moto, bucket: &str, prefix: &str) -> Store {
    util::open(moto, bucket, prefix)
}

/// Four publishers at once with no barrier: whatever the interleaving, every entry is there.
#[tokio::test]
async fn concurrent_publishers_keep_every_entry() {
    let Some(moto) = moto::start("concurrent_publishers_keep_every_entry") else {
        return;
    };
    let store = s3_store(&moto, "bkt-conc", "x");
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for i in 0..4 {
        let d = tmp.path().join(format!("d{i}"));
        write_tree(
            &d,
            &[
                (&format!("p{i}/one.toml"), &format!("{i} one")),
                (&format!("p{i}/two.toml"), &format!("{i} two")),
            ],
        );
        dirs.push(d);
    }
    let clock = now_clock();
    let opts = PublishOptions {
        logical_prefix: Some("recipes".into()),
        ..PublishOptions::default()
    };
    let results =
        futures::future::join_all(dirs.iter().map(|d| publish(&store, d, &opts, &clock))).await;
    let conflicts: u32 = results
        .into_iter()
        .map(|r| r.unwrap().manifest.unwrap().conflicts)
        .sum();
    let m = manifest(&store).await;
    assert_eq!(m.entries.len(), 8, "{m:?} (conflicts retried: {conflicts})");
}

/// Fragments from two runs disagree on one path; consolidation keeps the later one, is
/// idempotent (no second write), and gives the same bytes when the fragments were written
/// in the other order to another bucket.
#[tokio::test]
async fn fragments_consolidate_deterministically() {
    let Some(moto) = moto::start("fragments_consolidate_deterministically") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (d1, d2) = (tmp.path().join("run1"), tmp.path().join("run2"));
    write_tree(&d1, &[("r/rg.toml", "rg v1"), ("a/age.toml", "age")]);
    write_tree(&d2, &[("r/rg.toml", "rg v2"), ("b/bat.toml", "bat")]);
    let t1: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
    let t2: Timestamp = "2026-11-24T11:00:00Z".parse().unwrap();
    let frag = |id: &str| PublishOptions {
        logical_prefix: Some("recipes".into()),
        fragment: Some(id.into()),
        ..PublishOptions::default()
    };

    let mut bytes = Vec::new();
    for (bucket, order) in [("bkt-frag-one", [0, 1]), ("bkt-frag-two", [1, 0])] {
        let store = s3_store(&moto, bucket, "");
        for i in order {
            let (dir, id, t) = [(&d1, "run-1", t1), (&d2, "run-2", t2)][i];
            let r = publish(&store, dir, &frag(id), &FixedClock::new(t))
                .await
                .unwrap();
            assert_eq!(
                r.manifest.unwrap().key,
                format!("manifests/fragments/{id}.json")
            );
        }
        assert!(
            load(&store, MANIFEST_KEY).await.unwrap().is_none(),
            "fragments only"
        );
        let c = consolidate(&store, &Default::default(), false)
            .await
            .unwrap();
        assert_eq!(c.fragments.len(), 2);
        assert_eq!(c.entries, 3);
        assert_eq!(c.conflicts.len(), 1);
        assert_eq!(c.conflicts[0].path, "recipes/r/rg.toml");
        assert_eq!(
            c.conflicts[0].winner,
            Sha256Hex::of(b"rg v2"),
            "later published_at wins"
        );
        assert!(c.manifest.written);
        let again = consolidate(&store, &Default::default(), false)
            .await
            .unwrap();
        assert!(!again.manifest.written, "idempotent");
        bytes.push(store.get(MANIFEST_KEY).await.unwrap().unwrap().bytes);

        let pruned = consolidate(&store, &Default::default(), true)
            .await
            .unwrap();
        assert_eq!(pruned.pruned.len(), 2);
        assert!(store.list("manifests/fragments/").await.unwrap().is_empty());
    }
    assert_eq!(bytes[0], bytes[1], "same manifest bytes whatever the order");
}

/// GC deletes only unreferenced objects older than the grace window, keeps every object any
/// kept manifest (or pending fragment) references, and refuses to delete anything while a
/// kept manifest does not load.
#[tokio::test]
async fn gc_keeps_references_and_respects_grace() {
    let Some(moto) = moto::start("gc_keeps_references_and_respects_grace") else {
        return;
    };
    let store = s3_store(&moto, "bkt-gc", "");
    let tmp = tempfile::tempdir().unwrap();
    let (v1, v2, f) = (
        tmp.path().join("v1"),
        tmp.path().join("v2"),
        tmp.path().join("f"),
    );
    write_tree(&v1, &[("r/rg.toml", "rg 1"), ("f/fd.toml", "fd")]);
    write_tree(&v2, &[("r/rg.toml", "rg 2")]);
    write_tree(&f, &[("p/pending.toml", "pending")]);
    let clock = now_clock();
    let opts = PublishOptions {
        logical_prefix: Some("recipes".into()),
        ..PublishOptions::default()
    };
    publish(&store, &v1, &opts, &clock).await.unwrap();
    publish(&store, &v2, &opts, &clock).await.unwrap();
    let frag = PublishOptions {
        fragment: Some("run-9".into()),
        ..opts.clone()
    };
    publish(&store, &f, &frag, &clock).await.unwrap();
    // One unreferenced object ("rg 1"), three referenced ones.
    assert_eq!(store.list("sha256/").await.unwrap().len(), 4);
    let orphan = Store::object_key(&Sha256Hex::of(b"rg 1"));
    let gc_opts = |dry_run| GcOptions {
        keep_manifests: vec![MANIFEST_KEY.into()],
        include_fragments: true,
        grace: Duration::from_secs(90 * 86400),
        dry_run,
    };

    // Now: everything is inside the grace window.
    let r = gc(&store, &gc_opts(false), &clock).await.unwrap();
    assert!(r.deleted.is_empty() && r.plan.victims.is_empty(), "{r:?}");
    assert_eq!((r.plan.referenced, r.plan.in_grace), (3, 1));

    // 91 days later: the dry run lists only the orphan and deletes nothing.
    let later = FixedClock::new(clock.now() + SignedDuration::from_hours(91 * 24));
    let dry = gc(&store, &gc_opts(true), &later).await.unwrap();
    assert_eq!(
        dry.plan
            .victims
            .iter()
            .map(|v| v.key.as_str())
            .collect::<Vec<_>>(),
        [orphan.as_str()]
    );
    assert!(dry.deleted.is_empty());
    assert_eq!(store.list("sha256/").await.unwrap().len(), 4);

    // A kept manifest that does not load stops everything.
    store
        .put(
            "manifests/old.json",
            Bytes::from_static(b"{oops"),
            PutMode::Overwrite,
            Attributes::new(),
        )
        .await
        .unwrap();
    let mut bad = gc_opts(false);
    bad.keep_manifests.push("manifests/old.json".into());
    let err = gc(&store, &bad, &later).await.unwrap_err();
    assert!(matches!(err, StoreError::ManifestParse { .. }), "{err:?}");
    let mut missing = gc_opts(false);
    missing.keep_manifests.push("manifests/none.json".into());
    let err = gc(&store, &missing, &later).await.unwrap_err();
    assert!(matches!(err, StoreError::ManifestMissing { .. }), "{err:?}");
    assert_eq!(
        store.list("sha256/").await.unwrap().len(),
        4,
        "nothing deleted"
    );

    let real = gc(&store, &gc_opts(false), &later).await.unwrap();
    assert_eq!(real.deleted, std::slice::from_ref(&orphan));
    let left: BTreeSet<String> = store
        .list("sha256/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    let m = manifest(&store).await;
    for e in m.entries.values() {
        assert!(
            left.contains(&Store::object_key(&e.sha256)),
            "manifest object kept"
        );
    }
    assert!(
        left.contains(&Store::object_key(&Sha256Hex::of(b"pending"))),
        "fragment object kept"
    );
}
