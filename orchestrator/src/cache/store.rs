//! Where cache entries live: one storage backend behind Apache OpenDAL,
//! chosen by a URL. Every backend holds the same layout, Bazel's:
//! `ac/<action key>` (small JSON action entries) and `cas/<blake3>` (file
//! contents, named by their hash).
//!
//! OpenDAL is asynchronous; the store owns a small tokio runtime and offers
//! blocking calls, which is what rayon workers and the uploader thread need.

use std::path::{Path, PathBuf};
use std::time::Duration;

use opendal::{ErrorKind, Operator, services};

use crate::error::{Error, Result};

/// A parsed `ORCHESTRATOR_CACHE` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A directory (`file:///path`; `local` for the per-user default).
    Dir(PathBuf),
    /// `redis://[user:password@]host:port[/db]`.
    Redis {
        endpoint: String,
        username: Option<String>,
        password: Option<String>,
        db: i64,
    },
    /// `s3://bucket/prefix` (credentials, region and endpoint from the
    /// usual `AWS_*` variables).
    S3 { bucket: String, root: String },
    /// `gs://bucket/prefix` (credentials from `GOOGLE_APPLICATION_CREDENTIALS`).
    Gcs { bucket: String, root: String },
    /// `azblob://container/prefix` (account from `AZURE_STORAGE_ACCOUNT`,
    /// key from `AZURE_STORAGE_KEY`).
    Azblob { container: String, root: String },
    /// `http(s)://[user:password@]host:port/prefix`: a WebDAV server or an
    /// HTTP cache with Bazel's `/ac/` + `/cas/` layout.
    WebDav {
        endpoint: String,
        root: String,
        username: Option<String>,
        password: Option<String>,
    },
}

impl Backend {
    /// Parse a cache URL. `default_dir` is the per-user directory `local`
    /// stands for.
    pub fn parse(url: &str, default_dir: Option<&Path>) -> std::result::Result<Backend, String> {
        let url = url.trim();
        if url == "local" || url == "file" {
            return default_dir
                .map(|d| Backend::Dir(d.to_path_buf()))
                .ok_or_else(|| {
                    "`local` is the per-user cache directory, but neither XDG_CACHE_HOME nor HOME \
                 is set: set one, or name a directory (`file:///path`)"
                        .to_owned()
                });
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(format!(
                "`{url}` is not a cache URL (expected `file:///path`, `redis://host:port`, `s3://bucket/prefix`, `http://host:port/prefix`, ...)"
            ));
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        let (username, password) = match user.map(|u| u.split_once(':').unwrap_or((u, ""))) {
            Some((u, p)) => (
                (!u.is_empty()).then(|| u.to_owned()),
                (!p.is_empty()).then(|| p.to_owned()),
            ),
            None => (None, None),
        };
        let root = format!("/{}", path.trim_matches('/'));
        let need_host = |what: &str| match host.is_empty() {
            true => Err(format!("`{}` names no {what}", redact(url))),
            false => Ok(host.to_owned()),
        };
        Ok(match scheme {
            "file" => {
                let dir = PathBuf::from(format!("/{}", path));
                if !host.is_empty() && host != "localhost" {
                    return Err(format!(
                        "`{url}`: a file URL needs an absolute path (`file:///path`)"
                    ));
                }
                Backend::Dir(dir)
            }
            "redis" => Backend::Redis {
                endpoint: format!("redis://{}", need_host("host")?),
                username,
                password,
                db: match path.trim_matches('/') {
                    "" => 0,
                    db => db.parse().map_err(|_| {
                        format!("`{}`: `{db}` is not a database number", redact(url))
                    })?,
                },
            },
            "s3" => Backend::S3 {
                bucket: need_host("bucket")?,
                root,
            },
            "gs" | "gcs" => Backend::Gcs {
                bucket: need_host("bucket")?,
                root,
            },
            "azblob" => Backend::Azblob {
                container: need_host("container")?,
                root,
            },
            "http" | "https" => Backend::WebDav {
                endpoint: format!("{scheme}://{}", need_host("host")?),
                root,
                username,
                password,
            },
            other => {
                return Err(format!(
                    "unknown cache scheme `{other}` (file, redis, s3, gs, azblob, http, https)"
                ));
            }
        })
    }
}

/// A URL fit to print: credentials replaced by `***`.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = match authority.rsplit_once('@') {
                Some((_, host)) => format!("***@{host}"),
                None => authority.to_owned(),
            };
            match rest.contains('/') {
                true => format!("{scheme}://{host}/{path}"),
                false => format!("{scheme}://{host}"),
            }
        }
        None => url.to_owned(),
    }
}

/// Why a store call did not return data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The key is not there: an ordinary miss.
    Missing,
    /// The backend cannot do this (listing a Redis store).
    Unsupported(String),
    /// The server is down, refuses, times out: the build goes on without it.
    Unavailable(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Missing => f.write_str("not found"),
            StoreError::Unsupported(m) | StoreError::Unavailable(m) => f.write_str(m),
        }
    }
}

fn classify(e: opendal::Error) -> StoreError {
    match e.kind() {
        ErrorKind::NotFound => StoreError::Missing,
        ErrorKind::Unsupported => StoreError::Unsupported(e.to_string()),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// One listed object.
#[derive(Debug, Clone)]
pub struct Listed {
    pub path: String,
    pub size: u64,
}

/// A blocking handle on the cache storage.
pub struct Store {
    op: opendal::blocking::Operator,
    /// A directory store's root: it keeps track of use and size itself.
    dir: Option<PathBuf>,
    /// Printable description (no credentials).
    pub describe: String,
    // Drives OpenDAL's futures; dropped last.
    _runtime: tokio::runtime::Runtime,
}

impl Store {
    /// A directory store is created (with `.tmp/` for partial writes).
    pub fn open(backend: &Backend, describe: String) -> Result<Store> {
        if let Backend::Dir(dir) = backend {
            std::fs::create_dir_all(dir.join(".tmp"))
                .map_err(|e| Error::io("create the cache directory", dir, e))?;
            sweep_partial_writes(&dir.join(".tmp"));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("orchestrator-cache")
            .enable_all()
            .build()
            .map_err(|e| Error::Cache {
                url: describe.clone(),
                message: format!("could not start the I/O runtime: {e}"),
            })?;
        let _guard = runtime.enter();
        let built = build(backend).and_then(|op| {
            let op = op.layer(
                opendal::layers::TimeoutLayer::new()
                    .with_timeout(Duration::from_secs(60))
                    .with_io_timeout(Duration::from_secs(10)),
            );
            opendal::blocking::Operator::new(op)
        });
        let op = built.map_err(|e| Error::Cache {
            url: describe.clone(),
            message: e.to_string(),
        })?;
        Ok(Store {
            op,
            dir: match backend {
                Backend::Dir(dir) => Some(dir.clone()),
                _ => None,
            },
            describe,
            _runtime: runtime,
        })
    }

    /// Mark an object of a directory store as just used: eviction removes
    /// the least recently used first. Other stores keep their own policy
    /// (Redis `maxmemory-policy`, bucket lifecycle rules).
    pub fn touch(&self, path: &str) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::File::options()
                .write(true)
                .open(dir.join(path))
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        }
    }

    /// A directory store's root (it keeps track of use and size itself).
    pub fn local_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn get(&self, path: &str) -> std::result::Result<Vec<u8>, StoreError> {
        self.op.read(path).map(|b| b.to_vec()).map_err(classify)
    }

    /// Write a whole object. Every backend makes it visible at once (the
    /// directory backend writes a temp file and renames it; Redis `SET`;
    /// WebDAV servers store a `PUT` body before they link it).
    pub fn put(&self, path: &str, bytes: Vec<u8>) -> std::result::Result<(), StoreError> {
        // Object stores are told what they hold: some (GCS emulators)
        // answer a write without a content type with JSON OpenDAL rejects.
        let mut options = opendal::options::WriteOptions::default();
        if self.op.info().capability().write_with_content_type {
            options.content_type = Some("application/octet-stream".into());
        }
        self.op
            .write_options(path, bytes, options)
            .map(drop)
            .map_err(classify)
    }

    pub fn exists(&self, path: &str) -> std::result::Result<bool, StoreError> {
        match self.op.stat(path) {
            Ok(_) => Ok(true),
            Err(e) => match classify(e) {
                StoreError::Missing => Ok(false),
                other => Err(other),
            },
        }
    }

    pub fn delete(&self, path: &str) -> std::result::Result<(), StoreError> {
        self.op.delete(path).map_err(classify)
    }

    /// Every object below `dir` (`"ac/"`, `"cas/"`).
    pub fn list(&self, dir: &str) -> std::result::Result<Vec<Listed>, StoreError> {
        let entries = self
            .op
            .list_options(
                dir,
                opendal::options::ListOptions {
                    recursive: true,
                    ..Default::default()
                },
            )
            .map_err(classify)?;
        Ok(entries
            .into_iter()
            .filter(|e| e.metadata().is_file())
            .map(|e| Listed {
                size: e.metadata().content_length(),
                path: e.path().to_owned(),
            })
            .collect())
    }
}

/// Remove partial writes a killed process left in a directory store's
/// `.tmp/`. Only old ones: a younger file may be another build's upload in
/// progress (each is written whole within seconds, then renamed).
fn sweep_partial_writes(tmp: &Path) {
    const ABANDONED: Duration = Duration::from_secs(3600);
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let abandoned = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > ABANDONED);
        if abandoned {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn build(backend: &Backend) -> opendal::Result<Operator> {
    Ok(match backend {
        Backend::Dir(dir) => {
            let root = dir.to_string_lossy();
            let tmp = dir.join(".tmp");
            Operator::new(
                services::Fs::default()
                    .root(&root)
                    .atomic_write_dir(&tmp.to_string_lossy()),
            )?
        }
        Backend::Redis {
            endpoint,
            username,
            password,
            db,
        } => {
            let mut b = services::Redis::default().endpoint(endpoint).db(*db);
            if let Some(u) = username {
                b = b.username(u);
            }
            if let Some(p) = password {
                b = b.password(p);
            }
            Operator::new(b)?
        }
        Backend::S3 { bucket, root } => {
            let mut b = services::S3::default().bucket(bucket).root(root);
            if let Ok(region) = std::env::var("AWS_REGION") {
                b = b.region(&region);
            }
            if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
                b = b.endpoint(&endpoint);
            }
            Operator::new(b)?
        }
        Backend::Gcs { bucket, root } => {
            let mut b = services::Gcs::default().bucket(bucket).root(root);
            // The Google client libraries' switch to an emulator
            // (fake-gcs-server, gcp-storage-emulator): plain HTTP, and no
            // credentials unless some are given.
            if let Ok(host) = std::env::var("STORAGE_EMULATOR_HOST") {
                let endpoint = if host.contains("://") {
                    host
                } else {
                    format!("http://{host}")
                };
                b = b.endpoint(&endpoint).disable_vm_metadata();
                if std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").is_none() {
                    b = b.skip_signature();
                }
            }
            Operator::new(b)?
        }
        Backend::Azblob { container, root } => {
            // A connection string (Azure's tools, Azurite) carries the
            // endpoint, the account and its key or SAS token.
            if let Ok(conn) = std::env::var("AZURE_STORAGE_CONNECTION_STRING") {
                let b = services::Azblob::from_connection_string(&conn)?;
                return Operator::new(b.container(container).root(root));
            }
            let mut b = services::Azblob::default().container(container).root(root);
            if let Ok(account) = std::env::var("AZURE_STORAGE_ACCOUNT") {
                b = b
                    .account_name(&account)
                    .endpoint(&format!("https://{account}.blob.core.windows.net"));
            }
            if let Ok(key) = std::env::var("AZURE_STORAGE_KEY") {
                b = b.account_key(&key);
            }
            Operator::new(b)?
        }
        Backend::WebDav {
            endpoint,
            root,
            username,
            password,
        } => {
            // Plain `PUT`s, no `MKCOL`: HTTP caches (bazel-remote, nginx
            // with `create_full_put_path`) create directories themselves.
            let mut b = services::Webdav::default()
                .endpoint(endpoint)
                .root(root)
                .disable_create_dir(true);
            if let Some(u) = username {
                b = b.username(u);
            }
            if let Some(p) = password {
                b = b.password(p);
            }
            Operator::new(b)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_abandoned_partial_writes_are_swept() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let old = tmp.path().join("killed-upload");
        let young = tmp.path().join("upload-in-progress");
        for path in [&old, &young] {
            std::fs::write(path, b"part").expect("write");
        }
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .and_then(|f| f.set_modified(two_hours_ago))
            .expect("age the file");
        sweep_partial_writes(tmp.path());
        assert!(!old.exists());
        assert!(young.exists());
    }

    #[test]
    fn parses_cache_urls() {
        let home = Some(Path::new("/home/u/.cache/orchestrator"));
        assert_eq!(
            Backend::parse("local", home),
            Ok(Backend::Dir("/home/u/.cache/orchestrator".into()))
        );
        assert_eq!(
            Backend::parse("file:///srv/cache", home),
            Ok(Backend::Dir("/srv/cache".into()))
        );
        assert_eq!(
            Backend::parse("redis://u:secret@127.0.0.1:6379/2", home),
            Ok(Backend::Redis {
                endpoint: "redis://127.0.0.1:6379".into(),
                username: Some("u".into()),
                password: Some("secret".into()),
                db: 2
            })
        );
        assert_eq!(
            Backend::parse("http://127.0.0.1:8080/cache/", home),
            Ok(Backend::WebDav {
                endpoint: "http://127.0.0.1:8080".into(),
                root: "/cache".into(),
                username: None,
                password: None
            })
        );
        assert_eq!(
            Backend::parse("s3://bucket/team/x", home),
            Ok(Backend::S3 {
                bucket: "bucket".into(),
                root: "/team/x".into()
            })
        );
        assert!(Backend::parse("ftp://x", home).is_err());
        assert!(Backend::parse("/just/a/path", home).is_err());
        assert!(Backend::parse("redis:///", home).is_err());
        // No per-user directory known: `local` says so.
        assert!(
            Backend::parse("local", None).is_err_and(|e| e.contains("XDG_CACHE_HOME nor HOME"))
        );
        assert_eq!(
            redact("redis://u:secret@127.0.0.1:6379/2"),
            "redis://***@127.0.0.1:6379/2"
        );
        assert_eq!(redact("http://h:1"), "http://h:1");
    }
}
