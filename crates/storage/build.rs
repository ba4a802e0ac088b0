//! Rebuilds the crate when a migration changes (they are embedded) and exposes a hash of their
//! contents, so per-test template databases are rebuilt whenever the schema changes.
use std::{
    collections::hash_map::DefaultHasher,
    fs,
    hash::{Hash, Hasher},
    path::Path,
};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut hasher = DefaultHasher::new();
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .expect("migrations directory exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    for migration in entries {
        println!("cargo:rerun-if-changed={}", migration.display());
        migration.file_name().hash(&mut hasher);
        for file in ["up.sql", "down.sql"] {
            fs::read(migration.join(file)).unwrap_or_default().hash(&mut hasher);
        }
    }
    println!("cargo:rustc-env=MIGRATIONS_HASH={:016x}", hasher.finish());
}
