//! A set of 64-bit key hashes by open addressing, sized up front from the rows a check expects
//! (a file's footer tells them), for uniqueness checks that see their keys a batch at a time.
//!
//! Ten million random keys miss the cache on nearly every insert. The slots are one flat array
//! of `u64`, and [`KeySet::insert_each`] asks for the slot of the key a few places ahead
//! before it probes the current one, so several misses are in flight at once instead of one
//! after another. A large array is mapped on its own and asked for huge pages: with 4 KiB
//! pages nearly every random insert into 128 MiB of slots also misses the TLB, which halved
//! the insert rate (10M keys into 16Mi slots: 0.29 s on 4 KiB pages, 0.14 s on 2 MiB pages,
//! faults included).

use memmap2::MmapMut;

/// Marks an empty slot; the key 0 itself is held by [`KeySet::has_zero`].
const EMPTY: u64 = 0;
/// Slots per key aimed at when sizing: at most 7 keys in 10 slots keeps linear probes short.
const LOAD_NUM: usize = 7;
const LOAD_DEN: usize = 10;
/// How many keys ahead the slot is fetched: 32 keeps enough misses in flight on huge pages
/// (16: 5% slower, 8: 20%).
const AHEAD: usize = 32;
/// Slot arrays from this size on are mapped apart and advised to use huge pages (a few of
/// them, so the mapping's cost is nothing beside the faults it saves).
const MAPPED_BYTES: usize = 8 << 20;

/// A set of `u64` keys (hashes: their low bits pick the slot, so they must be well spread).
pub(crate) struct KeySet {
    slots: Slots,
    mask: usize,
    len: usize,
    has_zero: bool,
}

/// The slot array: on the heap when small, an anonymous mapping on huge pages when large.
enum Slots {
    Heap(Vec<u64>),
    Mapped(MmapMut),
}

impl Slots {
    /// `count` empty slots.
    fn new(count: usize) -> Slots {
        let bytes = count.saturating_mul(std::mem::size_of::<u64>());
        if bytes >= MAPPED_BYTES {
            if let Ok(map) = MmapMut::map_anon(bytes) {
                // Advice only: without transparent huge pages the set works on small pages.
                #[cfg(target_os = "linux")]
                let _ = map.advise(memmap2::Advice::HugePage);
                return Slots::Mapped(map);
            }
        }
        Slots::Heap(vec![EMPTY; count])
    }

    fn as_slice(&self) -> &[u64] {
        match self {
            Slots::Heap(v) => v,
            Slots::Mapped(map) => {
                // SAFETY: every bit pattern is a valid u64, and a mapping starts on a page
                // boundary, so the middle part is the whole mapping (its length is a multiple
                // of 8 by construction).
                let (head, slots, _) = unsafe { map.align_to::<u64>() };
                debug_assert!(head.is_empty());
                slots
            }
        }
    }

    fn as_mut_slice(&mut self) -> &mut [u64] {
        match self {
            Slots::Heap(v) => v,
            Slots::Mapped(map) => {
                // SAFETY: as in `as_slice`; the mapping is private to this set, and an anonymous
                // mapping starts zeroed, which is `EMPTY` in every slot.
                let (head, slots, _) = unsafe { map.align_to_mut::<u64>() };
                debug_assert!(head.is_empty());
                slots
            }
        }
    }
}

impl KeySet {
    /// An empty set that holds `keys` keys without growing.
    pub(crate) fn with_capacity(keys: usize) -> KeySet {
        let slots = Self::slots_for(keys);
        KeySet {
            slots: Slots::new(slots),
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
        if (self.len + which.len()) * LOAD_DEN > (self.mask + 1) * LOAD_NUM {
            self.grow(self.len + which.len());
        }
        let mask = self.mask;
        let slots = self.slots.as_mut_slice();
        let mut added = 0;
        for (n, &i) in which.iter().enumerate() {
            if let Some(&ahead) = which.get(n + AHEAD) {
                prefetch(slots, keys[ahead as usize] as usize & mask);
            }
            let i = i as usize;
            let key = keys[i];
            let new = if key == EMPTY {
                !std::mem::replace(&mut self.has_zero, true)
            } else {
                let new = insert(slots, mask, key);
                added += usize::from(new);
                new
            };
            seen(i, new);
        }
        self.len += added;
    }

    /// Rehashes into a table sized for `keys` keys.
    fn grow(&mut self, keys: usize) {
        let mut bigger = KeySet::with_capacity(keys.max(self.mask + 1));
        let mask = bigger.mask;
        let into = bigger.slots.as_mut_slice();
        for &key in self.slots.as_slice().iter().filter(|&&k| k != EMPTY) {
            insert(into, mask, key);
        }
        bigger.len = self.len;
        bigger.has_zero = self.has_zero;
        *self = bigger;
    }
}

/// Inserts `key` (not `EMPTY`) by linear probing; whether it was new.
#[inline]
fn insert(slots: &mut [u64], mask: usize, key: u64) -> bool {
    let mut slot = key as usize & mask;
    loop {
        let held = slots[slot];
        if held == key {
            return false;
        }
        if held == EMPTY {
            slots[slot] = key;
            return true;
        }
        slot = (slot + 1) & mask;
    }
}

#[inline]
fn prefetch(slots: &[u64], slot: usize) {
    let slot = &slots[slot];
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

    #[test]
    fn a_mapped_set_agrees_with_a_hash_set() {
        let keys: Vec<u64> = (0..900_000u64).map(|i| hash_u64(i % 600_001)).collect();
        let which: Vec<u32> = (0..keys.len() as u32).collect();
        let mut set = KeySet::with_capacity(keys.len());
        assert!(matches!(set.slots, Slots::Mapped(_)));
        let mut reference = HashSet::new();
        let mut mismatches = 0;
        set.insert_each(&keys, &which, |i, new| {
            if new != reference.insert(keys[i]) {
                mismatches += 1;
            }
        });
        assert_eq!(mismatches, 0);
        assert_eq!(set.len(), 600_001);
    }
}
