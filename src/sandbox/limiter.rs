//! The memory cap (CONTRACT §5): a custom wasmi `ResourceLimiter` that counts every linear
//! memory of a store, declared initial sizes included, against the plugin's `max_memory_mb`.

use wasmi::ResourceLimiter;
use wasmi::errors::{MemoryError, TableError};
use wasmi_core::LimiterError;

use crate::limits::{MAX_TABLE_ELEMENTS, MAX_TABLES};

/// A plugin is one module: one instance, and the one memory the ABI writes into.
pub(crate) const MAX_INSTANCES: usize = 1;
/// See [`MAX_INSTANCES`].
pub(crate) const MAX_MEMORIES: usize = 1;

/// What a refused growth was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// Linear memory, in bytes.
    MemoryBytes,
    /// Table elements, across all tables.
    TableElements,
}

/// A refused growth, kept so that the failure message can say what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// What was asked for.
    pub resource: Resource,
    /// The total the growth asked for.
    pub desired: usize,
    /// The cap in force.
    pub cap: usize,
}

/// Caps the store's linear memory at a byte count and its tables at element counts.
#[derive(Debug)]
pub(crate) struct MemoryCap {
    cap: usize,
    in_use: usize,
    peak: usize,
    pending: usize,
    table_elements: usize,
    pending_elements: usize,
    last_refusal: Option<Refusal>,
}

impl MemoryCap {
    /// A limiter allowing at most `cap` bytes of linear memory.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            in_use: 0,
            peak: 0,
            pending: 0,
            table_elements: 0,
            pending_elements: 0,
            last_refusal: None,
        }
    }

    /// Largest total of linear memory granted so far.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    /// Forgets the last refusal, so that the next call's failures are judged on their own.
    pub(crate) fn clear_refusal(&mut self) {
        self.last_refusal = None;
    }

    /// The last growth this limiter refused, if any.
    pub(crate) fn last_refusal(&self) -> Option<Refusal> {
        self.last_refusal
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let total = (self.in_use - current.min(self.in_use)).saturating_add(desired);
        if total > self.cap {
            self.last_refusal = Some(Refusal {
                resource: Resource::MemoryBytes,
                desired: total,
                cap: self.cap,
            });
            return Ok(false);
        }
        self.pending = desired - current;
        self.in_use = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: &MemoryError) -> Result<(), LimiterError> {
        // Approved but not carried out (out of fuel, or the host allocator said no).
        self.in_use -= std::mem::take(&mut self.pending);
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let total =
            (self.table_elements - current.min(self.table_elements)).saturating_add(desired);
        if total > MAX_TABLE_ELEMENTS {
            self.last_refusal = Some(Refusal {
                resource: Resource::TableElements,
                desired: total,
                cap: MAX_TABLE_ELEMENTS,
            });
            return Ok(false);
        }
        self.pending_elements = desired - current;
        self.table_elements = total;
        Ok(true)
    }

    fn table_grow_failed(&mut self, _error: &TableError) -> Result<(), LimiterError> {
        self.table_elements -= std::mem::take(&mut self.pending_elements);
        Ok(())
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_initial_size_and_growth_against_the_cap() {
        let mut cap = MemoryCap::new(4 * 65536);
        assert!(cap.memory_growing(0, 2 * 65536, None).unwrap());
        assert!(cap.memory_growing(2 * 65536, 4 * 65536, None).unwrap());
        assert!(!cap.memory_growing(4 * 65536, 5 * 65536, None).unwrap());
        assert_eq!(
            cap.last_refusal(),
            Some(Refusal {
                resource: Resource::MemoryBytes,
                desired: 5 * 65536,
                cap: 4 * 65536
            })
        );
        assert_eq!(cap.peak(), 4 * 65536);
    }

    #[test]
    fn failed_growth_is_given_back() {
        let mut cap = MemoryCap::new(2 * 65536);
        assert!(cap.memory_growing(0, 65536, None).unwrap());
        assert!(cap.memory_growing(65536, 2 * 65536, None).unwrap());
        cap.memory_grow_failed(&MemoryError::OutOfBoundsGrowth)
            .unwrap();
        assert!(cap.memory_growing(65536, 2 * 65536, None).unwrap());
    }

    #[test]
    fn tables_are_capped() {
        let mut cap = MemoryCap::new(0);
        assert!(cap.table_growing(0, MAX_TABLE_ELEMENTS, None).unwrap());
        assert!(
            !cap.table_growing(MAX_TABLE_ELEMENTS, MAX_TABLE_ELEMENTS + 1, None)
                .unwrap()
        );
    }
}
