//! A set of 64-bit key hashes by open addressing, sized up front from the rows a check expects
//! (a file's footer tells them), for uniqueness checks that see their keys a batch at a time.
//!
//! Ten million random keys miss the cache on nearly every insert. The slots are one flat array
//! of `u64`, and [`KeySet::insert_each`] asks for the slot of the key a few places ahead
//! before it probes the current one, so several misses are in flight at once instead of one
//! after another.

/// Marks an empty slot; the key 0 itself is held by [`KeySet::has_zero`].
const EMPTY: u64 = 0;
/// Slots per key aimed at when sizing: at most 7 keys in 10 slots keeps linear probes short.
const LOAD_NUM: usize = 7;
const LOAD_DEN: usize = 10;
/// How many keys ahead the slot is fetched.
const AHEAD: usize = 16;

/// A set of `u64` keys (hashes: their low bits pick the slot, so they must be well spread).
pub(crate) struct KeySet {
    slots: Vec<u64>,
    mask: usize,
    len: usize,
    has_zero: bool,
}

impl KeySet {
    /// An empty set that holds `keys` keys without growing.
    pub(crate) fn with_capacity(keys: usize) -> KeySet {
        let slots = Self::slots_for(keys);
        KeySet {
            slots: vec![EMPTY; slots],
            mask: slots - 1,
            len: 0,
            has_zero: false,
        }
    }

    /// Slots (a power of two) that hold `keys` keys at the aimed load.
    fn slots_for(keys: usize) -> usize {
        (keys.saturating_mul(LOAD_DEN) / LOAD_NUM + 1)
            .max(16)
            .next_power_of_two()
    }

    /// Bytes a set sized for `keys` keys takes.
    pub(crate) fn bytes_for(keys: usize) -> usize {
        Self::slots_for(keys).saturating_mul(std::mem::size_of::<u64>())
    }

    /// Keys held.
    pub(crate) fn len(&self) -> usize {
        self.len + usize::from(self.has_zero)
    }

    /// Inserts `keys[i]` for each `i` of `which`, in that order, and calls `seen(i, new)`
    /// with whether the key was new.
    pub(crate) fn insert_each(
        &mut self,
        keys: &[u64],
        which: &[u32],
        mut seen: impl FnMut(usize, bool),
    ) {
        // Grow before, not during: a batch's keys then probe one table.
        if (self.len + which.len()) * LOAD_DEN > self.slots.len() * LOAD_NUM {
            self.grow(self.len + which.len());
        }
        for (n, &i) in which.iter().enumerate() {
            if let Some(&ahead) = which.get(n + AHEAD) {
                self.prefetch(keys[ahead as usize]);
            }
            let i = i as usize;
            seen(i, self.insert(keys[i]));
        }
    }

    /// Inserts `key`; whether it was new.
    #[inline]
    fn insert(&mut self, key: u64) -> bool {
        if key == EMPTY {
            return !std::mem::replace(&mut self.has_zero, true);
        }
        let mut slot = key as usize & self.mask;
        loop {
            let held = self.slots[slot];
            if held == key {
                return false;
            }
            if held == EMPTY {
                self.slots[slot] = key;
                self.len += 1;
                return true;
            }
            slot = (slot + 1) & self.mask;
        }
    }

    #[inline]
    fn prefetch(&self, key: u64) {
        let slot = &self.slots[key as usize & self.mask];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: SSE is part of every x86_64 target, and a prefetch only hints the
            // cache: it reads nothing and cannot fault (the address is a live slot anyway).
            unsafe { _mm_prefetch::<_MM_HINT_T0>((slot as *const u64).cast::<i8>()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        std::hint::black_box(*slot);
    }

    /// Rehashes into a table sized for `keys` keys.
    fn grow(&mut self, keys: usize) {
        let mut bigger = KeySet::with_capacity(keys.max(self.slots.len()));
        for &key in self.slots.iter().filter(|&&k| k != EMPTY) {
            bigger.insert(key);
        }
        bigger.has_zero = self.has_zero;
        *self = bigger;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::hash::hash_u64;
    use std::collections::HashSet;

    #[test]
    fn agrees_with_a_hash_set_and_grows() {
        let keys: Vec<u64> = (0..50_000u64)
            .map(|i| if i % 97 == 0 { 0 } else { hash_u64(i % 20_011) })
            .collect();
        let which: Vec<u32> = (0..keys.len() as u32).collect();
        // Sized far too small: it must grow and still agree.
        let mut set = KeySet::with_capacity(10);
        let mut reference = HashSet::new();
        let mut mismatches = 0;
        for chunk in which.chunks(1000) {
            set.insert_each(&keys, chunk, |i, new| {
                if new != reference.insert(keys[i]) {
                    mismatches += 1;
                }
            });
        }
        assert_eq!(mismatches, 0);
        assert_eq!(set.len(), reference.len());
        assert!(KeySet::bytes_for(1_000_000) <= 2 * 8 * 1_000_000 * LOAD_DEN / LOAD_NUM);
    }
}
