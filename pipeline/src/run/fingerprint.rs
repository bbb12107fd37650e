//! Is tonight's input the one `current` was made from? The data version of the input
//! as it is now, from the files' checksums alone (every file is read once, nothing is
//! decoded); when it equals `current`'s, no new run is made.

use tracing::info;

use super::{RunReport, Settings, Stages};
use crate::contract::Extract;
use crate::error::{Error, Result};
use crate::stage::Stage;
use crate::stages::ingest;
use crate::storage::runs;
use crate::storage::store::Root;

/// The data version of the input as it is now ([`crate::manifest::data_version`]),
/// from the files' checksums alone: every file is read once, nothing is decoded.
pub async fn fingerprint(settings: &Settings) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut extracts: Vec<Extract> = Extract::ALL.to_vec();
    extracts.sort_by_key(|e| e.name());
    let mut files = Vec::new();
    for extract in extracts {
        for (path, _) in ingest::list_files(&settings.input, extract).await? {
            let relative = settings.input.relative(&path);
            let bytes = ingest::fetch(&settings.input, &path).await?;
            let sha = tokio::task::spawn_blocking(move || hex::encode(Sha256::digest(&bytes)))
                .await
                .map_err(|e| Error::internal("hashing", e))?;
            files.push((extract.name(), relative, sha));
        }
    }
    Ok(crate::manifest::data_version(
        files.iter().map(|(e, p, s)| (*e, p.as_str(), s.as_str())),
        &settings.config.effective_json(),
    ))
}

/// The report of a run that was not made, when the input and configuration equal those
/// of `current` (a revision or `--force` always runs).
pub async fn unchanged(
    settings: &Settings,
    output: &Root,
    stages: &mut Stages,
) -> Result<Option<RunReport>> {
    if settings.force || !settings.revise.is_empty() {
        return Ok(None);
    }
    let Some((current, version)) = runs::current_data_version(output).await? else {
        return Ok(None);
    };
    let now = stages
        .time(Stage::Fingerprint, fingerprint(settings))
        .await?;
    if now != version {
        return Ok(None);
    }
    info!(
        run_id = %current,
        data_version = %now,
        "nothing changed: the inputs and configuration equal those of the current run; no new run (--force runs anyway)"
    );
    Ok(Some(RunReport {
        run_id: current,
        unchanged: true,
        manifest: None,
        headline: String::new(),
    }))
}
