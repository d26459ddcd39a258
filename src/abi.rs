//! The host functions a plugin may import (CONTRACT §4, §6 and §10), as the host links them:
//! for tools that check or generate plugins. `abi/ABI.md` describes what each does.
//!
//! ```
//! let imports = plugbox::abi::host_imports();
//! assert!(imports.iter().any(|i| i.module() == "env" && i.name() == "report_finding"));
//! ```

pub use crate::host::imports::{HostImport, ValueType, host_imports};
