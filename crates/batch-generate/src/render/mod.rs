//! What the commands print: typed `Serialize` documents for `--json` ([`json`]), text for
//! people ([`text`]), and the log lines about what a run found ([`log`]). Every document is
//! built from a library result; nothing here decides anything.

pub mod aggregate;
pub mod explain;
pub mod history;
pub mod html;
pub mod json;
pub mod log;
pub mod maintain;
pub mod queue_status;
pub mod reconcile;
pub mod rollback;
pub mod text;
pub mod validate;

pub use json::print_json;
