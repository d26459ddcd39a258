//! `plugbox --help`.

/// The help text.
pub const USAGE: &str = "\
plugbox: sandboxed WebAssembly plugins

Usage:
  plugbox scan [OPTIONS] PATH...               scan files with a directory of detection plugins
  plugbox scan [OPTIONS] --files-from FILE [PATH...]
  plugbox run [OPTIONS] MODULE.wasm [ARGS...]  run one WASI command module (wasm32-wasip1)
  plugbox new NAME [OPTIONS]                   write a new plugin's directory, ready to build
  plugbox plugins check DIR... [--json]        load each plugin directory; print what it is,
                                               or every problem with its fix
  plugbox plugins list [--plugins DIR] [--json]
                                               the plugins a scan loads, skips and fails on
  plugbox plugins test DIR... [--json]         run each plugin's golden tests (DIR/tests/)

Scan options:
  --plugins DIR        plugin directory (default: $PLUGBOX_PLUGINS, else ~/.plugbox/plugins)
  --json               one JSON object per line (type: load_error, file, file_error, summary,
                       ...; see the README)
  --fail-score N       exit 1 when a finding scores N or more (0-100, default 60)
  --log-level LEVEL    off, error, warn, info, debug or trace (default: RUST_LOG, else warn;
                       error with --quiet)
  --files-from FILE    also scan the paths listed in FILE (`-`: stdin), one per line, as they
                       arrive: each result is printed as soon as it is complete; the plugin
                       directory is reloaded when it changes (checked at most once a second,
                       between files). PATH arguments are scanned first
  -0, --null           paths in --files-from end with NUL instead of a newline
  -j, --jobs N         scan N files at a time (1-1024, default: the available cores); the
                       output is the same for every N
  -q, --quiet          print findings and errors only: no warnings, notes, progress or summary
  --max-exec-ms N      lower every plugin's time budget per call to N ms (1-600000); never
                       raises a manifest's max_exec_ms
  --max-memory-mb N    lower every plugin's memory cap to N MiB (1-4096); never raises a
                       manifest's max_memory_mb
  --max-file-size SIZE do not read or scan files larger than SIZE bytes (suffix K, M or G for
                       KiB, MiB, GiB); they are reported as not scanned
  --exclude GLOB       skip paths matching GLOB (`*`, `?`, `**`, `[...]`), matched against the
                       path as given or walked and against the file name; an excluded
                       directory is not walked; repeatable
  --alert-exceeds-max  report each file a limit kept from a plugin (or from every plugin) as a
                       finding Heuristics.Limits.Exceeded, score 60

Run options (before MODULE; every word after MODULE is passed to it, `--` included):
  --dir HOST[::GUEST]     preopen directory HOST read-only, seen by the module at GUEST
                          (default: HOST as written); repeatable, at most 16
  --env KEY=VALUE         set a variable; repeatable; nothing else is inherited
  --max-memory-mb N       linear memory cap, 1-4096 (default 64)
  --max-exec-ms N         wall-clock budget of the run, 1-600000 (default 5000)
  --max-stdout-bytes N    most the module may write to stdout, 0-1073741824 (default 1048576)
  --                      ends the options: the next word is MODULE even if it starts with -
  argv[0] is MODULE's file name. Stdin is read whole before the module starts (at most
  64 MiB; nothing when it is a terminal); stdout is captured under the cap and written when
  the module ends; the module's stderr lines go to stderr as they come (control characters
  escaped; at most 64 KiB and 1024 lines per run).

New options:
  --lang LANG             rust (default), c, wat or assemblyscript
  --dir DIR               where to write it (default: NAME in lower case, words joined by
                          `-`); refused when it exists and is not empty
  --guest-crate PATH      rust: the plugbox-guest crate to depend on (default: abi/rust of
                          the plugbox source tree this plugbox was built from, else
                          plugbox-guest 0.1 by version)
  NAME is the manifest's name and what the plugin reports as its name. The directory gets
  plugin.json, the source, build.sh, a README with the next commands, and a golden test
  (tests/, run by `plugbox plugins test DIR`).

Plugins options:
  --json                  one JSON object per line: check: `plugin_check` per DIR (ok,
                          plugin facts, problems with kind, message, fix); list: `plugin`,
                          `skipped`, `load_error`; test: `plugin_test` per sample, `note`,
                          `plugin_test_summary`, `error`
  --plugins DIR           list: the plugin directory, as for scan
  plugins test reads DIR/tests/expected.json: an object keyed by sample file name in
  DIR/tests/, each value the list of findings expected ({\"threat\": S, \"score\": N} and an
  optional \"detail\" compared when given); extra and missing findings both fail.

  -h, --help           print this help
  -V, --version        print the version

Scan output: on a terminal, a progress line on stderr for runs longer than a second (not
with --json or --quiet); a summary at the end (stderr; with --json the `summary` object):
files scanned and not scanned (with reasons), findings by band (informational 1-29,
suspicious 30-59, malicious 60-100), limit skips and plugin failures by plugin.

Exit codes:
  scan: 0 nothing at or above --fail-score; 1 something at or above it; 2 an error kept the
        scan from being complete (it takes precedence over 1).
  new:  0 the directory was written; 2 it was not (bad usage, existing directory, write error).
  plugins check: 0 every DIR loads; 2 some does not.
  plugins list:  0 the directory loaded; 2 some plugin failed to load.
  plugins test:  0 every golden test passed; 1 some expectation failed (the difference is
        shown); 2 a test could not run (plugin does not load, no or bad expected.json,
        missing sample; it takes precedence over 1).
  run:  the module's exit code (0-255; a code above 255, or negative, is 255); 2 when the
        module did not run to its exit (load error, trap, timeout, memory limit, stdout
        limit: the reason follows `plugbox: error:` on stderr) or on bad usage.
";
