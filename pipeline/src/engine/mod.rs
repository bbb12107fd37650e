//! The query engine: DataFusion's session (memory pool, spill folder, threads), the SQL
//! functions the queries use, and what the process knows of the machine's memory.

pub mod functions;
pub mod machine;
pub mod session;
pub mod sql;
