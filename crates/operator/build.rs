//! Links the binary with packed relative relocations (DT_RELR) where the C library it links against
//! can load them (glibc 2.36 and later: the image's build and run stages, Debian 12).
//!
//! Why: a position-independent executable's relative relocations are read at every start, so their
//! pages stay resident. Listed one by one (`.rela.dyn`) they were 4.0 MB of this binary and about
//! 3.9 MiB of `run`'s RSS; packed they are 43 kB (issue 20; docs/performance.md, "The release profile"). The linker marks
//! the binary as needing `GLIBC_ABI_DT_RELR`, so an older glibc would refuse to start it: on one the
//! flag is left out, and the binary is only larger. Cross builds leave it out too (the build
//! machine's C library says nothing about the target's). The executable stays position-independent.
//!
//! Cargo has no setting for a linker flag of one profile or target; RUSTFLAGS or `.cargo/config.toml`
//! would pass it to every build script and test binary, and break them on an older glibc.

use std::path::Path;

/// Where glibc's shared library is, by distribution.
const LIBC_PATHS: &[&str] = &[
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/aarch64-linux-gnu/libc.so.6",
    "/lib64/libc.so.6",
    "/usr/lib64/libc.so.6",
    "/usr/lib/libc.so.6",
];

/// The symbol version glibc defines once its loader reads packed relocations.
const RELR_VERSION: &[u8] = b"GLIBC_ABI_DT_RELR";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("TARGET") == var("HOST");
    let gnu_linux = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    let packed = native && gnu_linux && libc_loads_packed_relocations();
    if packed {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    // For the test that the binary carries what was decided here.
    println!("cargo:rustc-env=DATAPLATFORM_PACKED_RELOCATIONS={packed}");
}

fn libc_loads_packed_relocations() -> bool {
    let Some(libc) = LIBC_PATHS.iter().map(Path::new).find(|path| path.exists()) else {
        return false;
    };
    println!("cargo:rerun-if-changed={}", libc.display());
    std::fs::read(libc).is_ok_and(|bytes| bytes.windows(RELR_VERSION.len()).any(|w| w == RELR_VERSION))
}
