//! The files `plugbox new` writes, embedded at build time. Each is a template: `@@key@@`
//! placeholders are replaced by [`super::fill`].

/// A file to write: its path in the plugin directory, its template, and whether it is a script
/// to make executable.
pub struct Template {
    pub path: &'static str,
    pub text: &'static str,
    pub executable: bool,
}

macro_rules! template {
    ($path:literal) => {
        template!($path, $path, false)
    };
    ($path:literal, $source:literal) => {
        template!($path, $source, false)
    };
    ($path:literal, $source:literal, $executable:literal) => {
        Template {
            path: $path,
            text: include_str!(concat!("templates/", $source)),
            executable: $executable,
        }
    };
}

/// Every language's files: the manifest, the README and the golden test.
pub const COMMON: &[Template] = &[
    template!("plugin.json", "common/plugin.json"),
    template!("README.md", "common/README.md"),
    template!("tests/marked.txt", "common/tests/marked.txt"),
    template!("tests/clean.txt", "common/tests/clean.txt"),
    template!("tests/expected.json", "common/tests/expected.json"),
];

pub const RUST: &[Template] = &[
    // `.in`: a file named Cargo.toml would make this directory a package of its own to Cargo.
    template!("Cargo.toml", "rust/Cargo.toml.in"),
    template!(".cargo/config.toml", "rust/.cargo/config.toml"),
    template!(".gitignore", "rust/.gitignore"),
    template!("src/lib.rs", "rust/src/lib.rs"),
    template!("build.sh", "rust/build.sh", true),
];
pub const RUST_README_FILES: &str = include_str!("templates/rust/README-files.md");

pub const C: &[Template] = &[
    template!("plugin.c", "c/plugin.c"),
    template!("build.sh", "c/build.sh", true),
];
pub const C_README_FILES: &str = include_str!("templates/c/README-files.md");

pub const WAT: &[Template] = &[
    template!("plugin.wat", "wat/plugin.wat"),
    template!("build.sh", "wat/build.sh", true),
];
pub const WAT_README_FILES: &str = include_str!("templates/wat/README-files.md");

pub const ASSEMBLYSCRIPT: &[Template] = &[
    template!("package.json", "assemblyscript/package.json"),
    template!("assembly/index.ts", "assemblyscript/assembly/index.ts"),
    template!(".gitignore", "assemblyscript/.gitignore"),
    template!("build.sh", "assemblyscript/build.sh", true),
];
pub const ASSEMBLYSCRIPT_README_FILES: &str =
    include_str!("templates/assemblyscript/README-files.md");

/// `abi/c/plugbox.h`, copied next to a C plugin's source.
pub const PLUGBOX_H: &str = include_str!("../../../abi/c/plugbox.h");
