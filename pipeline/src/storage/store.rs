//! Where extracts are read from and outputs written to: a plain path, a `file://` URL,
//! or an object store (`s3://`, `az://`/`abfs://`, `gs://`) configured from the
//! standard environment variables (AWS_*, AZURE_*, GOOGLE_*). Credentials never come
//! from the command line or the configuration file.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::prelude::SessionContext;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use url::Url;

use crate::error::{Error, Result};

/// A root folder in some store.
#[derive(Debug, Clone)]
pub struct Root {
    /// As the user wrote it, for messages.
    pub display: String,
    /// `scheme://authority/`: the key DataFusion's object-store registry uses.
    pub store_url: Url,
    pub store: Arc<dyn ObjectStore>,
    /// The root's path inside the store.
    pub prefix: Path,
    /// Set when the root is on the local file system.
    pub local: Option<PathBuf>,
    /// Where a run's private folders (`disclosure/`, `quarantine/`, `restricted/`) go,
    /// as `runs/<run-id>/<folder>/` below it; `None`: below this root, beside
    /// `published/` (docs/security.md, "Object stores").
    pub private: Option<Arc<Root>>,
}

/// `location` as logs, messages and manifests may show it: a URL without its user
/// information (`user:secret@`), query string and fragment (where signed URLs and
/// tokens sit); a plain path as it is.
pub fn redacted(location: &str) -> String {
    if !location.contains("://") {
        return location.to_string();
    }
    match Url::parse(location) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        // Not a URL: its scheme only.
        Err(_) => {
            let scheme = location.split("://").next().unwrap_or_default();
            format!("{scheme}://…")
        }
    }
}

impl Root {
    /// Resolves a plain path or URL. Nothing is read or created yet.
    pub fn parse(location: &str) -> Result<Root> {
        let shown = redacted(location);
        let location_shown = shown.as_str();
        let has_scheme = location.contains("://");
        if !has_scheme || location.starts_with("file://") {
            let path = if has_scheme {
                Url::parse(location)
                    .ok()
                    .and_then(|u| u.to_file_path().ok())
                    .ok_or_else(|| {
                        Error::Config(format!("`{location_shown}` is not a valid file:// URL"))
                    })?
            } else {
                PathBuf::from(location)
            };
            let abs = normalize(
                &std::path::absolute(&path)
                    .map_err(|e| Error::Config(format!("`{location_shown}`: {e}")))?,
            );
            let prefix = Path::from_absolute_path(&abs)
                .map_err(|e| Error::Config(format!("`{location_shown}`: {e}")))?;
            return Ok(Root {
                display: shown.clone(),
                store_url: Url::parse("file:///").map_err(|e| Error::internal("file URL", e))?,
                store: Arc::new(LocalFileSystem::new()),
                prefix,
                local: Some(abs),
                private: None,
            });
        }
        let url =
            Url::parse(location).map_err(|e| Error::Config(format!("`{location_shown}`: {e}")))?;
        let store: Arc<dyn ObjectStore> = match url.scheme() {
            "s3" | "s3a" => Arc::new(
                AmazonS3Builder::from_env()
                    .with_url(location)
                    .build()
                    .map_err(|e| Error::Config(format!("`{location_shown}`: {e}")))?,
            ),
            "az" | "abfs" | "abfss" | "adl" | "azure" => Arc::new(
                MicrosoftAzureBuilder::from_env()
                    .with_url(location)
                    .build()
                    .map_err(|e| Error::Config(format!("`{location_shown}`: {e}")))?,
            ),
            "gs" => Arc::new(
                GoogleCloudStorageBuilder::from_env()
                    .with_url(location)
                    .build()
                    .map_err(|e| Error::Config(format!("`{location_shown}`: {e}")))?,
            ),
            other => {
                return Err(Error::Config(format!(
                    "`{location_shown}`: unsupported scheme `{other}` (use a path, file://, s3://, az:// or gs://)"
                )));
            }
        };
        // The registry key without user information (it is shown in plans and errors).
        let host = url.host_str().unwrap_or_default();
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let store_url = Url::parse(&format!("{}://{authority}/", url.scheme()))
            .map_err(|e| Error::Config(format!("`{location_shown}`: {e}")))?;
        let prefix = Path::from(url.path().trim_matches('/'));
        Ok(Root {
            display: shown.clone(),
            store_url,
            store,
            prefix,
            local: None,
            private: None,
        })
    }

    /// The root of a run's private folders: the private root, or this one.
    pub fn private_root(&self) -> &Root {
        self.private.as_deref().unwrap_or(self)
    }

    /// This root with its private folders under `private` (`--private-output`). Without
    /// one, an object store's private folders go to a root of their own beside it,
    /// `<output>-private` (so that a bucket policy can give researchers the output
    /// prefix and nothing private); a local root keeps them in the run folder, 0700.
    pub fn with_private(mut self, private: Option<&str>) -> Result<Root> {
        let location = match private {
            Some(p) => p.to_string(),
            None if self.local.is_some() => return Ok(self),
            None => {
                let prefix = self.prefix.as_ref().trim_end_matches('/');
                if prefix.is_empty() {
                    return Err(Error::Config(format!(
                        "{}: an output at a bucket's root needs --private-output (another bucket) for the private folders",
                        self.display
                    )));
                }
                format!("{}{prefix}-private", self.store_url)
            }
        };
        let root = Root::parse(&location)?;
        // Whoever may read the output must not reach the private root through it.
        if root.store_url == self.store_url && root.prefix.prefix_matches(&self.prefix) {
            return Err(Error::Config(format!(
                "--private-output {}: inside the output {}; private folders need a root of their own (for an output at a bucket's root, another bucket)",
                root.display, self.display
            )));
        }
        self.private = Some(Arc::new(root));
        Ok(self)
    }

    /// The path of `relative` (slash-separated) below the root.
    pub fn child(&self, relative: &str) -> Path {
        relative
            .split('/')
            .filter(|p| !p.is_empty())
            .fold(self.prefix.clone(), |p, part| p.join(part))
    }

    /// `path` relative to the root, for messages and manifests.
    pub fn relative(&self, path: &Path) -> String {
        path.prefix_match(&self.prefix)
            .map(|parts| {
                parts
                    .map(|p| p.as_ref().to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_else(|| path.to_string())
    }

    /// Registers the store with DataFusion so that SQL can read straight from it.
    pub fn register(&self, ctx: &SessionContext) {
        if self.local.is_none() {
            ctx.register_object_store(&self.store_url, Arc::clone(&self.store));
        }
    }
}

/// Removes `.` and `..` components lexically (the folder need not exist yet).
fn normalize(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials_or_query_strings() {
        assert_eq!(
            redacted("s3://AKIAEXAMPLE:s3cr3t@bucket/out?X-Amz-Signature=abc#f"),
            "s3://bucket/out"
        );
        assert_eq!(redacted("./out"), "./out");
        assert_eq!(redacted("/data/out"), "/data/out");
        let bad = redacted("s3://user:pw@[bad/out?token=1");
        assert!(!bad.contains("pw") && !bad.contains("token"), "{bad}");
        let e = Root::parse("ftp://user:s3cr3t@host/x?token=t0k3n").expect_err("scheme");
        let e = e.to_string();
        assert!(!e.contains("s3cr3t") && !e.contains("t0k3n"), "{e}");
    }

    #[test]
    fn plain_paths_and_file_urls_resolve_to_the_same_root() {
        let a = Root::parse("/tmp/x/in").unwrap();
        let b = Root::parse("file:///tmp/x/in").unwrap();
        assert_eq!(a.prefix, b.prefix);
        assert_eq!(a.local, b.local);
        assert_eq!(
            a.relative(&a.child("persons/p.parquet")),
            "persons/p.parquet"
        );
        let c = Root::parse("/tmp/x/y/../in/./").unwrap();
        assert_eq!(c.prefix, a.prefix);
    }

    #[test]
    fn unknown_scheme_is_a_configuration_error() {
        let e = Root::parse("ftp://host/x").unwrap_err();
        assert_eq!(e.exit_code(), crate::error::ExitCode::Usage);
    }

    #[test]
    fn s3_urls_take_bucket_and_prefix() {
        // Building the client reads only the environment; nothing is contacted.
        let r = Root::parse("s3://bucket/some/prefix").unwrap();
        assert_eq!(r.store_url.as_str(), "s3://bucket/");
        assert_eq!(r.prefix.as_ref(), "some/prefix");
        assert!(r.local.is_none());
    }
}
