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
pub const MIN_KEY_BYTES: usize = 32;

/// How many hex digits `keygen` writes (32 random bytes); a key of hex digits only must
/// have at least as many.
pub const KEYGEN_HEX_DIGITS: usize = 64;

/// The fewest distinct byte values a key must have (32 × `a` is not a key).
pub const MIN_DISTINCT_BYTES: usize = 8;

/// A project's secret key. Never printed.
#[derive(Clone)]
pub struct ProjectKey(Vec<u8>);

impl std::fmt::Debug for ProjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProjectKey(…)")
    }
}

impl ProjectKey {
    /// The key is the file's bytes without a trailing line break: at least
    /// [`MIN_KEY_BYTES`] of them with at least [`MIN_DISTINCT_BYTES`] distinct values,
    /// in a file that only its owner can read (as ssh requires of a private key).
    pub fn load(path: &Path) -> Result<ProjectKey> {
        let bad =
            |rule: String| Error::Config(format!("--project-key-file {}: {rule}", path.display()));
        let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
        check_private(&meta).map_err(bad)?;
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        ProjectKey::from_bytes(&bytes).map_err(bad)
    }

    /// Writes a new random key (32 random bytes from the operating system, hex-encoded:
    /// 64 characters and a line break) to `path` with mode 0600. Refuses to overwrite.
    pub fn generate(path: &Path) -> Result<()> {
        use rand::TryRngCore;
        use std::io::Write;
        let mut raw = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut raw)
            .map_err(|e| Error::internal("the system's random numbers", e))?;
        let text = format!("{}\n", hex::encode(raw));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| {
            Error::Config(format!(
                "keygen {}: {e} (an existing key is never overwritten)",
                path.display()
            ))
        })?;
        file.write_all(text.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok(())
    }

    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<ProjectKey, String> {
        let mut key = bytes;
        while let Some(rest) = key.strip_suffix(b"\n").or_else(|| key.strip_suffix(b"\r")) {
            key = rest;
        }
        if key.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the key has {} bytes; at least {MIN_KEY_BYTES} are needed (make one with `skolegang keygen FILE`)",
                key.len()
            ));
        }
        let distinct = key.iter().collect::<std::collections::BTreeSet<_>>().len();
        if distinct < MIN_DISTINCT_BYTES {
            return Err(format!(
                "the key is too weak: only {distinct} distinct byte values (at least {MIN_DISTINCT_BYTES}); make a random one with `skolegang keygen FILE`"
            ));
        }
        // A key of hex digits only is taken for a `keygen` key: it must be as long as
        // one (64 digits, 32 random bytes), not 32 hand-typed digits (at most 128 bits,
        // and as typed far fewer). The key bytes stay the file's, so the pseudonyms of a
        // keygen key are what they always were.
        if key.iter().all(u8::is_ascii_hexdigit) && key.len() < KEYGEN_HEX_DIGITS {
            return Err(format!(
                "the key is {} hex digits; a key of hex digits must have at least {KEYGEN_HEX_DIGITS} (32 random bytes, what `skolegang keygen FILE` writes)",
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

/// A key file must not be readable (or writable) by group or others.
#[cfg(unix)]
fn check_private(meta: &std::fs::Metadata) -> std::result::Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "permissions {mode:04o} are too open: a project key must be readable by its owner only (chmod 600 it)"
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_meta: &std::fs::Metadata) -> std::result::Result<(), String> {
    Ok(())
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
        let key = ProjectKey::from_bytes(b"key: 0123456789abcdef0123456789abcdef\n").expect("key");
        let p = key.pseudonym("P000001");
        assert_eq!(p.len(), 64);
        assert!(
            p.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
        assert_eq!(p, key.pseudonym("P000001"));
        assert_ne!(p, key.pseudonym("P000002"));
        // The trailing line break is not part of the key.
        let same = ProjectKey::from_bytes(b"key: 0123456789abcdef0123456789abcdef").expect("key");
        assert_eq!(same.pseudonym("P000001"), p);
    }

    #[test]
    fn short_or_weak_keys_are_refused_and_keys_are_never_printed() {
        assert!(ProjectKey::from_bytes(b"short\n").is_err());
        // 31 bytes: one short.
        let e = ProjectKey::from_bytes(b"0123456789abcdef0123456789abcde").unwrap_err();
        assert!(e.contains("32"), "{e}");
        // 32 hand-typed hex digits look like a key and are not one; keygen's 64 are.
        let e = ProjectKey::from_bytes(b"0123456789abcdef0123456789abcdef\n").unwrap_err();
        assert!(e.contains("32 hex digits") && e.contains("keygen"), "{e}");
        let keygen = "3f9a0c7e5b1d2468ace013579bdf2468ace013579bdf0a1b2c3d4e5f60718293";
        assert!(ProjectKey::from_bytes(keygen.as_bytes()).is_ok());
        // 32 bytes of one value, or of 7 values: weak.
        let e = ProjectKey::from_bytes(&[b'a'; 32]).unwrap_err();
        assert!(e.contains("weak") && e.contains("1 distinct"), "{e}");
        let e = ProjectKey::from_bytes(b"abcdefgabcdefgabcdefgabcdefgabcd").unwrap_err();
        assert!(e.contains("7 distinct"), "{e}");
        assert!(ProjectKey::from_bytes(b"abcdefghabcdefghabcdefghabcdefgh").is_ok());
        let key = ProjectKey::from_bytes(b"a secret project key of 32 bytes").expect("key");
        assert!(!format!("{key:?}").contains("secret"));
    }

    #[cfg(unix)]
    #[test]
    fn keygen_writes_a_private_random_key_that_loads_and_never_overwrites() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("project.key");
        ProjectKey::generate(&path).expect("keygen");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.trim_end().len(), 64);
        assert!(ProjectKey::load(&path).is_ok());
        let again = ProjectKey::generate(&path).unwrap_err().to_string();
        assert!(again.contains("never overwritten"), "{again}");
        let other = dir.path().join("other.key");
        ProjectKey::generate(&other).expect("keygen");
        assert_ne!(std::fs::read(&other).expect("read"), text.as_bytes());
        // Readable by the group: refused, with the reason.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let e = ProjectKey::load(&path).unwrap_err().to_string();
        assert!(e.contains("0640") && e.contains("too open"), "{e}");
    }
}
