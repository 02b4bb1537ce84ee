//! Parquet's RLE / bit-packed hybrid encoding, as flat columns use it: dictionary keys of a
//! data page and the definition levels of a column with at most one level of nulls (see
//! `super::flat_column`).
//!
//! Runs are read one at a time and may be left part-way at the end of a batch; the next call
//! goes on from there. Bit-packed runs are unpacked eight values (one group) at a time, by a
//! routine specialised for each bit width, so that the shifts and masks are constants. Input
//! that ends early or claims impossible runs is an error, never a panic.

use arrow::array::BooleanBufferBuilder;
use bytes::Bytes;

use crate::error::{Error, Result};

/// Dictionary keys decoded per gather step: small enough to stay in the first-level cache.
pub(crate) const KEYS_PER_STEP: usize = 1024;

/// A reader of one hybrid-encoded stream of unsigned values of `width` bits.
pub(crate) struct Hybrid {
    data: Bytes,
    /// Where the next run's header starts.
    pos: usize,
    width: usize,
    run: Run,
    /// Values of a bit-packed group unpacked ahead: `group[ahead..8]` not yet taken.
    group: [u32; 8],
    ahead: usize,
}

#[derive(Clone, Copy)]
enum Run {
    /// `left` more copies of `value`.
    Repeat {
        value: u32,
        left: usize,
    },
    /// `groups` more groups of eight values, packed from byte `at`; `tail` values of the
    /// last group are real (a run at the end of a page may stop short).
    Packed {
        at: usize,
        groups: usize,
        tail: usize,
    },
    None,
}

fn damaged(what: &str) -> Error {
    Error::corrupt(format!("damaged RLE/bit-packed {what} in a data page"))
}

impl Hybrid {
    /// A reader of `data`, whose values are `width` bits wide (at most 32).
    pub(crate) fn new(data: Bytes, width: usize) -> Result<Hybrid> {
        if width > 32 {
            return Err(Error::corrupt(format!(
                "a data page claims {width}-bit dictionary keys"
            )));
        }
        Ok(Hybrid {
            data,
            pos: 0,
            width,
            run: Run::None,
            group: [0; 8],
            ahead: 8,
        })
    }

    /// Reads the next run's header; false at the end of the data.
    fn next_run(&mut self) -> Result<bool> {
        loop {
            if self.pos >= self.data.len() {
                self.run = Run::None;
                return Ok(false);
            }
            let header = self.varint()?;
            if header & 1 == 1 {
                let groups = usize::try_from(header >> 1).map_err(|_| damaged("run"))?;
                let bytes = groups
                    .checked_mul(self.width)
                    .ok_or_else(|| damaged("run"))?;
                let at = self.pos;
                let available = self.data.len() - at;
                // A last run may be cut short: only whole values that are there count.
                let (groups, tail) = match available
                    .checked_mul(8)
                    .and_then(|b| b.checked_div(self.width))
                {
                    Some(values) if bytes > available => {
                        let tail = if values.is_multiple_of(8) {
                            8
                        } else {
                            values % 8
                        };
                        (values.div_ceil(8), tail)
                    }
                    _ => (groups, 8),
                };
                self.pos = at + bytes.min(available);
                if groups > 0 {
                    self.run = Run::Packed { at, groups, tail };
                    return Ok(true);
                }
            } else {
                let left = usize::try_from(header >> 1).map_err(|_| damaged("run"))?;
                let size = self.width.div_ceil(8);
                let end = self.pos + size;
                let bytes = self.data.get(self.pos..end).ok_or_else(|| damaged("run"))?;
                let mut le = [0u8; 4];
                le[..size].copy_from_slice(bytes);
                self.pos = end;
                if left > 0 {
                    self.run = Run::Repeat {
                        value: u32::from_le_bytes(le),
                        left,
                    };
                    return Ok(true);
                }
            }
        }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .data
                .get(self.pos)
                .ok_or_else(|| damaged("run header"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(damaged("run header"))
    }

    /// Unpacks the group at byte `at` into `self.group`.
    fn unpack_group(&mut self, at: usize) {
        let bytes = self.data.get(at..).unwrap_or(&[]);
        unpack8(bytes, self.width, &mut self.group);
    }

    /// Calls `each` with runs of at most `n` values in all, in order: `Ok(Piece)`s of one
    /// repeated value or of values unpacked into a slice. Returns how many values it gave,
    /// fewer than `n` only at the end of the data.
    pub(crate) fn read(
        &mut self,
        n: usize,
        scratch: &mut Vec<u32>,
        each: &mut dyn FnMut(Piece<'_>) -> Result<()>,
    ) -> Result<usize> {
        let mut given = 0;
        while given < n {
            let want = n - given;
            // Values of a group unpacked ahead first.
            if self.ahead < 8 {
                let end = match self.run {
                    // The group unpacked ahead was the run's last: its tail bounds it.
                    Run::Packed {
                        groups: 0, tail, ..
                    } => tail,
                    _ => 8,
                };
                if self.ahead >= end {
                    self.ahead = 8;
                } else {
                    let take = want.min(end - self.ahead);
                    let values = &self.group[self.ahead..self.ahead + take];
                    scratch.clear();
                    scratch.extend_from_slice(values);
                    each(Piece::Values(scratch))?;
                    self.ahead += take;
                    given += take;
                    continue;
                }
            }
            match self.run {
                Run::None | Run::Packed { groups: 0, .. } | Run::Repeat { left: 0, .. } => {
                    if !self.next_run()? {
                        return Ok(given);
                    }
                }
                Run::Repeat { value, left } => {
                    let take = want.min(left);
                    each(Piece::Repeat(value, take))?;
                    self.run = Run::Repeat {
                        value,
                        left: left - take,
                    };
                    given += take;
                }
                Run::Packed { at, groups, tail } => {
                    // Whole groups straight into the scratch, the last partial one ahead.
                    let full_groups = if tail < 8 { groups - 1 } else { groups };
                    let whole = (want / 8).min(full_groups).min(KEYS_PER_STEP / 8);
                    if whole > 0 {
                        scratch.clear();
                        scratch.resize(whole * 8, 0);
                        let bytes = self.data.get(at..).unwrap_or(&[]);
                        unpack(bytes, self.width, scratch);
                        each(Piece::Values(scratch))?;
                        self.run = Run::Packed {
                            at: at + whole * self.width,
                            groups: groups - whole,
                            tail,
                        };
                        given += whole * 8;
                    } else {
                        self.unpack_group(at);
                        self.ahead = 0;
                        self.run = Run::Packed {
                            at: at + self.width,
                            groups: groups - 1,
                            tail,
                        };
                    }
                }
            }
        }
        Ok(given)
    }

    /// Appends `n` validity bits (definition levels of a column whose only levels are 0 and
    /// 1) to `validity`; returns how many were 1. Fewer than `n` levels is an error.
    pub(crate) fn read_validity(
        &mut self,
        n: usize,
        validity: &mut BooleanBufferBuilder,
        scratch: &mut Vec<u32>,
    ) -> Result<usize> {
        if self.width != 1 {
            return Err(Error::corrupt(
                "definition levels of a flat column are not one bit wide",
            ));
        }
        let mut valid = 0;
        let got = self.read(n, scratch, &mut |piece| {
            match piece {
                Piece::Repeat(level, count) => {
                    if level > 1 {
                        return Err(damaged("definition levels (over 1)"));
                    }
                    validity.append_n(count, level == 1);
                    if level == 1 {
                        valid += count;
                    }
                }
                Piece::Values(levels) => {
                    // Packed eight to a byte, then appended at once.
                    if levels.len() > KEYS_PER_STEP {
                        return Err(Error::internal("a run of levels longer than a step"));
                    }
                    let mut bits = [0u8; KEYS_PER_STEP / 8];
                    let mut ones = 0;
                    for (chunk, byte) in levels.chunks(8).zip(bits.iter_mut()) {
                        for (i, &level) in chunk.iter().enumerate() {
                            *byte |= u8::from(level & 1 == 1) << i;
                            ones += usize::from(level == 1);
                        }
                    }
                    if levels.iter().any(|&l| l > 1) {
                        return Err(damaged("definition levels (over 1)"));
                    }
                    validity.append_packed_range(0..levels.len(), &bits);
                    valid += ones;
                }
            }
            Ok(())
        })?;
        if got < n {
            return Err(damaged("definition levels (too few)"));
        }
        Ok(valid)
    }
}

/// A stretch of decoded values.
pub(crate) enum Piece<'a> {
    /// One value, this many times.
    Repeat(u32, usize),
    Values(&'a [u32]),
}

/// Unpacks one group of eight `width`-bit values from `bytes` (missing bytes read as zero).
fn unpack8(bytes: &[u8], width: usize, out: &mut [u32; 8]) {
    unpack(bytes, width, out);
}

/// Unpacks `out.len() / 8` groups of eight `width`-bit values from `bytes` (missing bytes read
/// as zero), by a loop specialised for the width.
fn unpack(bytes: &[u8], width: usize, out: &mut [u32]) {
    macro_rules! widths {
        ($($w:literal)*) => {
            match width {
                $($w => unpack_groups::<$w>(bytes, out),)*
                _ => out.fill(0),
            }
        };
    }
    widths!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32);
}

/// [`unpack`] for a width known when compiling: value `i` of a group is bits `i*W..(i+1)*W`
/// of its `W` bytes, least significant first.
#[inline(always)]
fn unpack_groups<const W: usize>(bytes: &[u8], out: &mut [u32]) {
    let mask = if W == 32 {
        u64::from(u32::MAX)
    } else {
        (1u64 << W) - 1
    };
    for (g, group) in out.chunks_exact_mut(8).enumerate() {
        let base = g * W;
        // Every value's eight-byte read stays inside `bytes` but near the end, where the
        // group is copied out with zeros after it.
        let mut padded = [0u8; 40];
        let src: &[u8] = match bytes.get(base..base + W + 8) {
            Some(src) => src,
            None => {
                let have = bytes.get(base..).unwrap_or(&[]);
                let have = &have[..have.len().min(W)];
                padded[..have.len()].copy_from_slice(have);
                &padded[..W + 8]
            }
        };
        for (i, value) in group.iter_mut().enumerate() {
            let bit = i * W;
            let byte = bit / 8;
            let mut word = [0u8; 8];
            word.copy_from_slice(&src[byte..byte + 8]);
            // Truncation is intended: the mask keeps at most 32 bits.
            *value = ((u64::from_le_bytes(word) >> (bit % 8)) & mask) as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(h: &mut Hybrid, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        h.read(n, &mut scratch, &mut |p| {
            match p {
                Piece::Repeat(v, c) => out.extend(std::iter::repeat_n(v, c)),
                Piece::Values(v) => out.extend_from_slice(v),
            }
            Ok(())
        })
        .unwrap();
        out
    }

    /// Bit-packs `values` (a multiple of 8) at `width` bits, with its run header.
    fn packed(values: &[u32], width: usize) -> Vec<u8> {
        let mut out = vec![(((values.len() / 8) << 1) | 1) as u8];
        let mut bits = vec![0u8; values.len() * width / 8];
        for (i, v) in values.iter().enumerate() {
            for b in 0..width {
                if v >> b & 1 == 1 {
                    let at = i * width + b;
                    bits[at / 8] |= 1 << (at % 8);
                }
            }
        }
        out.extend(bits);
        out
    }

    #[test]
    fn runs_of_every_width_come_back_in_any_step() {
        for width in 1..=32usize {
            let max = if width == 32 {
                u32::MAX
            } else {
                (1u32 << width) - 1
            };
            let values: Vec<u32> = (0..64u32)
                .map(|i| i.wrapping_mul(2_654_435_761) & max)
                .collect();
            let mut data = packed(&values, width);
            // An RLE run of 5 copies of `max`, then 16 more packed values.
            data.push(5 << 1);
            data.extend_from_slice(&max.to_le_bytes()[..width.div_ceil(8)]);
            data.extend(packed(&values[..16], width));
            let mut want = values.clone();
            want.extend(std::iter::repeat_n(max, 5));
            want.extend_from_slice(&values[..16]);
            for step in [1, 3, 8, 13, 1000] {
                let mut h = Hybrid::new(Bytes::from(data.clone()), width).unwrap();
                let mut got = Vec::new();
                loop {
                    let part = all(&mut h, step);
                    if part.is_empty() {
                        break;
                    }
                    got.extend(part);
                }
                assert_eq!(got, want, "width {width} step {step}");
            }
        }
    }

    #[test]
    fn a_short_last_run_gives_what_is_there_and_bad_headers_are_errors() {
        // Claims 2 groups of 3-bit values but holds one byte: two whole values.
        let mut h = Hybrid::new(Bytes::from(vec![0b101, 0b0001_1010]), 3).unwrap();
        assert_eq!(all(&mut h, 100), vec![2, 3]);
        let mut h = Hybrid::new(Bytes::from(vec![0x80; 12]), 3).unwrap();
        let mut scratch = Vec::new();
        assert!(h.read(10, &mut scratch, &mut |_| Ok(())).is_err());
        // An RLE run whose value is missing.
        let mut h = Hybrid::new(Bytes::from(vec![4 << 1]), 8).unwrap();
        assert!(h.read(10, &mut scratch, &mut |_| Ok(())).is_err());
        assert!(Hybrid::new(Bytes::new(), 33).is_err());
    }

    #[test]
    fn validity_from_levels() {
        let mut data = packed(&[1, 0, 1, 1, 0, 0, 1, 1], 1);
        data.extend([3 << 1, 1]);
        let mut h = Hybrid::new(Bytes::from(data), 1).unwrap();
        let mut validity = BooleanBufferBuilder::new(0);
        let mut scratch = Vec::new();
        assert_eq!(h.read_validity(11, &mut validity, &mut scratch).unwrap(), 8);
        let bits: Vec<bool> = (0..11).map(|i| validity.get_bit(i)).collect();
        assert_eq!(
            bits,
            [true, false, true, true, false, false, true, true, true, true, true]
        );
        assert!(h.read_validity(1, &mut validity, &mut scratch).is_err());
    }
}
