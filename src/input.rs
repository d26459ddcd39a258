//! What a scan is given: bytes, with the path and the type name plugins are told.

use std::fmt;
use std::sync::Arc;

use crate::file_type;

/// Input bytes the host shares with plugins that read through the `plugbox` helpers
/// (`"input": "host"`, or a plugin importing `plugbox.*`), without a copy: any owner of the
/// bytes, behind an `Arc`. Hand one to [`Input::shared`].
///
/// ```
/// use std::sync::Arc;
/// use plugbox::SharedBytes;
///
/// let data: SharedBytes = Arc::new(std::fs::read("examples/samples/marked.txt")?); // no copy
/// let from_slice: SharedBytes = Arc::new(b"bytes".to_vec());
/// # Ok::<(), std::io::Error>(())
/// ```
pub type SharedBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// One input to scan: any bytes, with the path `get_file_path` returns and the type name
/// `get_file_type` returns and manifests' `file_types` are matched against.
///
/// Without [`file_type`](Input::file_type), the type is detected from the bytes
/// ([`file_type::detect`]); a host with its own kinds of input names them instead.
/// Without [`path`](Input::path), plugins are told the empty path.
///
/// Plugins that read the data through the host helpers (`plugbox.read`, `plugbox.find`) need
/// it shared: made with [`Input::shared`], it is shared as it is; made with [`Input::new`], a
/// scan that runs such a plugin copies it once into a [`SharedBytes`], for all of them.
/// Plugins with `"input": "copy"` that do not import `plugbox` never need it.
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
#[derive(Clone, Copy)]
pub struct Input<'a> {
    data: &'a [u8],
    shared: Option<&'a SharedBytes>,
    path: &'a str,
    file_type: Option<&'a str>,
}

impl fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("data", &format_args!("{} bytes", self.data.len()))
            .field("shared", &self.shared.is_some())
            .field("path", &self.path)
            .field("file_type", &self.file_type)
            .finish()
    }
}

impl<'a> Input<'a> {
    /// `data`, with the empty path and a detected type.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            shared: None,
            path: "",
            file_type: None,
        }
    }

    /// Shared `data`, with the empty path and a detected type: plugins that read through the
    /// host helpers see these bytes without a copy ([`SharedBytes`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use plugbox::{Input, SharedBytes};
    ///
    /// let data: SharedBytes = Arc::new(std::fs::read("examples/samples/marked.txt")?);
    /// let input = Input::shared(&data).path("examples/samples/marked.txt");
    /// assert_eq!(input.data().len(), (*data).as_ref().len());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shared(data: &'a SharedBytes) -> Self {
        Self {
            shared: Some(data),
            ..Self::new((**data).as_ref())
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

    /// The shared bytes, when made with [`Input::shared`].
    pub(crate) fn shared_bytes(&self) -> Option<&'a SharedBytes> {
        self.shared
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
