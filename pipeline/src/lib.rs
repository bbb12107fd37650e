//! Skolegang: a nightly batch that tells Denmark how children in vulnerable positions
//! do in school, per kommune. See ARCHITECTURE.md for the map.

// `unsafe` lives in `sys` only.
#![deny(unsafe_code)]

pub mod cli;
pub mod codes;
pub mod config;
pub mod contract;
pub mod damaged;
pub mod dates;
pub mod dictionary;
pub mod disclose;
pub mod error;
pub mod faults;
pub mod fixtures;
pub mod functions;
pub mod indicators;
pub mod ingest;
pub mod interrupt;
pub mod lock;
pub mod logging;
pub mod manifest;
pub mod narrow;
pub mod pseudonym;
pub mod publish;
pub mod query;
pub mod rankings;
pub mod release;
pub mod report;
pub mod run;
pub mod scan;
pub mod session;
pub mod stage;
pub mod store;
pub mod sys;
pub mod validate;
