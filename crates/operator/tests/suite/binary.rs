//! What the build does to the binary itself (crates/operator/build.rs).

use std::io::Read;

/// The symbol version the linker makes a binary with packed relocations need, so that an older
/// glibc refuses to start it instead of crashing.
const RELR_VERSION: &[u8] = b"GLIBC_ABI_DT_RELR";

#[test]
fn the_binary_packs_its_relocations_exactly_where_the_build_found_a_glibc_that_loads_them() {
    let path = env!("CARGO_BIN_EXE_dataplatform-operator");
    // The version needs are in the dynamic strings, at the start of the file.
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(256 * 1024).read_to_end(&mut head))
        .expect("the binary can be read");
    let needs_packed_loader = head.windows(RELR_VERSION.len()).any(|w| w == RELR_VERSION);
    let decided: bool = env!("DATAPLATFORM_PACKED_RELOCATIONS").parse().expect("true or false");
    assert_eq!(
        needs_packed_loader, decided,
        "build.rs decided packed relocations: {decided}; the binary needs GLIBC_ABI_DT_RELR: {needs_packed_loader}"
    );
    // CI and the image build on Debian 12 (glibc 2.36): there the relocations must be packed.
    if std::fs::read_to_string("/etc/debian_version").is_ok_and(|v| v.trim().starts_with("12")) {
        assert!(decided, "glibc 2.36 loads packed relocations; build.rs left them out");
    }
}

/// The binary users run lists their commands only: the benchmark and the in-memory API server it
/// serves are the `dataplatform-bench` binary's (crates/bench, crates/memory-api-server), and the
/// operator's library does not depend on either (issue 32).
#[test]
fn the_binary_offers_the_users_commands_only_and_links_no_bench_or_api_server() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_dataplatform-operator"))
        .arg("--help")
        .output()
        .expect("the binary runs");
    let help = String::from_utf8(help.stdout).expect("utf-8");
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        ["run", "crds", "plan", "apply", "iam-policy", "help"],
        "{help}"
    );

    let manifest = include_str!("../../Cargo.toml");
    let dependencies = manifest
        .split("\n[")
        .find(|section| section.starts_with("dependencies]"))
        .expect("a [dependencies] section");
    for tool in ["dataplatform-bench", "dataplatform-memory-api-server"] {
        assert!(!dependencies.contains(tool), "the operator's binary depends on {tool}");
    }
}
