//! Build profiles (cargo's `dev` and `release` defaults) and the target-directory layout.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Release,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Release => "release",
        }
    }

    /// Directory under the target dir, as cargo names it.
    pub fn dir_name(self) -> &'static str {
        match self {
            Profile::Dev => "debug",
            Profile::Release => "release",
        }
    }

    pub fn incremental(self) -> bool {
        self == Profile::Dev
    }

    /// `dev [unoptimized + debuginfo]`, as cargo's summary says it.
    pub fn description(self) -> &'static str {
        match self {
            Profile::Dev => "`dev` profile [unoptimized + debuginfo]",
            Profile::Release => "`release` profile [optimized]",
        }
    }

    /// Codegen flags cargo passes for this profile's defaults, before `--check-cfg`.
    pub fn codegen_args(self) -> &'static [&'static str] {
        match self {
            Profile::Dev => &["-C", "embed-bitcode=no", "-C", "debuginfo=2"],
            Profile::Release => &["-C", "opt-level=3", "-C", "embed-bitcode=no"],
        }
    }

    /// Flags cargo passes after `--out-dir`.
    pub fn trailing_args(self) -> &'static [&'static str] {
        match self {
            Profile::Dev => &[],
            Profile::Release => &["-C", "strip=debuginfo"],
        }
    }
}

/// Where everything lives under the target directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub target_dir: PathBuf,
    /// `<target>/debug` or `<target>/release`: final binaries.
    pub profile_dir: PathBuf,
    /// rustc's `--out-dir`: rlibs, rmetas, dep-info, hashed binaries.
    pub deps: PathBuf,
    pub incremental: PathBuf,
    /// One JSON file per unit: what it was last built from.
    pub ledger: PathBuf,
}

impl Layout {
    pub fn new(target_dir: &Path, profile: Profile) -> Layout {
        let profile_dir = target_dir.join(profile.dir_name());
        Layout {
            target_dir: target_dir.to_path_buf(),
            deps: profile_dir.join("deps"),
            incremental: profile_dir.join("incremental"),
            ledger: profile_dir.join(".ledger"),
            profile_dir,
        }
    }

    pub fn create(&self) -> std::io::Result<()> {
        for dir in [&self.deps, &self.incremental, &self.ledger] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }
}
