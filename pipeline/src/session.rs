//! The DataFusion session every stage runs its SQL in.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::codes::Codes;
use crate::error::{Error, Result};

/// A session with `threads` target partitions and the code lists registered as tables.
pub fn new_context(threads: usize, codes: &Codes) -> Result<SessionContext> {
    let config = SessionConfig::new()
        .with_target_partitions(threads.max(1))
        .with_information_schema(true);
    let ctx = SessionContext::new_with_config(config);
    for (name, batch) in codes.tables()? {
        register_batches(&ctx, name, batch.schema(), vec![batch], 1)?;
    }
    Ok(ctx)
}

/// Registers in-memory batches as table `name`, spread round-robin over `partitions`
/// partitions so that scans run in parallel. Replaces an existing table of that name.
pub fn register_batches(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    partitions: usize,
) -> Result<()> {
    let n = partitions.max(1);
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); n];
    for (i, b) in batches.into_iter().enumerate() {
        parts[i % n].push(b);
    }
    let table = MemTable::try_new(schema, parts).map_err(|e| Error::internal(name, e))?;
    ctx.deregister_table(name)
        .map_err(|e| Error::internal(name, e))?;
    ctx.register_table(name, Arc::new(table))
        .map_err(|e| Error::internal(name, e))?;
    Ok(())
}
