//! End-to-end tests of Skolegang: one binary, one module per area.

mod fixtures;
mod ingest;
mod run;
mod validation;
