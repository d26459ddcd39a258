//! Guest memory as WASI calls see it: bounds-checked typed access and iovec arrays. Every
//! access names the argument it serves, so a bad pointer traps with a message that says which.

use super::Fail;
use super::errno;
use crate::limits::MAX_IOVECS;
use crate::sandbox::guest_memory;

/// `base + offset` as a guest address; a trap if it passes the end of the 32-bit space.
pub(super) fn offset(base: i32, offset: u32, what: &str) -> Result<i32, wasmi::Error> {
    match (base as u32).checked_add(offset) {
        Some(address) => Ok(address as i32),
        None => Err(wasmi::Error::new(format!(
            "{what}: address {} + {offset} lies outside the 32-bit address space",
            base as u32
        ))),
    }
}

/// A bounds-checked iovec array in guest memory.
#[derive(Clone, Copy)]
pub(super) struct Iovecs {
    base: i32,
    pub(super) count: u32,
}

/// Guest memory with bounds-checked typed access; `what` names the argument in traps.
pub(super) struct Mem<'a>(pub(super) &'a mut [u8]);

impl Mem<'_> {
    pub(super) fn bytes(&self, ptr: i32, len: i32, what: &str) -> Result<&[u8], wasmi::Error> {
        let range = guest_memory::range(self.0.len(), ptr, len, what)?;
        Ok(&self.0[range])
    }

    pub(super) fn bytes_mut(
        &mut self,
        ptr: i32,
        len: usize,
        what: &str,
    ) -> Result<&mut [u8], wasmi::Error> {
        // Guest lengths are unsigned 32-bit values; `range` reads the i32 as one.
        let len = u32::try_from(len).map_err(|_| {
            wasmi::Error::new(format!(
                "{what}: {len} bytes exceed the 32-bit address space"
            ))
        })?;
        let range = guest_memory::range(self.0.len(), ptr, len as i32, what)?;
        Ok(&mut self.0[range])
    }

    pub(super) fn u32_at(&self, ptr: i32, what: &str) -> Result<u32, wasmi::Error> {
        let b = self.bytes(ptr, 4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn u64_at(&self, ptr: i32, what: &str) -> Result<u64, wasmi::Error> {
        let mut b = [0; 8];
        b.copy_from_slice(self.bytes(ptr, 8, what)?);
        Ok(u64::from_le_bytes(b))
    }

    pub(super) fn put(&mut self, ptr: i32, value: &[u8], what: &str) -> Result<(), wasmi::Error> {
        self.bytes_mut(ptr, value.len(), what)?
            .copy_from_slice(value);
        Ok(())
    }

    pub(super) fn put_u32(&mut self, ptr: i32, value: u32, what: &str) -> Result<(), wasmi::Error> {
        self.put(ptr, &value.to_le_bytes(), what)
    }

    pub(super) fn put_u64(&mut self, ptr: i32, value: u64, what: &str) -> Result<(), wasmi::Error> {
        self.put(ptr, &value.to_le_bytes(), what)
    }

    /// The iovec array of `count` entries at `ptr`, checked against memory as a whole; each
    /// buffer is checked when it is used. More than [`MAX_IOVECS`] is `INVAL`.
    pub(super) fn iovecs(&self, ptr: i32, count: i32, what: &str) -> Result<Iovecs, Fail> {
        let count = count as u32;
        if count > MAX_IOVECS {
            return Err(errno::INVAL.into());
        }
        self.bytes(ptr, (count * 8) as i32, what)?;
        Ok(Iovecs { base: ptr, count })
    }

    /// The `(buf, len)` pair of iovec `i` of an array checked by [`Mem::iovecs`].
    pub(super) fn iovec(
        &self,
        iovecs: Iovecs,
        i: u32,
        what: &str,
    ) -> Result<(i32, i32), wasmi::Error> {
        let at = offset(iovecs.base, i * 8, what)?;
        let buf = self.u32_at(at, what)? as i32;
        let len = self.u32_at(offset(at, 4, what)?, what)? as i32;
        Ok((buf, len))
    }
}
