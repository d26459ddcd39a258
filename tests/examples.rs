//! The committed example modules are built from the sources beside them.

#[test]
fn committed_marker_scanner_wasm_matches_its_wat_source() {
    let dir = std::path::Path::new("examples/plugins/marker-scanner");
    let built = wat::parse_file(dir.join("marker_scanner.wat")).unwrap();
    let committed = std::fs::read(dir.join("marker_scanner.wasm")).unwrap();
    assert!(
        built == committed,
        "marker_scanner.wasm is stale: run `cargo run --example wat2wasm -- {0}/marker_scanner.wat {0}/marker_scanner.wasm`",
        dir.display()
    );
}
