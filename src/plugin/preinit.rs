//! Pre-initialising a loaded plugin (`sandbox::preinit`): its start function and
//! `_initialize` run once more, on an instance of their own whose host imports refuse
//! everything that could differ from one file to the next (`host::preinit`), and the state
//! they leave is kept for every later instance. If they call such a function, trap, run out
//! of time, or leave state behind that cannot be carried over, the plugin runs them in every
//! instance as before; the reason is logged at debug level.

use super::Plugin;
use crate::findings::Stage;
use crate::host::{self, HostState};
use crate::sandbox::Sandbox;
use crate::sandbox::preinit::InitImage;
use crate::sandbox::rewrite::StateExports;

impl Plugin {
    /// Captures what initialisation leaves, if the plugin has initialisation to skip.
    pub(super) fn pre_initialize(&mut self) {
        if self.start_export.is_none() && !self.exports.initialize {
            return;
        }
        let Some(exports) = &self.state_exports else {
            log::debug!(
                "plugin '{}' is not pre-initialised: it imports more than functions or has passive segments",
                self.name()
            );
            return;
        };
        let linker = host::preinit::linker(&self.runtime.engine);
        let mut sandbox = Sandbox::new(&linker, self.host_state("", ""), self.budget(), None);
        match self.capture(&mut sandbox, exports) {
            Ok(image) => {
                log::debug!(
                    "plugin '{}' is pre-initialised: each instance gets {} bytes of memory from load",
                    self.name(),
                    image.patched_bytes()
                );
                self.init_image = Some(image);
            }
            Err(reason) => log::debug!("plugin '{}' is not pre-initialised: {reason}", self.name()),
        }
    }

    fn capture(
        &self,
        sandbox: &mut Sandbox<'_, HostState>,
        exports: &StateExports,
    ) -> Result<InitImage, String> {
        sandbox
            .instantiate(&self.module, None)
            .map_err(|f| f.reason)?;
        let before = sandbox.before_init(exports);
        let mut run = |name: &str, stage| {
            sandbox
                .call::<(), ()>(name, (), stage, &sandbox.deadline())
                .map_err(|f| f.reason)
        };
        if let Some(start) = &self.start_export {
            run(start, Stage::Instantiate)?;
        }
        if self.exports.initialize {
            run("_initialize", Stage::Initialize)?;
        }
        if let Some(reason) = host::preinit::leftover_state(sandbox.state()) {
            return Err(reason.into());
        }
        sandbox.capture(before, exports)
    }
}
