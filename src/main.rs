//! The `plugbox` command: scans files with a directory of plugins.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
