//! NAME, checked, and the directory and file names made from it.

use std::path::Path;

use plugbox::{HostConfig, Manifest};

use super::templates;
use super::{Lang, fill, placeholders};

/// The names made from NAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// NAME as given: the manifest's `name` and the `plugin_name` export.
    pub display: String,
    /// Lower-case ASCII letters, digits and `-`: the default directory, the npm package.
    pub slug: String,
    /// The slug with `_` for `-`, never starting with a digit: the module's file name, the
    /// Rust crate.
    pub ident: String,
}

/// Validates NAME and makes the slug and identifier from it.
pub fn names(name: &str) -> Result<Names, String> {
    let bad = |reason: &str| Err(format!("new: NAME '{}': {reason}", name.escape_debug()));
    if name.trim().is_empty() {
        return bad("is empty; give the plugin's name, e.g. plugbox new \"My Scanner\"");
    }
    if name.trim() != name {
        return bad("starts or ends with white space; remove it");
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return bad(&format!(
            "contains the control character {}; only printable text is accepted",
            c.escape_unicode()
        ));
    }
    if name.contains(['"', '\\']) {
        return bad(
            "contains '\"' or '\\', which the templates cannot put into their string literals as is; leave them out",
        );
    }
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        return bad(
            "has no ASCII letter or digit, which the directory and file names are made from",
        );
    }
    let mut ident = slug.replace('-', "_");
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert_str(0, "plugin_");
    }
    // Names Cargo refuses for a crate, or that would clash with its dependency.
    const RESERVED: &str = "abstract alloc as async await become box break build const continue \
        core crate deps do dyn else enum examples extern false final fn for gen if impl in \
        incremental let loop macro match mod move mut override plugbox_guest priv proc_macro pub \
        ref return self static std struct super test trait true try type typeof unsafe unsized \
        use virtual where while yield";
    if RESERVED.split_whitespace().any(|word| word == ident) {
        ident.push_str("_plugin");
    }
    let names = Names {
        display: name.to_owned(),
        slug,
        ident,
    };
    // The manifest's own rules (length, invisible characters) decide the rest.
    let manifest = fill(templates::COMMON[0].text, &placeholders(&names, Lang::Rust));
    if let Err(error) = Manifest::parse(
        manifest.as_bytes(),
        Path::new("plugin.json"),
        &HostConfig::default(),
    ) {
        return bad(&error.reason);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_make_a_slug_and_an_identifier() {
        let n = names("My Marker Scanner").unwrap();
        assert_eq!(
            (n.display.as_str(), n.slug.as_str(), n.ident.as_str()),
            (
                "My Marker Scanner",
                "my-marker-scanner",
                "my_marker_scanner"
            )
        );
        let n = names("  x").unwrap_err();
        assert!(n.contains("white space"), "{n}");
        let n = names("Ünïcode -- Scanner 2!").unwrap();
        assert_eq!(
            (n.slug.as_str(), n.ident.as_str()),
            ("n-code-scanner-2", "n_code_scanner_2")
        );
        let n = names("42 Rules").unwrap();
        assert_eq!(
            (n.slug.as_str(), n.ident.as_str()),
            ("42-rules", "plugin_42_rules")
        );
        assert_eq!(names("Test").unwrap().ident, "test_plugin");
        assert_eq!(
            names("plugbox guest").unwrap().ident,
            "plugbox_guest_plugin"
        );
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        for (name, expected) in [
            ("", "is empty"),
            ("   ", "is empty"),
            ("a\"b", "string literals"),
            ("a\\b", "string literals"),
            ("a\nb", "control character"),
            ("äöü", "no ASCII letter or digit"),
            ("a\u{202e}b", "invisible"),
        ] {
            let e = names(name).unwrap_err();
            assert!(e.contains(expected), "{name:?}: {e}");
        }
        let e = names(&"x".repeat(129)).unwrap_err();
        assert!(e.contains("at most 128 bytes"), "{e}");
        assert!(names(&"x".repeat(128)).is_ok());
    }
}
