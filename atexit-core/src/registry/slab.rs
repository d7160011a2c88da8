//! The registry's slot storage, `Chunked`: fixed-size chunks, each
//! allocated once at its exact size, so memory is 32 bytes per slot plus at
//! most one partly used chunk (a doubling `Vec` wastes up to half), and
//! growing never moves the slots already there (no copy of the whole
//! registry when it grows).

use std::ops::{Index, IndexMut};

const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;

pub(super) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Chunked<T> {
    pub(super) const fn new() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn push(&mut self, value: T) {
        if self.len & (CHUNK - 1) == 0 {
            // The last chunk is full (or there is none): a new one, at its
            // exact size once and for all.
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let chunk = self
            .chunks
            .last_mut()
            .expect("a chunk with room was pushed");
        debug_assert!(chunk.len() < CHUNK && chunk.capacity() == CHUNK);
        chunk.push(value);
        self.len += 1;
    }

    pub(super) fn get(&self, index: usize) -> Option<&T> {
        self.chunks
            .get(index >> CHUNK_BITS)?
            .get(index & (CHUNK - 1))
    }
}

impl<T> Chunked<T> {
    /// The slots `index`, `index - 1`, ... down to the first of `index`'s
    /// chunk, in that order: reached by address, one after another, with no
    /// index computed (and bounds checked) for each.
    pub(super) fn downward_from(&mut self, index: usize) -> impl Iterator<Item = &mut T> {
        self.chunks[index >> CHUNK_BITS][..=index & (CHUNK - 1)]
            .iter_mut()
            .rev()
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        &self.chunks[index >> CHUNK_BITS][index & (CHUNK - 1)]
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.chunks[index >> CHUNK_BITS][index & (CHUNK - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_across_chunks() {
        let mut chunked = Chunked::new();
        for i in 0..3 * CHUNK + 5 {
            chunked.push(i);
        }
        assert_eq!(chunked.len(), 3 * CHUNK + 5);
        for i in [0, CHUNK - 1, CHUNK, 2 * CHUNK + 7, 3 * CHUNK + 4] {
            assert_eq!(chunked[i], i);
            assert_eq!(chunked.get(i), Some(&i));
        }
        assert_eq!(chunked.get(3 * CHUNK + 5), None);
        chunked[CHUNK] = 7;
        assert_eq!(chunked[CHUNK], 7);
        assert!(chunked.chunks.iter().all(|chunk| chunk.capacity() == CHUNK));
        let down: Vec<usize> = chunked.downward_from(CHUNK + 2).map(|&mut v| v).collect();
        assert_eq!(down, [CHUNK + 2, CHUNK + 1, 7]);
    }
}
