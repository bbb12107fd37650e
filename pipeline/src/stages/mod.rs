//! The stages of the bird's-eye view (ARCHITECTURE.md), one folder each, in the order
//! a run passes them. [`crate::run`] calls them; [`crate::stage::Stage`] names them.

pub mod disclose;
pub mod indicators;
pub mod ingest;
pub mod rankings;
pub mod report;
pub mod validate;
