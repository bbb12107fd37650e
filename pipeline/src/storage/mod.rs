//! Where runs live: input and output roots (local folder or object store), the run
//! folder and `current`, and the lock that lets one run at a time write.

pub mod lock;
pub mod runs;
pub mod store;
