//! The DataFusion session every stage runs its SQL in, and the memory it may use.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::MemTable;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::codes::Codes;
use crate::error::{Error, Result};

/// The memory DataFusion's operators may use: one pool of `limit` bytes, shared fairly
/// among the operators that can spill (sorts, aggregates, joins), which spill to files
/// in `spill_dir` (the system's temporary folder when `None`) instead of failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    pub limit: u64,
    pub spill_dir: Option<PathBuf>,
}

impl Default for Memory {
    /// Half of the memory this process may use ([`available_memory`]), at least 1 GiB,
    /// spilling to the system's temporary folder.
    fn default() -> Self {
        Memory {
            limit: (available_memory().unwrap_or(8 << 30) / 2).max(1 << 30),
            spill_dir: None,
        }
    }
}

/// Makes glibc's allocator give large freed buffers back to the system: allocations of
/// 1 MiB or more are mapped on their own (by default glibc raises that threshold as
/// big buffers are freed, and then keeps them in its heap). The stages free the
/// extracts as they go; at scale 1.0 this lowers the peak RSS from 2.9 to 2.4 GB at no
/// cost in time (docs/performance.md). Elsewhere a no-op.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter, and is thread-safe.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// The machine's memory (`MemTotal`), or the container's limit (cgroup v2
/// `memory.max`) when that is lower. `None` where neither can be read.
pub fn available_memory() -> Option<u64> {
    let total = crate::manifest::proc_kb("/proc/meminfo", "MemTotal");
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
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
        GreedyMemoryPool::new(usize::try_from(memory.limit).unwrap_or(usize::MAX)),
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
    fn the_default_limit_is_half_the_memory_and_at_least_a_gib() {
        let m = Memory::default();
        assert!(m.limit >= 1 << 30);
        if let Some(total) = available_memory() {
            assert!(m.limit <= (total / 2).max(1 << 30));
        }
    }
}
