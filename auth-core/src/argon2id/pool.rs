//! Argon2 working memory, kept and reused: one buffer per concurrency
//! permit instead of a fresh 19 MiB allocation per hash, which allocators
//! such as glibc's keep after it is freed, so RSS grew with every sign-in.

use std::sync::{Arc, Mutex, PoisonError};

use argon2::Block;
use zeroize::Zeroize;

use crate::AuthError;

/// Buffers of `blocks` Argon2 blocks (1 KiB each).
///
/// A buffer is taken only by a job that holds one of the hasher's permits
/// and is made only when none is free, so at most one buffer per permit
/// ever exists: memory is bounded by construction, not by the allocator.
/// Buffers are made on first use, so an idle hasher costs nothing.
#[derive(Debug)]
pub(super) struct BlockPool {
    blocks: usize,
    free: Mutex<Vec<Vec<Block>>>,
}

impl BlockPool {
    pub(super) fn new(blocks: usize) -> Self {
        Self {
            blocks,
            free: Mutex::new(Vec::new()),
        }
    }

    /// Blocks per pooled buffer.
    pub(super) fn blocks(&self) -> usize {
        self.blocks
    }

    /// A free buffer, or a new one when none is. Call with a permit held.
    pub(super) fn take(self: &Arc<Self>) -> Result<Pooled, AuthError> {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let buffer = match reused {
            Some(buffer) => buffer,
            None => allocate(self.blocks)?,
        };
        Ok(Pooled {
            pool: Arc::clone(self),
            buffer,
        })
    }

    /// How many buffers are free (tests check that it stays within the
    /// permits).
    #[cfg(test)]
    pub(super) fn free_buffers(&self) -> usize {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A buffer on loan from the pool: wiped and given back when dropped.
pub(super) struct Pooled {
    pool: Arc<BlockPool>,
    buffer: Vec<Block>,
}

impl AsMut<[Block]> for Pooled {
    fn as_mut(&mut self) -> &mut [Block] {
        &mut self.buffer
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        wipe(&mut self.buffer);
        let buffer = std::mem::take(&mut self.buffer);
        self.pool
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(buffer);
    }
}

/// A buffer of `blocks` zeroed blocks, for the pool or for one stored hash
/// that needs more than the pool's (see `phc::MAX_STORED_MEMORY_KIB`).
///
/// # Errors
/// [`AuthError::Internal`] when the memory cannot be had, instead of the
/// abort an infallible allocation would be.
pub(super) fn allocate(blocks: usize) -> Result<Vec<Block>, AuthError> {
    let mut buffer = Vec::new();
    buffer
        .try_reserve_exact(blocks)
        .map_err(AuthError::internal)?;
    buffer.resize(blocks, Block::new());
    Ok(buffer)
}

/// Overwrites the password-derived state a hash leaves behind, so a pooled
/// buffer does not keep the last one in memory for the process's lifetime.
pub(super) fn wipe(buffer: &mut [Block]) {
    buffer.iter_mut().for_each(Zeroize::zeroize);
}
