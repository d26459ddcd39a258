//! Compiles a WebAssembly text module to the binary format plugins are loaded from.
//!
//! `cargo run --example wat2wasm -- IN.wat OUT.wasm`

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: wat2wasm IN.wat OUT.wasm");
        return ExitCode::from(2);
    };
    let wasm = match wat::parse_file(input) {
        Ok(wasm) => wasm,
        Err(error) => {
            eprintln!("wat2wasm: {}: {error}", input.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = std::fs::write(output, wasm) {
        eprintln!("wat2wasm: {}: {error}", output.to_string_lossy());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
