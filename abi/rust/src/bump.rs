//! A global allocator for `no_std` plugins.

use core::alloc::{GlobalAlloc, Layout};

/// A bump allocator over `memory.grow`, for `no_std` plugins that use the `alloc` feature
/// and have no allocator of their own:
///
/// ```
/// #[cfg(target_arch = "wasm32")]
/// #[global_allocator]
/// static ALLOCATOR: plugbox_guest::BumpAllocator = plugbox_guest::BumpAllocator;
/// ```
///
/// It hands out memory past the module's declared memory (and past any memory grown by
/// others since, such as the pages plugbox grows for the file), growing it as needed, and never
/// frees: `dealloc` does nothing, and a reallocation copies into a new block. That suits
/// plugbox, where every file is scanned in a fresh instance, for plugins that allocate a
/// bounded amount per file; one that allocates and frees in a loop runs into its
/// `max_memory_mb` instead (allocation fails: the plugin traps). With `std`, use std's
/// allocator instead. Off wasm32 every allocation fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct BumpAllocator;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    const PAGE: usize = 65536;

    /// The next free address, 0 before the first allocation.
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    /// The end of memory, as far as this allocator grew it.
    static END: AtomicUsize = AtomicUsize::new(0);

    /// A block of `size` bytes aligned to `align` (a power of two), or null.
    ///
    /// Addresses are computed in `u64`: wasm32 memory may reach 4 GiB, whose end does not fit
    /// a 32-bit `usize`.
    pub fn allocate(size: usize, align: usize) -> *mut u8 {
        let memory_end = core::arch::wasm32::memory_size(0) as u64 * PAGE as u64;
        let mut next = NEXT.load(Relaxed) as u64;
        let mut limit = END.load(Relaxed) as u64;
        if next == 0 || limit != memory_end {
            // The first allocation, or memory grown by someone else (plugbox grows it for the
            // file when the module has no `alloc` export): start past everything there, the
            // module's data, stack and any heap another part of the program thinks it owns.
            next = memory_end;
            limit = memory_end;
        }
        let align = align as u64;
        let start = (next + align - 1) & !(align - 1);
        let end = start + size as u64;
        if end > limit {
            let pages = (end - limit).div_ceil(PAGE as u64);
            let Ok(pages) = usize::try_from(pages) else {
                return core::ptr::null_mut();
            };
            if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                return core::ptr::null_mut();
            }
            limit += pages as u64 * PAGE as u64;
        }
        // Both fit 32 bits once the pages are there, but for an end at exactly 4 GiB, kept as
        // 0: the next call then starts afresh at the end of memory, where growing fails.
        NEXT.store(end as usize, Relaxed);
        END.store(limit as usize, Relaxed);
        start as usize as *mut u8
    }
}

// SAFETY: `alloc` returns null or a block of `layout.size()` bytes aligned to
// `layout.align()` that lies inside memory (the pages were grown before it is handed out)
// and was never handed out before (`NEXT` only moves forward, past the block's end), so
// blocks never overlap; `dealloc` is allowed to do nothing. wasm32 without threads has one
// thread, so the relaxed loads and stores cannot race.
unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        #[cfg(target_arch = "wasm32")]
        return wasm::allocate(layout.size(), layout.align());
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = layout;
            core::ptr::null_mut()
        }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}
