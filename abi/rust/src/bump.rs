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
/// It hands out memory past the module's declared memory, growing it as needed, and never
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
    pub fn allocate(size: usize, align: usize) -> *mut u8 {
        let mut next = NEXT.load(Relaxed);
        if next == 0 {
            // Start past everything the module declared: its data, stack and any heap
            // another part of the program might think it owns.
            next = core::arch::wasm32::memory_size(0) * PAGE;
            END.store(next, Relaxed);
        }
        let Some(start) = next.checked_add(align - 1).map(|a| a & !(align - 1)) else {
            return core::ptr::null_mut();
        };
        let Some(end) = start.checked_add(size) else {
            return core::ptr::null_mut();
        };
        let limit = END.load(Relaxed);
        if end > limit {
            let pages = (end - limit).div_ceil(PAGE);
            if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                return core::ptr::null_mut();
            }
            END.store(limit + pages * PAGE, Relaxed);
        }
        NEXT.store(end, Relaxed);
        start as *mut u8
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
