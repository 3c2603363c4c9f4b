//! Helpers of the S3 tests: a store on a moto bucket, source directories, a fixed clock, and
//! [`Gate`], an object_store wrapper that holds a manifest write at a barrier so two
//! publishers are guaranteed to race on the same manifest version.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use batch_store::store::Capabilities;
use batch_store::{Location, S3Settings, Secret, Store, StoreConfig, Timeouts};
use futures::stream::BoxStream;
use object_store::path::Path as ObjPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use batch_testkit::moto::{ACCESS_KEY, Moto, SECRET_KEY};

/// Short limits so a dead server fails tests fast.
pub fn timeouts() -> Timeouts {
    Timeouts {
        request: Duration::from_secs(10),
        connect: Duration::from_secs(2),
        call: Duration::from_secs(20),
    }
}

/// The settings that reach `moto`.
pub fn settings(moto: &Moto) -> S3Settings {
    S3Settings {
        endpoint: Some(moto.endpoint.clone()),
        region: Some("us-east-1".into()),
        access_key_id: Some(ACCESS_KEY.into()),
        secret_access_key: Some(Secret::new(SECRET_KEY)),
        session_token: None,
    }
}

/// Creates `bucket` on `moto` and opens `s3://bucket/prefix` on it.
pub fn s3_store(moto: &Moto, bucket: &str, prefix: &str) -> Store {
    moto.create_bucket(bucket);
    open(moto, bucket, prefix)
}

/// Opens `s3://bucket/prefix` on `moto` without creating the bucket.
pub fn open(moto: &Moto, bucket: &str, prefix: &str) -> Store {
    Store::open(&StoreConfig {
        location: Location::S3 {
            bucket: bucket.into(),
            prefix: prefix.into(),
        },
        s3: settings(moto),
        timeouts: timeouts(),
    })
    .expect("open the moto store")
}

/// A store backend whose first conditional write of `manifest.json` waits at `barrier`:
/// with two gates sharing a barrier of 2, both writers have read the same manifest version
/// before either writes, so exactly one conditional PUT must lose.
pub struct Gate {
    inner: Arc<dyn ObjectStore>,
    barrier: Arc<tokio::sync::Barrier>,
    armed: AtomicBool,
}

impl Gate {
    /// Wraps the backend of `store`'s settings in a gate on `barrier`, as a [`Store`].
    pub fn store(
        moto: &Moto,
        bucket: &str,
        prefix: &str,
        barrier: Arc<tokio::sync::Barrier>,
    ) -> Store {
        // Client options first: `with_client_options` replaces them, `allow_http` included.
        let b = object_store::aws::AmazonS3Builder::new()
            .with_client_options(
                object_store::ClientOptions::new().with_timeout(Duration::from_secs(10)),
            )
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET_KEY)
            .with_endpoint(&moto.endpoint)
            .with_allow_http(true)
            .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch);
        let inner: Arc<dyn ObjectStore> = Arc::new(b.build().expect("s3 client"));
        let gate = Gate {
            inner,
            barrier,
            armed: AtomicBool::new(true),
        };
        Store::from_object_store(
            Arc::new(gate),
            format!("gate s3://{bucket}/{prefix}"),
            prefix,
            Capabilities {
                conditional_update: true,
                metadata: true,
            },
            timeouts(),
        )
    }
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Gate")
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gate({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Gate {
    async fn put_opts(
        &self,
        location: &ObjPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if location.as_ref().ends_with("manifest.json")
            && !matches!(opts.mode, PutMode::Overwrite)
            && self.armed.swap(false, Ordering::SeqCst)
        {
            self.barrier.wait().await;
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &ObjPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&ObjPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjPath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjPath,
        to: &ObjPath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
