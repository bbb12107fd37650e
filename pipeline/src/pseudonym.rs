//! Per-project pseudonyms for the restricted tier (`run --restricted
//! --project-key-file FILE`): every register id in `restricted/` is replaced by
//! HMAC-SHA256(project key, id) in lower-case hex. The same key gives the same
//! pseudonyms in every run; files made with different keys cannot be joined.
//!
//! Both ids are replaced: `person_id`, and `deciding_measure_id` (a register key that
//! would otherwise link two projects' rows as surely as a person_id).

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The columns of a restricted file that hold register ids.
pub const ID_COLUMNS: [&str; 2] = ["person_id", "deciding_measure_id"];

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// A project's secret key. Never printed.
#[derive(Clone)]
pub struct ProjectKey(Vec<u8>);

impl std::fmt::Debug for ProjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProjectKey(…)")
    }
}

impl ProjectKey {
    /// The key is the file's bytes without a trailing line break; at least
    /// [`MIN_KEY_BYTES`] of them.
    pub fn load(path: &Path) -> Result<ProjectKey> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Config(format!("--project-key-file {}: {e}", path.display())))?;
        ProjectKey::from_bytes(&bytes)
            .map_err(|rule| Error::Config(format!("--project-key-file {}: {rule}", path.display())))
    }

    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<ProjectKey, String> {
        let mut key = bytes;
        while let Some(rest) = key.strip_suffix(b"\n").or_else(|| key.strip_suffix(b"\r")) {
            key = rest;
        }
        if key.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the key has {} bytes; at least {MIN_KEY_BYTES} are needed (e.g. `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > project.key`)",
                key.len()
            ));
        }
        Ok(ProjectKey(key.to_vec()))
    }

    /// HMAC-SHA256(key, id), lower-case hex.
    pub fn pseudonym(&self, id: &str) -> String {
        // HMAC takes a key of any length: new_from_slice cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(id.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `batch` with every id column ([`ID_COLUMNS`]) replaced by its pseudonyms (nulls
    /// stay null).
    pub fn pseudonymise(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let schema = batch.schema();
        let columns = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, column)| -> Result<ArrayRef> {
                if !ID_COLUMNS.contains(&field.name().as_str()) {
                    return Ok(Arc::clone(column));
                }
                let text =
                    cast(column, &DataType::Utf8).map_err(|e| Error::internal(field.name(), e))?;
                let pseudonyms: StringArray = text
                    .as_string::<i32>()
                    .iter()
                    .map(|id| id.map(|id| self.pseudonym(id)))
                    .collect();
                cast(&pseudonyms, field.data_type()).map_err(|e| Error::internal(field.name(), e))
            })
            .collect::<Result<Vec<_>>>()?;
        RecordBatch::try_new(schema, columns).map_err(|e| Error::internal("pseudonyms", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_hmac_sha256_in_lower_case_hex() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?". The
        // key is too short for a project, so the check goes through the MAC directly.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let key = ProjectKey::from_bytes(b"0123456789abcdef0123456789abcdef\n").expect("key");
        let p = key.pseudonym("P000001");
        assert_eq!(p.len(), 64);
        assert!(
            p.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
        assert_eq!(p, key.pseudonym("P000001"));
        assert_ne!(p, key.pseudonym("P000002"));
        // The trailing line break is not part of the key.
        let same = ProjectKey::from_bytes(b"0123456789abcdef0123456789abcdef").expect("key");
        assert_eq!(same.pseudonym("P000001"), p);
    }

    #[test]
    fn short_keys_are_refused_and_keys_are_never_printed() {
        assert!(ProjectKey::from_bytes(b"short\n").is_err());
        let key = ProjectKey::from_bytes(b"a secret project key").expect("key");
        assert!(!format!("{key:?}").contains("secret"));
    }
}
