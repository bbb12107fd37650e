//! End-to-end tests of Skolegang: one binary, one module per area.

mod architecture;
mod damaged;
mod dictionary;
mod differential;
mod disclose;
mod failures;
mod fixtures;
mod golden;
mod ingest;
mod logs;
mod properties;
mod query;
mod rankings;
mod releases;
mod reports;
mod researchers;
mod restricted;
mod run;
mod s3;
mod security;
mod unchanged;
mod validation;
