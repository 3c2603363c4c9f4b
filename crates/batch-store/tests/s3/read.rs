//! Reading from the store: corrupt downloads refused, the store down (health within its
//! limit, fetch from the cache with a warning), and a hanging server.

use std::time::{Duration, Instant};

use batch_base::clock::Clock as _;
use batch_store::cache::Cache;
use batch_store::fetch::{FetchOptions, Source, fetch};
use batch_store::health::{HealthOptions, probe};
use batch_store::publish::{PublishOptions, publish};
use batch_store::store::{MANIFEST_KEY, Store};
use batch_store::{Sha256Hex, StoreError};
use batch_testkit::moto;
use batch_testkit::write_tree;
use bytes::Bytes;
use jiff::SignedDuration;
use object_store::{Attributes, PutMode};

use crate::now_clock;
use crate::util::s3_store;

fn fetch_opts(out: &std::path::Path, paths: &[&str]) -> FetchOptions {
    FetchOptions {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        out: out.to_path_buf(),
        manifest_key: MANIFEST_KEY.into(),
        timeout: Duration::from_secs(20),
    }
}

/// A fetch through an empty cache downloads and verifies; after the object is corrupted in
/// the store, a fetch with a fresh cache refuses it (nothing written, nothing cached); a
/// corrupt cache entry is discarded and downloaded again.
#[tokio::test]
async fn corrupt_downloads_are_refused() {
    let Some(moto) = moto::start("corrupt_downloads_are_refused") else {
        return;
    };
    let store = s3_store(&moto, "bkt-corrupt", "");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("recipes");
    write_tree(
        &src,
        &[("r/rg.toml", "good bytes"), ("f/fd.toml", "fd bytes")],
    );
    let clock = now_clock();
    publish(&store, &src, &PublishOptions::default(), &clock)
        .await
        .unwrap();

    let out = tmp.path().join("out");
    let mut cache = Cache::open(&tmp.path().join("cache"), 1 << 20).unwrap();
    let r = fetch(
        &store,
        &mut cache,
        &fetch_opts(&out, &["recipes/r/rg.toml"]),
        &clock,
    )
    .await
    .unwrap();
    assert_eq!(r.files[0].source, Source::Store);
    assert_eq!(
        std::fs::read(out.join("recipes/r/rg.toml")).unwrap(),
        b"good bytes"
    );

    // A cached copy tampered with on disk is discarded and fetched again.
    let good = Sha256Hex::of(b"good bytes");
    std::fs::write(tmp.path().join("cache/objects").join(good.as_str()), "bad").unwrap();
    let r = fetch(
        &store,
        &mut cache,
        &fetch_opts(&out, &["recipes/r/rg.toml"]),
        &clock,
    )
    .await
    .unwrap();
    assert_eq!(r.files[0].source, Source::Store);

    // Corrupt the object in the store itself.
    store
        .put(
            &Store::object_key(&good),
            Bytes::from_static(b"evil bytes"),
            PutMode::Overwrite,
            Attributes::new(),
        )
        .await
        .unwrap();
    let out2 = tmp.path().join("out2");
    let mut fresh = Cache::open(&tmp.path().join("cache2"), 1 << 20).unwrap();
    let err = fetch(
        &store,
        &mut fresh,
        &fetch_opts(&out2, &["recipes/f/fd.toml", "recipes/r/rg.toml"]),
        &clock,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { expected, .. } if *expected == good.to_string()),
        "{err:?}"
    );
    assert!(!out2.exists(), "nothing written, not even the good file");
    assert!(
        fresh.info(&good).is_none(),
        "the corrupt bytes were not cached"
    );
    drop(moto);
}

/// With the server stopped: the health probe says unreachable well within its limit, a fetch
/// whose files are cached succeeds from the cache with warnings that state the age, and a
/// fetch of an uncached file fails naming the store error.
#[tokio::test]
async fn store_down_health_and_cache_fallback() {
    let Some(mut moto) = moto::start("store_down_health_and_cache_fallback") else {
        return;
    };
    let store = s3_store(&moto, "bkt-down", "p");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("recipes");
    write_tree(&src, &[("r/rg.toml", "rg"), ("f/fd.toml", "fd")]);
    let clock = now_clock();
    publish(&store, &src, &PublishOptions::default(), &clock)
        .await
        .unwrap();
    let up = probe(&store, &HealthOptions::default()).await;
    assert!(up.healthy, "{up:?}");

    let out = tmp.path().join("out");
    let mut cache = Cache::open(&tmp.path().join("cache"), 1 << 20).unwrap();
    fetch(
        &store,
        &mut cache,
        &fetch_opts(&out, &["recipes/r/rg.toml"]),
        &clock,
    )
    .await
    .unwrap();

    moto.stop();
    let opts = HealthOptions {
        total: Duration::from_secs(5),
        attempts: 3,
        retry_delay: Duration::from_millis(200),
    };
    let started = Instant::now();
    let down = probe(&store, &opts).await;
    assert!(!down.healthy, "{down:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5) + Duration::from_secs(2),
        "{down:?}"
    );
    assert!(
        down.reason.as_deref().unwrap_or_default().contains("LIST"),
        "{down:?}"
    );

    clock.set(clock.now() + SignedDuration::from_mins(125));
    std::fs::remove_dir_all(&out).unwrap();
    let r = fetch(
        &store,
        &mut cache,
        &fetch_opts(&out, &["recipes/r/rg.toml"]),
        &clock,
    )
    .await
    .unwrap();
    assert!(r.offline);
    assert_eq!(r.files[0].source, Source::StaleCache);
    assert_eq!(std::fs::read(out.join("recipes/r/rg.toml")).unwrap(), b"rg");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("unreachable") && w.contains("2h 5m")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("recipes/r/rg.toml") && w.contains("ago")),
        "{:?}",
        r.warnings
    );

    let err = fetch(
        &store,
        &mut cache,
        &fetch_opts(&out, &["recipes/f/fd.toml"]),
        &clock,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::NotCached { .. }), "{err:?}");
    assert!(err.is_unreachable());
}

/// A server that accepts connections and never answers: the probe still ends within its
/// total limit and reports the store unhealthy.
#[tokio::test]
async fn health_is_bounded_when_the_server_hangs() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let store = Store::open(&batch_store::StoreConfig {
        location: batch_store::Location::parse("s3://bkt-hang/p").unwrap(),
        s3: batch_store::S3Settings {
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            access_key_id: Some("k".into()),
            secret_access_key: Some(batch_store::Secret::new("s")),
            ..Default::default()
        },
        timeouts: batch_store::Timeouts {
            request: Duration::from_millis(500),
            connect: Duration::from_millis(500),
            call: Duration::from_secs(1),
        },
    })
    .unwrap();
    let opts = HealthOptions {
        total: Duration::from_secs(3),
        attempts: 10,
        retry_delay: Duration::from_millis(100),
    };
    let started = Instant::now();
    let r = probe(&store, &opts).await;
    let took = started.elapsed();
    assert!(!r.healthy, "{r:?}");
    assert!(
        r.attempts >= 2,
        "each attempt is cut at the 1 s call limit: {r:?}"
    );
    assert!(
        took < Duration::from_secs(3) + Duration::from_secs(2),
        "{took:?} {r:?}"
    );
    hold.abort();
}
