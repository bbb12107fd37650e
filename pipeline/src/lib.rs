//! Skolegang: a nightly batch that tells Denmark how children in vulnerable positions
//! do in school, per kommune. See ARCHITECTURE.md for the map.

// `unsafe` lives in `sys` only.
#![deny(unsafe_code)]

pub mod cells;
pub mod cli;
pub mod codes;
pub mod config;
pub mod contract;
pub mod dates;
pub mod dictionary;
pub mod engine;
pub mod error;
pub mod faults;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod interrupt;
pub mod logging;
pub mod manifest;
pub mod pseudonym;
pub mod query;
pub mod registry;
pub mod run;
pub mod stage;
pub mod stages;
pub mod storage;
pub mod sys;
