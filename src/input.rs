//! What a scan is given: bytes, with the path and the type name plugins are told.

use crate::file_type;

/// One input to scan: any bytes, with the path `get_file_path` returns and the type name
/// `get_file_type` returns and manifests' `file_types` are matched against.
///
/// Without [`file_type`](Input::file_type), the type is detected from the bytes
/// ([`file_type::detect`]); a host with its own kinds of input names them instead.
/// Without [`path`](Input::path), plugins are told the empty path.
///
/// ```
/// use plugbox::Input;
///
/// let data = std::fs::read("examples/samples/marked.txt")?;
/// let file = Input::new(&data).path("examples/samples/marked.txt");
/// assert_eq!(file.file_type_name(), "unknown"); // detected
///
/// let component = Input::new(br#"{"name":"left-pad"}"#)
///     .path("pkg:npm/left-pad@1.3.0")
///     .file_type("sbom-component");
/// assert_eq!(component.file_type_name(), "sbom-component");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    data: &'a [u8],
    path: &'a str,
    file_type: Option<&'a str>,
}

impl<'a> Input<'a> {
    /// `data`, with the empty path and a detected type.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            path: "",
            file_type: None,
        }
    }

    /// Sets the path plugins are told (`get_file_path`). It is only a name: plugins never
    /// open it.
    pub fn path(self, path: &'a str) -> Self {
        Self { path, ..self }
    }

    /// Sets the type name, instead of detecting it from the bytes.
    pub fn file_type(self, file_type: &'a str) -> Self {
        Self {
            file_type: Some(file_type),
            ..self
        }
    }

    /// The bytes plugins see.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The path plugins are told.
    pub fn path_name(&self) -> &'a str {
        self.path
    }

    /// The type name plugins are told: the one set, or the detected one.
    pub fn file_type_name(&self) -> &'a str {
        self.file_type
            .unwrap_or_else(|| file_type::detect(self.data))
    }
}
