//! `plugbox new NAME [--lang rust|c|wat|assemblyscript] [--dir DIR]`: writes a plugin
//! directory (manifest, source, build script, README, golden test) from the templates in
//! `templates/`, which are embedded in the binary.

mod names;
mod templates;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::args::{Command, text};
pub use names::{Names, names};
use templates::Template;

/// This plugbox's source tree, where the guest crate and the C header are looked for at run
/// time when they are not embedded.
const PLUGBOX_ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Exit code: the plugin directory was written.
const WRITTEN: u8 = 0;
/// Exit code: nothing was written (bad arguments, an existing directory), or writing failed.
const FAILED: u8 = 2;

/// `plugbox new` arguments.
#[derive(Debug)]
pub struct NewArgs {
    pub names: Names,
    pub lang: Lang,
    /// `--dir`; default `./<slug>`.
    pub dir: Option<PathBuf>,
    /// `--guest-crate`: the `plugbox-guest` crate a Rust plugin depends on.
    pub guest_crate: Option<PathBuf>,
}

/// The plugin's languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    C,
    Wat,
    AssemblyScript,
}

impl Lang {
    /// Every language, by its `--lang` name.
    const ALL: [(&'static str, Lang); 4] = [
        ("rust", Lang::Rust),
        ("c", Lang::C),
        ("wat", Lang::Wat),
        ("assemblyscript", Lang::AssemblyScript),
    ];

    fn title(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::C => "C",
            Lang::Wat => "WAT (WebAssembly text)",
            Lang::AssemblyScript => "AssemblyScript",
        }
    }

    fn templates(self) -> &'static [Template] {
        match self {
            Lang::Rust => templates::RUST,
            Lang::C => templates::C,
            Lang::Wat => templates::WAT,
            Lang::AssemblyScript => templates::ASSEMBLYSCRIPT,
        }
    }

    /// The language's rows of the README's table of files.
    fn readme_files(self) -> &'static str {
        match self {
            Lang::Rust => templates::RUST_README_FILES,
            Lang::C => templates::C_README_FILES,
            Lang::Wat => templates::WAT_README_FILES,
            Lang::AssemblyScript => templates::ASSEMBLYSCRIPT_README_FILES,
        }
    }

    /// What `build.sh` needs, for the closing hint.
    fn needs(self) -> &'static str {
        match self {
            Lang::Rust => "cargo; the first build adds the rustup target wasm32-unknown-unknown",
            Lang::C => "clang and wasm-ld (lld)",
            Lang::Wat => "wat2wasm (WABT) or wasm-tools",
            Lang::AssemblyScript => "npm; the first build installs assemblyscript",
        }
    }
}

/// Parses what follows `new`.
pub fn parse_new(mut parser: lexopt::Parser) -> Result<Command, String> {
    use lexopt::prelude::*;
    let mut name: Option<OsString> = None;
    let mut lang = Lang::Rust;
    let mut dir = None;
    let mut guest_crate = None;
    while let Some(arg) = parser.next().map_err(text)? {
        match arg {
            Long("lang") => lang = parse_lang(parser.value().map_err(text)?)?,
            Long("dir") => dir = Some(PathBuf::from(parser.value().map_err(text)?)),
            Long("guest-crate") => {
                guest_crate = Some(PathBuf::from(parser.value().map_err(text)?));
            }
            Short('h') | Long("help") => return Ok(Command::Help),
            Value(value) if name.is_none() => name = Some(value),
            Value(value) => {
                return Err(format!(
                    "new: one NAME only, found another: '{}' (quote a name with spaces: plugbox new \"My Scanner\")",
                    value.to_string_lossy()
                ));
            }
            other => return Err(format!("new: {} (see --help)", other.unexpected())),
        }
    }
    let name = name.ok_or("new: no NAME given; try `plugbox new \"My Scanner\"`")?;
    let name = name
        .into_string()
        .map_err(|name| format!("new: NAME '{}' is not valid UTF-8", name.to_string_lossy()))?;
    if guest_crate.is_some() && lang != Lang::Rust {
        return Err("new: --guest-crate is for --lang rust only".into());
    }
    Ok(Command::New(NewArgs {
        names: names(&name)?,
        lang,
        dir,
        guest_crate,
    }))
}

fn parse_lang(value: OsString) -> Result<Lang, String> {
    let choices = || {
        Lang::ALL
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Lang::ALL
        .iter()
        .find(|(name, _)| value.to_str() == Some(*name))
        .map(|(_, lang)| *lang)
        .ok_or_else(|| {
            format!(
                "new: --lang: unknown language '{}'; the choices are {}",
                value.to_string_lossy(),
                choices()
            )
        })
}

/// The values of the templates' `@@key@@` placeholders but for the Rust template's `guest`.
fn placeholders(names: &Names, lang: Lang) -> Vec<(&'static str, String)> {
    vec![
        ("files", lang.readme_files().to_owned()),
        ("name", names.display.clone()),
        ("name_len", names.display.len().to_string()),
        ("slug", names.slug.clone()),
        ("ident", names.ident.clone()),
        ("lang", lang.title().to_owned()),
        ("engine", env!("CARGO_PKG_VERSION").to_owned()),
    ]
}

/// `template` with each `@@key@@` replaced by its value, in one pass: text put in is not
/// searched again (a NAME may hold `@@`).
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("@@") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("@@").and_then(|end| {
            let (_, value) = values.iter().find(|(key, _)| *key == &after[..end])?;
            Some((value, end))
        });
        match value {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("@@");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Writes the plugin directory and returns the exit code.
pub fn new(args: NewArgs) -> u8 {
    match write_plugin(&args) {
        Ok(report) => {
            // A closed stdout is not worth a panic: the files are written.
            let _ = std::io::stdout().write_all(report.as_bytes());
            WRITTEN
        }
        Err(message) => {
            super::say_error(&message);
            FAILED
        }
    }
}

/// A file to write: its path in the plugin directory, its contents, whether it is a script.
type File = (String, String, bool);

fn write_plugin(args: &NewArgs) -> Result<String, String> {
    let names = &args.names;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&names.slug));
    check_target(&dir)?;

    let mut extra: Vec<File> = Vec::new();
    let mut values = placeholders(names, args.lang);
    match args.lang {
        Lang::Rust => {
            let (dependency, note) =
                guest_dependency(args.guest_crate.as_deref(), Path::new(PLUGBOX_ROOT))?;
            values.push(("guest", dependency));
            if let Some(note) = note {
                eprintln!("{note}");
            }
        }
        Lang::C => extra.push(("plugbox.h".into(), templates::PLUGBOX_H.to_owned(), false)),
        Lang::Wat | Lang::AssemblyScript => {}
    }
    let mut files: Vec<File> = templates::COMMON
        .iter()
        .chain(args.lang.templates())
        .map(|t| (t.path.to_owned(), fill(t.text, &values), t.executable))
        .collect();
    files.extend(extra);

    for (path, contents, executable) in &files {
        write_file(&dir.join(path), contents, *executable)?;
    }

    let shown = dir.display().to_string();
    let mut report = format!(
        "created the {} plugin '{}' in {shown}:\n",
        args.lang.title(),
        names.display
    );
    for (path, _, _) in &files {
        let _ = writeln!(report, "  {}", dir.join(path).display());
    }
    let d = shell_word(&shown);
    let steps = [
        (
            shell_word(&dir.join("build.sh").display().to_string()),
            format!("build {}.wasm (needs {})", names.ident, args.lang.needs()),
        ),
        (
            format!("plugbox plugins check {d}"),
            "check that it loads".to_owned(),
        ),
        (
            format!("plugbox plugins test {d}"),
            "run its golden test (tests/expected.json)".to_owned(),
        ),
        (
            format!(
                "plugbox scan --plugins {d} {}",
                shell_word(&dir.join("tests").display().to_string())
            ),
            "scan files with it".to_owned(),
        ),
    ];
    let width = steps
        .iter()
        .map(|(command, _)| command.len())
        .max()
        .unwrap_or(0);
    report.push_str("next:\n");
    for (command, why) in steps {
        let _ = writeln!(report, "  {command:width$}  # {why}");
    }
    let _ = writeln!(
        report,
        "{} explains the files; the ABI reference is abi/ABI.md in plugbox's source tree.",
        dir.join("README.md").display()
    );
    Ok(report)
}

/// Refuses a DIR that exists and is not an empty directory, and an empty DIR (which would
/// write into the current directory without the check).
fn check_target(dir: &Path) -> Result<(), String> {
    if dir.as_os_str().is_empty() {
        return Err(
            "new: --dir is empty; give a directory (`--dir .` for the current one, if it is empty)"
                .into(),
        );
    }
    let shown = dir.display();
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("new: cannot use {shown}: {e}")),
        Ok(meta) if !meta.is_dir() => Err(format!(
            "new: {shown} exists and is not a directory; give another --dir"
        )),
        Ok(_) => {
            let mut entries = std::fs::read_dir(dir)
                .map_err(|e| format!("new: cannot read the directory {shown}: {e}"))?;
            if entries.next().is_some() {
                return Err(format!(
                    "new: {shown} exists and is not empty; nothing was written (give another --dir, or remove it)"
                ));
            }
            Ok(())
        }
    }
}

/// Writes a new file (never replacing one), creating its directories.
fn write_file(path: &Path, contents: &str, executable: bool) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("new: cannot write {}: {e}", path.display());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if executable { 0o755 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = executable;
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(contents.as_bytes()).map_err(fail)
}

/// The version of `plugbox-guest` a plugin depends on when no source tree is at hand.
const GUEST_CRATE_VERSION: &str = "0.1";

/// The `plugbox-guest` dependency for Cargo.toml: `--guest-crate`, else `abi/rust` in `root`
/// (this plugbox's source tree), else the released crate by version, with a note saying so.
fn guest_dependency(flag: Option<&Path>, root: &Path) -> Result<(String, Option<String>), String> {
    if let Some(path) = flag {
        if !path.join("Cargo.toml").is_file() {
            return Err(format!(
                "new: --guest-crate {}: no Cargo.toml there; give the directory of the plugbox-guest crate (abi/rust in plugbox's source)",
                path.display()
            ));
        }
        let absolute = std::fs::canonicalize(path)
            .map_err(|e| format!("new: --guest-crate {}: {e}", path.display()))?;
        return Ok((path_dependency(&absolute, "--guest-crate")?, None));
    }
    let source = root.join("abi/rust");
    if source.join("Cargo.toml").is_file() {
        return Ok((path_dependency(&source, "the guest crate")?, None));
    }
    let note = format!(
        "note: plugbox's source tree is not at {}: Cargo.toml depends on plugbox-guest {GUEST_CRATE_VERSION} by version; give --guest-crate PATH to build against a local copy (abi/rust in plugbox's source)",
        root.display()
    );
    Ok((
        format!("{{ version = \"{GUEST_CRATE_VERSION}\", features = [\"std\"] }}"),
        Some(note),
    ))
}

fn path_dependency(path: &Path, what: &str) -> Result<String, String> {
    Ok(format!(
        "{{ path = {}, features = [\"std\"] }}",
        toml_string(&utf8_path(path, what)?)
    ))
}

fn utf8_path(path: &Path, what: &str) -> Result<String, String> {
    path.to_str().map(str::to_owned).ok_or_else(|| {
        format!(
            "new: {what}: the path {} is not valid UTF-8, which Cargo.toml needs",
            path.display()
        )
    })
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s`, a path, quoted for a POSIX shell when it needs to be; one that starts with `-` gets a
/// leading `./`, so that a command does not take it for an option.
fn shell_word(s: &str) -> String {
    if s.starts_with('-') {
        return shell_word(&format!("./{s}"));
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=+@%,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let n = names("Check Me").unwrap();
        for lang in Lang::ALL.map(|(_, lang)| lang) {
            let mut values = placeholders(&n, lang);
            values.push(("guest", "{ path = \"/g\" }".into()));
            for t in templates::COMMON.iter().chain(lang.templates()) {
                let text = fill(t.text, &values);
                assert!(!text.contains("@@"), "{lang:?} {}: {text}", t.path);
            }
        }
    }

    #[test]
    fn without_the_source_tree_the_guest_crate_is_a_versioned_dependency() {
        let gone = Path::new("/nonexistent/plugbox");
        let (dependency, note) = guest_dependency(None, gone).unwrap();
        assert_eq!(dependency, r#"{ version = "0.1", features = ["std"] }"#);
        assert!(note.unwrap().contains("--guest-crate PATH"));
        // The source tree, when it is there, wins.
        let here = Path::new(PLUGBOX_ROOT);
        let (dependency, note) = guest_dependency(None, here).unwrap();
        assert!(dependency.contains("abi/rust\""), "{dependency}");
        assert!(note.is_none());
    }

    #[test]
    fn lang_choices_are_listed() {
        let e = parse_lang("go".into()).unwrap_err();
        assert!(e.contains("rust, c, wat, assemblyscript"), "{e}");
        assert_eq!(parse_lang("wat".into()), Ok(Lang::Wat));
    }

    #[test]
    fn quoting() {
        assert_eq!(toml_string(r#"C:\a "b""#), r#""C:\\a \"b\"""#);
        assert_eq!(shell_word("a/b-c"), "a/b-c");
        assert_eq!(shell_word("it's here"), r"'it'\''s here'");
        assert_eq!(shell_word("-x"), "./-x");
        assert_eq!(shell_word("-it's"), r"'./-it'\''s'");
    }

    /// `--dir ''` named the current directory without its emptiness being checked: files
    /// were written into it until one already existed.
    #[test]
    fn an_empty_dir_is_refused() {
        let e = check_target(Path::new("")).unwrap_err();
        assert!(e.contains("--dir is empty"), "{e}");
    }
}
