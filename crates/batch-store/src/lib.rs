//! Artifact store of `batch-generate` (issue #7): generated recipes and golden files published
//! to S3-compatible storage (Cloudflare R2, AWS S3, moto in tests) or a local directory, as
//! content-addressed objects `sha256/<hex>`, with a manifest `manifest.json` (logical path →
//! digest) that is only ever replaced by conditional PUT.
//!
//! - [`publish`](publish::publish): upload, verify by reading back, then record (manifest or
//!   per-run fragment);
//! - [`consolidate`](consolidate::consolidate): merge fragments into the manifest, order
//!   independent ([`manifest`] states the rule);
//! - [`fetch`](fetch::fetch): download through a verified, bounded [`cache`], falling back
//!   to it when the store is unreachable;
//! - [`probe`](health::probe): bounded-time health check;
//! - [`gc`](gc::gc): delete unreferenced objects older than a grace window.
//!
//! Every store call has a timeout ([`config::Timeouts`]); secrets never reach `Debug` output
//! ([`config::Secret`]). The library neither prints nor exits; warnings go to `tracing`.
#![warn(missing_docs)]

pub mod backoff;
pub mod cache;
pub mod config;
pub mod consolidate;
pub mod error;
pub mod fetch;
pub mod gc;
pub mod hash;
pub mod health;
pub mod manifest;
pub mod publish;
pub mod store;
pub mod update;

pub use config::{Location, S3Settings, Secret, StoreConfig, Timeouts};
pub use error::StoreError;
pub use hash::Sha256Hex;
pub use store::Store;
