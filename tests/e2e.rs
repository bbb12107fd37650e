//! End-to-end tests of Skolegang: one binary, one module per area.

mod disclose;
mod fixtures;
mod golden;
mod ingest;
mod properties;
mod rankings;
mod reports;
mod run;
mod validation;
