//! The DataFusion session every stage runs its SQL in, and the memory it may use.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation, TrackConsumersPool,
    human_readable_size,
};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::codes::Codes;
use crate::error::{Error, Result};

/// The memory DataFusion's operators may use: one pool of `limit` bytes
/// ([`SpillCappedPool`]). Operators that can spill (sorts, aggregates) spill to files in
/// `spill_dir` (the system's temporary folder when `None`) instead of failing; the hash
/// tables of joins cannot, and fail the query when the pool is full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    pub limit: u64,
    pub spill_dir: Option<PathBuf>,
}

impl Default for Memory {
    /// Half of the memory this process may use ([`super::machine::available_memory`]), at least 1 GiB,
    /// spilling to the system's temporary folder.
    fn default() -> Self {
        Memory {
            limit: (super::machine::available_memory().unwrap_or(8 << 30) / 2).max(1 << 30),
            spill_dir: None,
        }
    }
}

/// The share of the pool that operators which can spill (sorts, aggregates, buffering
/// repartitions) may hold together; the rest is kept for what cannot spill, above all
/// the hash tables of joins (docs/performance.md).
const SPILLABLE_SHARE: f64 = 0.5;

/// A memory pool of `size` bytes. Operators that can spill share
/// [`SPILLABLE_SHARE`] of it (less what the unspillable hold) fairly: each may hold
/// at most that region divided by the number of spillable operators alive, and spills
/// beyond it. Operators that cannot spill take what is left, first come first served.
/// With a plain greedy pool, aggregates that could spill took the whole pool and a
/// join then failed for want of memory for its hash table; with DataFusion's fair pool,
/// a join could fail the same way, and with a single cap on all spillable memory, one
/// buffering repartition starved the aggregate after it (measured at 10×).
#[derive(Debug)]
pub struct SpillCappedPool {
    size: usize,
    spillable_cap: usize,
    state: std::sync::Mutex<PoolState>,
}

#[derive(Debug, Default)]
struct PoolState {
    spillable: usize,
    unspillable: usize,
    /// Spillable consumers registered.
    spillers: usize,
}

impl SpillCappedPool {
    pub fn new(size: usize) -> Self {
        SpillCappedPool {
            size,
            spillable_cap: (size as f64 * SPILLABLE_SHARE) as usize,
            state: std::sync::Mutex::new(PoolState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PoolState> {
        // A poisoned lock only means another thread panicked while counting; the
        // counts are still the best there is.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Display for SpillCappedPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state();
        write!(
            f,
            "spill-capped(spillable: {} in {} operators (cap {}), unspillable: {}, pool_size: {})",
            human_readable_size(s.spillable),
            s.spillers,
            human_readable_size(self.spillable_cap),
            human_readable_size(s.unspillable),
            human_readable_size(self.size)
        )
    }
}

impl MemoryPool for SpillCappedPool {
    fn name(&self) -> &str {
        "spill-capped"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            self.state().spillers += 1;
        }
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            let mut s = self.state();
            s.spillers = s.spillers.saturating_sub(1);
        }
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        let mut s = self.state();
        if reservation.consumer().can_spill() {
            s.spillable += additional;
        } else {
            s.unspillable += additional;
        }
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        let mut s = self.state();
        if reservation.consumer().can_spill() {
            s.spillable = s.spillable.saturating_sub(shrink);
        } else {
            s.unspillable = s.unspillable.saturating_sub(shrink);
        }
    }

    fn try_grow(
        &self,
        reservation: &MemoryReservation,
        additional: usize,
    ) -> datafusion::error::Result<()> {
        let mut s = self.state();
        let used = s.spillable + s.unspillable;
        let free = self.size.saturating_sub(used);
        let available = if reservation.consumer().can_spill() {
            let region = self
                .spillable_cap
                .min(self.size.saturating_sub(s.unspillable));
            let share = region / s.spillers.max(1);
            share.saturating_sub(reservation.size()).min(free)
        } else {
            free
        };
        if additional > available {
            drop(s);
            return Err(DataFusionError::ResourcesExhausted(format!(
                "Failed to allocate additional {} for {} with {} already allocated for this reservation - {} remain available for it in the total memory pool: {}",
                human_readable_size(additional),
                reservation.consumer().name(),
                human_readable_size(reservation.size()),
                human_readable_size(available),
                self
            )));
        }
        if reservation.consumer().can_spill() {
            s.spillable += additional;
        } else {
            s.unspillable += additional;
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        let s = self.state();
        s.spillable + s.unspillable
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.size)
    }
}

/// Parses a memory size: bytes (`1500000000`) or a number with a binary unit, `K`, `M`,
/// `G` or `T`, optionally followed by `iB` or `B` (`4G`, `4GiB`, `1.5G`, `512M`).
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let stem = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (number, shift) = match stem.chars().last() {
        Some('K') => (&stem[..stem.len() - 1], 10),
        Some('M') => (&stem[..stem.len() - 1], 20),
        Some('G') => (&stem[..stem.len() - 1], 30),
        Some('T') => (&stem[..stem.len() - 1], 40),
        _ => (stem, 0),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 4G, 1500M or a number of bytes)"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("`{text}`: a size must be positive"));
    }
    Ok((value * (1u64 << shift) as f64) as u64)
}

/// A session with `threads` target partitions, `memory` as its pool and spill folder,
/// and the code lists registered as tables.
pub fn new_context(threads: usize, codes: &Codes, memory: &Memory) -> Result<SessionContext> {
    let config = SessionConfig::new()
        .with_target_partitions(threads.max(1))
        .with_information_schema(true);
    let pool = TrackConsumersPool::new(
        SpillCappedPool::new(usize::try_from(memory.limit).unwrap_or(usize::MAX)),
        NonZeroUsize::MIN.saturating_add(4),
    );
    let mode = match &memory.spill_dir {
        Some(dir) => DiskManagerMode::Directories(vec![dir.clone()]),
        None => DiskManagerMode::OsTmpDirectory,
    };
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(mode))
        .build_arc()
        .map_err(|e| Error::Config(format!("memory or spill folder: {e}")))?;
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    crate::engine::functions::register(&ctx);
    for (name, batch) in codes.tables()? {
        register_batches(&ctx, name, batch.schema(), vec![batch], 1)?;
    }
    Ok(ctx)
}

/// Runs a query to the end. With `SKOLEGANG_EXPLAIN` set in the environment (a
/// profiling aid, docs/performance.md), prints its physical plan with each operator's
/// metrics (rows, time, memory) to standard error, headed by `name`.
pub async fn collect(
    df: DataFrame,
    name: &str,
) -> std::result::Result<Vec<RecordBatch>, DataFusionError> {
    if std::env::var_os("SKOLEGANG_EXPLAIN").is_none() {
        return df.collect().await;
    }
    let task = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await?;
    let batches = datafusion::physical_plan::collect(Arc::clone(&plan), task).await?;
    eprintln!(
        "=== {name}\n{}",
        DisplayableExecutionPlan::with_metrics(plan.as_ref()).indent(true)
    );
    Ok(batches)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_bytes_or_binary_units() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("4gb"), Ok(4 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("-1G").is_err());
    }

    #[test]
    fn spilling_operators_share_half_the_pool_and_joins_keep_the_rest() {
        let pool: Arc<dyn MemoryPool> = Arc::new(SpillCappedPool::new(1000));
        let consumer = |name: &str, spills: bool| {
            MemoryConsumer::new(name)
                .with_can_spill(spills)
                .register(&pool)
        };
        let sort = consumer("sort", true);
        let aggregate = consumer("aggregate", true);
        // Two spilling operators: each may hold half of the spillable 500 bytes.
        assert!(sort.try_grow(250).is_ok());
        assert!(sort.try_grow(1).is_err(), "past its share, a sort spills");
        assert!(aggregate.try_grow(200).is_ok());
        // A join may take all that the spilling operators do not hold: 1000 - 450.
        let join = consumer("join", false);
        assert!(join.try_grow(550).is_ok());
        assert!(join.try_grow(1).is_err());
        assert_eq!(pool.reserved(), 1000);
        // The spillable region shrinks to what the join leaves (450), shared by two:
        // the aggregate (200) may not grow to 226.
        assert!(aggregate.try_grow(26).is_err());
        join.shrink(550);
        // With one spilling operator left, it may hold the whole region of 500.
        drop(sort);
        assert!(aggregate.try_grow(300).is_ok());
        assert!(aggregate.try_grow(1).is_err());
        assert_eq!(pool.reserved(), 500);
    }

    #[test]
    fn the_default_limit_is_half_the_memory_and_at_least_a_gib() {
        let m = Memory::default();
        assert!(m.limit >= 1 << 30);
        if let Some(total) = crate::engine::machine::available_memory() {
            assert!(m.limit <= (total / 2).max(1 << 30));
        }
    }
}
