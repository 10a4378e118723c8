//! The photo store every instance reaches: customer photos live in the database (their
//! own table, `db::queries::photos`), or, with `MEND_PHOTO_STORE=s3://...`, in an
//! S3-compatible object store. Either way a photo is first written to the database, in
//! the customer's request, so an unreachable object store never costs a complaint or its
//! photo; the worker then moves it to the object store ([`PhotoStore::step`]) and deletes
//! the objects of erased photos. Installations from before kept photos as files under the
//! data dir: [`import_files`] brings them in, and until it has, they are read from there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDateTime;
use object_store::{ObjectStore, PutPayload};

use secrecy::ExposeSecret;

use crate::config::{AwsOptions, PhotoStoreSetting};
use crate::db::queries::photos::{self, Found};
use crate::db::{Db, DbError};
use crate::domain::case::photo::is_photo_path;

/// Photos moved (or objects deleted) per step: one step's reads stay a few megabytes.
const BATCH: i64 = 16;

#[derive(Debug, thiserror::Error)]
pub enum PhotoStoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// The object store answered that these credentials may not do this: a setting to fix.
    #[error("the photo store {store} refused Mend's credentials: {detail}")]
    Refused { store: String, detail: String },
    /// Not reachable now (network, a 5xx, a timeout): tried again later.
    #[error("the photo store {store} is not reachable: {detail}")]
    Unreachable { store: String, detail: String },
    #[error("the photo store is misconfigured: {0}")]
    Config(String),
    /// A photo file under the data dir (from before the photo store) could not be read.
    #[error("{0}")]
    File(String),
}

#[derive(Clone)]
struct Remote {
    store: Arc<dyn ObjectStore>,
    /// Object names are `<prefix>/<photo path>`.
    prefix: String,
    /// `s3://bucket/prefix`, for messages.
    name: String,
}

impl Remote {
    fn key(&self, path: &str) -> object_store::path::Path {
        if self.prefix.is_empty() {
            object_store::path::Path::from(path)
        } else {
            object_store::path::Path::from(format!("{}/{path}", self.prefix))
        }
    }

    fn error(&self, e: object_store::Error) -> PhotoStoreError {
        let (store, detail) = (self.name.clone(), e.to_string());
        match e {
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => {
                PhotoStoreError::Refused { store, detail }
            }
            _ => PhotoStoreError::Unreachable { store, detail },
        }
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, PhotoStoreError> {
        match self.store.get(&self.key(path)).await {
            Ok(found) => Ok(Some(
                found.bytes().await.map_err(|e| self.error(e))?.to_vec(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), PhotoStoreError> {
        self.store
            .put(&self.key(path), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    async fn delete(&self, path: &str) -> Result<(), PhotoStoreError> {
        match self.store.delete(&self.key(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }
}

/// What one step of the worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Step {
    pub moved: usize,
    pub deleted: usize,
}

#[derive(Clone)]
pub struct PhotoStore {
    db: Db,
    data_dir: PathBuf,
    remote: Option<Remote>,
}

impl PhotoStore {
    /// The store `setting` names. Nothing is contacted yet (see [`PhotoStore::check`]).
    pub fn open(
        setting: &PhotoStoreSetting,
        aws: &AwsOptions,
        db: Db,
        data_dir: PathBuf,
    ) -> Result<PhotoStore, PhotoStoreError> {
        let remote = match setting {
            PhotoStoreSetting::Database => None,
            PhotoStoreSetting::S3 { bucket, prefix } => {
                // A store that is down answers quickly instead of holding the mover for
                // minutes of retries: its photos wait in the database meanwhile. (Set
                // first: the AWS_* settings below add to these, AWS_ALLOW_HTTP say.)
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_client_options(
                        object_store::ClientOptions::new()
                            .with_connect_timeout(std::time::Duration::from_secs(3))
                            .with_timeout(std::time::Duration::from_secs(30)),
                    )
                    .with_retry(object_store::RetryConfig {
                        max_retries: 2,
                        retry_timeout: std::time::Duration::from_secs(10),
                        ..Default::default()
                    });
                // S3-compatible servers rarely care, but the signature needs a region.
                if !aws
                    .0
                    .iter()
                    .any(|(n, _)| n == "AWS_REGION" || n == "AWS_DEFAULT_REGION")
                {
                    builder = builder.with_region("us-east-1");
                }
                for (name, value) in &aws.0 {
                    match name.to_ascii_lowercase().parse() {
                        Ok(key) => builder = builder.with_config(key, value.expose_secret()),
                        Err(_) => tracing::debug!(%name, "not an S3 setting; ignored"),
                    }
                }
                let store = builder
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| PhotoStoreError::Config(e.to_string()))?;
                Some(Remote {
                    store: Arc::new(store),
                    prefix: prefix.clone(),
                    name: if prefix.is_empty() {
                        format!("s3://{bucket}")
                    } else {
                        format!("s3://{bucket}/{prefix}")
                    },
                })
            }
        };
        Ok(PhotoStore {
            db,
            data_dir,
            remote,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// Steps until nothing is left to move or delete (tests drain, then assert).
    pub async fn until_idle(&self) -> Result<Step, PhotoStoreError> {
        let mut all = Step::default();
        loop {
            let step = self.step().await?;
            if step == Step::default() {
                return Ok(all);
            }
            all.moved += step.moved;
            all.deleted += step.deleted;
        }
    }

    /// "the database" or the object store's URL, for the start-up line.
    pub fn describe(&self) -> String {
        self.remote
            .as_ref()
            .map_or_else(|| "the database".to_owned(), |r| r.name.clone())
    }

    /// At start: writes, reads back and deletes a small object, so wrong credentials or a
    /// missing bucket stop the server with one clear line instead of failing every photo.
    pub async fn check(&self) -> Result<(), PhotoStoreError> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        let probe = ".mend-check";
        remote.put(probe, b"mend".to_vec()).await?;
        remote.get(probe).await?;
        remote.delete(probe).await
    }

    /// A photo's bytes, wherever they are; None when it is not stored (erased, say).
    pub async fn read(&self, path: &str) -> Result<Option<Vec<u8>>, PhotoStoreError> {
        if !is_photo_path(path) {
            return Ok(None);
        }
        let (db, owned) = (self.db.clone(), path.to_owned());
        let found = tokio::task::spawn_blocking(move || db.read(|c| photos::find(c, &owned)))
            .await
            .map_err(|_| DbError::Stopped("a photo read"))??;
        match (found, &self.remote) {
            (Some(Found::Here(bytes)), _) => Ok(Some(bytes)),
            (Some(Found::Remote), Some(remote)) => remote.get(path).await,
            // In an object store this instance is not configured for: a setting to fix.
            (Some(Found::Remote), None) => Err(PhotoStoreError::Config(
                "photos were moved to an object store, but MEND_PHOTO_STORE is not set here".into(),
            )),
            // Not brought in from the data dir yet (see `import_files`).
            (None, _) => {
                let file = self.data_dir.join(path);
                match tokio::fs::read(file).await {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(_) => Ok(None),
                }
            }
        }
    }

    /// Moves a batch of photos from the database to the object store and deletes the
    /// objects of a batch of erased photos. Nothing to do without an object store.
    pub async fn step(&self) -> Result<Step, PhotoStoreError> {
        let Some(remote) = &self.remote else {
            return Ok(Step::default());
        };
        let mut step = Step::default();
        let db = self.db.clone();
        let (waiting, gone) = tokio::task::spawn_blocking(move || {
            db.read(|c| Ok((photos::to_move(c, BATCH)?, photos::to_delete(c, BATCH)?)))
        })
        .await
        .map_err(|_| DbError::Stopped("the photo mover"))??;
        for (path, bytes) in waiting {
            remote.put(&path, bytes).await?;
            let (db, p) = (self.db.clone(), path.clone());
            let kept = tokio::task::spawn_blocking(move || {
                db.write(|c| -> Result<bool, DbError> { Ok(photos::moved(c, &p)?) })
            })
            .await
            .map_err(|_| DbError::Stopped("the photo mover"))??;
            if kept {
                step.moved += 1;
            } else {
                // Erased while it was on its way: it must not stay behind out there.
                remote.delete(&path).await?;
            }
        }
        for path in gone {
            remote.delete(&path).await?;
            let (db, p) = (self.db.clone(), path.clone());
            tokio::task::spawn_blocking(move || {
                db.write(|c| -> Result<usize, DbError> { Ok(photos::purged(c, &p)?) })
            })
            .await
            .map_err(|_| DbError::Stopped("the photo mover"))??;
            step.deleted += 1;
        }
        Ok(step)
    }
}

/// How far [`import_files`] got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub files: usize,
    pub bytes: u64,
    /// Files still under the data dir (a limit was reached).
    pub left: usize,
}

/// Photo files under `data_dir/photos`, as their paths relative to the data dir.
pub fn photo_files(data_dir: &Path) -> Vec<String> {
    let Ok(shards) = std::fs::read_dir(data_dir.join("photos")) else {
        return Vec::new();
    };
    let mut found: Vec<String> = shards
        .flatten()
        .filter_map(|shard| {
            let name = shard.file_name().to_str()?.to_owned();
            Some((name, std::fs::read_dir(shard.path()).ok()?))
        })
        .flat_map(|(shard, files)| {
            files.flatten().filter_map(move |f| {
                let path = format!("photos/{shard}/{}", f.file_name().to_str()?);
                is_photo_path(&path).then_some(path)
            })
        })
        .collect();
    found.sort();
    found
}

/// Brings photo files from before the photo store into it, one file per transaction, each
/// deleted once its row is committed: stopped at any point (or after `limit` files), it
/// goes on where it stopped, and a file read meanwhile is found in one place or the other.
/// `progress(done, total)` is told after each file.
pub fn import_files(
    db: &Db,
    data_dir: &Path,
    limit: Option<usize>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Imported, PhotoStoreError> {
    let files = photo_files(data_dir);
    let total = files.len();
    let mut done = Imported::default();
    for path in files.iter().take(limit.unwrap_or(usize::MAX)) {
        let file = data_dir.join(path);
        let read = std::fs::read(&file).and_then(|bytes| {
            let modified = std::fs::metadata(&file)?.modified()?;
            Ok((bytes, modified))
        });
        let (bytes, modified) = match read {
            Ok(found) => found,
            // Deleted meanwhile (erased, or another importer took it): nothing to bring.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(PhotoStoreError::File(format!("{}: {e}", file.display()))),
        };
        // Its grace (for a photo no case holds) counts from its last upload, as before.
        let stored_at: NaiveDateTime = chrono::DateTime::<chrono::Utc>::from(modified).naive_utc();
        db.write(|c| -> Result<(), DbError> {
            let held = !photos::referenced(c, std::slice::from_ref(path))?.is_empty();
            let present = photos::all_present(c, &[path.as_str()])?;
            if !present {
                photos::put(c, path, &bytes, held, stored_at)?;
            }
            Ok(())
        })?;
        if let Err(e) = std::fs::remove_file(&file) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(PhotoStoreError::File(format!("{}: {e}", file.display())));
            }
        }
        done.files += 1;
        done.bytes += bytes.len() as u64;
        progress(done.files, total);
    }
    done.left = photo_files(data_dir).len();
    Ok(done)
}
