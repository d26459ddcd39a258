//! The `plugbox` command: scans files with a directory of plugins (`scan`), or runs one WASI
//! command module (`run`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
