//! Unit tests of the orchestration loop with a mocked runner and paused tokio time.
