//! SHA-256 of several independent messages at once, on one core.
//!
//! The x86 SHA extensions hash one message as fast as the chain of `sha256rnds2`
//! instructions allows: each round pair waits for the previous one, so the unit sits idle
//! between them. Interleaving the rounds of two or three messages fills those gaps. On the
//! bench machine (AMD EPYC, Zen 5), 256 MiB in memory per message, measured once with a
//! throwaway program calling this kernel (the effect on manifests is in BENCHMARKS.md:
//! the 1 GiB + 2,000-file folder went from 0.40 to 0.29 s):
//!
//! | messages at once | GB/s per core |
//! |---|---|
//! | 1 (as `sha2` and OpenSSL) | 1.77 |
//! | 2 | 2.6 |
//! | 3 | 2.9-3.0 |
//! | 4 | 2.3-2.7 (registers spill) |
//!
//! This helps wherever there are many independent streams: the shards and files of a
//! manifest. One long stream (a single file in files mode) cannot use it.
//!
//! The digests are plain SHA-256 (FIPS 180-4); only the order of the instructions differs.
//! On other CPUs `interleaved()` is false and callers hash one stream at a time.

/// Messages hashed together by one core.
pub const LANES: usize = 3;

/// Initial hash value (FIPS 180-4, 5.3.3).
pub const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Round constants (FIPS 180-4, 4.2.2).
#[cfg(target_arch = "x86_64")]
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Whether this CPU has the instructions the interleaved kernel needs (checked once).
pub fn interleaved() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            std::is_x86_feature_detected!("sha")
                && std::is_x86_feature_detected!("sse4.1")
                && std::is_x86_feature_detected!("ssse3")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One message being hashed: its chaining value and how many bytes it has absorbed
/// (always whole 64-byte blocks until `finish`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream {
    h: [u32; 8],
    absorbed: u64,
}

impl Default for Stream {
    fn default() -> Self {
        Stream { h: IV, absorbed: 0 }
    }
}

impl Stream {
    /// The digest of everything absorbed followed by `tail` (shorter than one block).
    pub fn finish(mut self, tail: &[u8]) -> [u8; 32] {
        assert!(
            tail.len() < 64,
            "finish: the tail must be shorter than a block"
        );
        let bits = (self.absorbed + tail.len() as u64).wrapping_mul(8);
        let mut last = [0u8; 128];
        last[..tail.len()].copy_from_slice(tail);
        last[tail.len()] = 0x80;
        let used = if tail.len() < 56 { 64 } else { 128 };
        last[used - 8..used].copy_from_slice(&bits.to_be_bytes());
        absorb(&mut [&mut self], &[&last[..used]]);
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(self.h) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// Absorbs the whole blocks of `data[i]` into `streams[i]`, hashing up to `LANES` of them
/// at once. Every slice must be a whole number of blocks; they may differ in length (the
/// longer ones go on with fewer companions once the shorter ones are done).
pub fn absorb(streams: &mut [&mut Stream], data: &[&[u8]]) {
    assert_eq!(streams.len(), data.len(), "absorb: one slice per stream");
    assert!(
        data.iter().all(|d| d.len() % 64 == 0),
        "absorb: whole blocks only"
    );
    let mut done = vec![0usize; data.len()];
    loop {
        // The (at most LANES) streams with blocks left, and the blocks all of them have.
        let mut pick = [0usize; LANES];
        let mut n = 0;
        let mut blocks = usize::MAX;
        for (i, d) in data.iter().enumerate() {
            let left = (d.len() - done[i]) / 64;
            if left > 0 && n < LANES {
                pick[n] = i;
                n += 1;
                blocks = blocks.min(left);
            }
        }
        if n == 0 {
            return;
        }
        let mut h = [[0u32; 8]; LANES];
        let mut parts: [&[u8]; LANES] = [&[]; LANES];
        for k in 0..n {
            let i = pick[k];
            h[k] = streams[i].h;
            parts[k] = &data[i][done[i]..done[i] + blocks * 64];
        }
        compress(&mut h[..n], &parts[..n], blocks);
        for k in 0..n {
            let i = pick[k];
            streams[i].h = h[k];
            streams[i].absorbed += (blocks * 64) as u64;
            done[i] += blocks * 64;
        }
    }
}

/// `blocks` blocks of each of `parts` (1 to LANES of them, each exactly that long) into
/// the matching chaining values.
fn compress(h: &mut [[u32; 8]], parts: &[&[u8]], blocks: usize) {
    debug_assert!(parts.iter().all(|p| p.len() == blocks * 64));
    #[cfg(target_arch = "x86_64")]
    if interleaved() {
        // SAFETY: the CPU has SHA, SSSE3 and SSE4.1 (checked above), and every part holds
        // exactly `blocks` blocks (made so by `absorb`, checked in debug builds).
        unsafe {
            match h.len() {
                1 => x86::lanes::<1>(h, parts, blocks),
                2 => x86::lanes::<2>(h, parts, blocks),
                3 => x86::lanes::<3>(h, parts, blocks),
                n => unreachable!("{n} lanes"),
            }
        }
        return;
    }
    portable(h, parts);
}

/// Without the SHA extensions: one message after another through the `sha2` crate.
fn portable(h: &mut [[u32; 8]], parts: &[&[u8]]) {
    use sha2::digest::generic_array::GenericArray;
    for (state, part) in h.iter_mut().zip(parts) {
        let blocks: Vec<_> = part
            .chunks_exact(64)
            .map(|b| *GenericArray::from_slice(b))
            .collect();
        sha2::compress256(state, &blocks);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::K;
    use std::arch::x86_64::*;

    /// Entry points compiled with the SHA extensions for each lane count.
    ///
    /// # Safety
    /// The CPU must have SHA, SSSE3 and SSE4.1; `h.len() == parts.len() == N`, and every
    /// part must hold at least `blocks * 64` bytes.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub unsafe fn lanes<const N: usize>(h: &mut [[u32; 8]], parts: &[&[u8]], blocks: usize) {
        let mut state = [[0u32; 8]; N];
        state.copy_from_slice(h);
        let mut ptrs = [std::ptr::null::<u8>(); N];
        for (p, part) in ptrs.iter_mut().zip(parts) {
            *p = part.as_ptr();
        }
        kernel::<N>(&mut state, ptrs, blocks);
        h.copy_from_slice(&state);
    }

    /// The chaining value a..h as the two registers `sha256rnds2` works on: (a, b, e, f)
    /// and (c, d, g, h), first word in the high lane.
    #[inline(always)]
    unsafe fn to_regs(s: &[u32; 8]) -> (__m128i, __m128i) {
        let dcba = _mm_loadu_si128(s.as_ptr().cast());
        let hgfe = _mm_loadu_si128(s.as_ptr().add(4).cast());
        let cdab = _mm_shuffle_epi32(dcba, 0b10_11_00_01);
        let efgh = _mm_shuffle_epi32(hgfe, 0b00_01_10_11);
        (
            _mm_alignr_epi8(cdab, efgh, 8),
            _mm_blend_epi16(efgh, cdab, 0xF0),
        )
    }

    #[inline(always)]
    unsafe fn from_regs(abef: __m128i, cdgh: __m128i, s: &mut [u32; 8]) {
        let feba = _mm_shuffle_epi32(abef, 0b00_01_10_11);
        let dchg = _mm_shuffle_epi32(cdgh, 0b10_11_00_01);
        _mm_storeu_si128(s.as_mut_ptr().cast(), _mm_blend_epi16(feba, dchg, 0xF0));
        _mm_storeu_si128(s.as_mut_ptr().add(4).cast(), _mm_alignr_epi8(dchg, feba, 8));
    }

    /// The compression function on N messages, round by round side by side. The loops
    /// over lanes have constant bounds and are unrolled, so the N independent chains of
    /// `sha256rnds2` interleave in the instruction stream.
    #[inline(always)]
    unsafe fn kernel<const N: usize>(
        state: &mut [[u32; 8]; N],
        data: [*const u8; N],
        blocks: usize,
    ) {
        // Big-endian words within each 16-byte quarter of a block.
        let swap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
        let mut abef = [_mm_setzero_si128(); N];
        let mut cdgh = [_mm_setzero_si128(); N];
        for l in 0..N {
            (abef[l], cdgh[l]) = to_regs(&state[l]);
        }
        let k: *const __m128i = K.as_ptr().cast();
        for b in 0..blocks {
            let (abef0, cdgh0) = (abef, cdgh);
            // w[q][l]: message words 4q..4q+3 of lane l, later the schedule's newest four.
            let mut w = [[_mm_setzero_si128(); N]; 4];
            for (q, wq) in w.iter_mut().enumerate() {
                for l in 0..N {
                    let p = data[l].add(b * 64 + q * 16);
                    wq[l] = _mm_shuffle_epi8(_mm_loadu_si128(p.cast()), swap);
                }
            }
            // Four rounds on the words in w[$q], with constants 4$g..4$g+3.
            macro_rules! four_rounds {
                ($q:expr, $g:expr) => {{
                    let kg = _mm_loadu_si128(k.add($g));
                    for l in 0..N {
                        let t = _mm_add_epi32(w[$q][l], kg);
                        cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], t);
                        let t_hi = _mm_shuffle_epi32(t, 0b00_00_11_10);
                        abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], t_hi);
                    }
                }};
            }
            // The next four schedule words, from the sixteen before them, into w[$a].
            macro_rules! schedule {
                ($a:expr, $b:expr, $c:expr, $d:expr) => {{
                    for l in 0..N {
                        let s0 = _mm_sha256msg1_epu32(w[$a][l], w[$b][l]);
                        let w7 = _mm_alignr_epi8(w[$d][l], w[$c][l], 4);
                        w[$a][l] = _mm_sha256msg2_epu32(_mm_add_epi32(s0, w7), w[$d][l]);
                    }
                }};
            }
            four_rounds!(0, 0);
            four_rounds!(1, 1);
            four_rounds!(2, 2);
            four_rounds!(3, 3);
            for g in (4..16).step_by(4) {
                schedule!(0, 1, 2, 3);
                four_rounds!(0, g);
                schedule!(1, 2, 3, 0);
                four_rounds!(1, g + 1);
                schedule!(2, 3, 0, 1);
                four_rounds!(2, g + 2);
                schedule!(3, 0, 1, 2);
                four_rounds!(3, g + 3);
            }
            for l in 0..N {
                abef[l] = _mm_add_epi32(abef[l], abef0[l]);
                cdgh[l] = _mm_add_epi32(cdgh[l], cdgh0[l]);
            }
        }
        for l in 0..N {
            from_regs(abef[l], cdgh[l], &mut state[l]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest as _, Sha256};

    fn message(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// The digest through `absorb` + `finish`, the whole blocks first.
    fn ours(data: &[u8]) -> [u8; 32] {
        let whole = data.len() / 64 * 64;
        let mut s = Stream::default();
        absorb(&mut [&mut s], &[&data[..whole]]);
        s.finish(&data[whole..])
    }

    #[test]
    fn published_vectors() {
        // FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the empty message.
        assert_eq!(
            hex::encode(ours(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex::encode(ours(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(ours(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            hex::encode(ours(&vec![b'a'; 1_000_000])),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn every_tail_length_matches_sha2() {
        // Lengths around the padding edges: 55/56 bytes of tail need one or two blocks.
        for len in 0..=300 {
            let m = message(len, len as u64);
            assert_eq!(ours(&m), <[u8; 32]>::from(Sha256::digest(&m)), "len {len}");
        }
    }

    #[test]
    fn streams_of_different_lengths_together() {
        // More streams than lanes, of unequal lengths, so every lane count from LANES
        // down to 1 runs, with streams joining and leaving at different blocks.
        let lens = [0usize, 64, 640, 6400, 64 * 1000, 64 * 1001, 128, 64 * 257];
        let msgs: Vec<Vec<u8>> = lens
            .iter()
            .enumerate()
            .map(|(i, &n)| message(n + 13, i as u64 + 7))
            .collect();
        let mut streams = vec![Stream::default(); msgs.len()];
        let whole: Vec<&[u8]> = msgs.iter().map(|m| &m[..m.len() / 64 * 64]).collect();
        {
            let mut refs: Vec<&mut Stream> = streams.iter_mut().collect();
            absorb(&mut refs, &whole);
        }
        for (i, (s, m)) in streams.into_iter().zip(&msgs).enumerate() {
            let whole = m.len() / 64 * 64;
            assert_eq!(
                s.finish(&m[whole..]),
                <[u8; 32]>::from(Sha256::digest(m)),
                "stream {i}"
            );
        }
    }

    #[test]
    fn absorbing_in_pieces_equals_absorbing_at_once() {
        let m = message(64 * 300 + 5, 3);
        let mut s = Stream::default();
        for piece in m[..64 * 300].chunks(64 * 7) {
            absorb(&mut [&mut s], &[piece]);
        }
        assert_eq!(
            s.finish(&m[64 * 300..]),
            <[u8; 32]>::from(Sha256::digest(&m))
        );
    }

    #[test]
    fn every_kernel_width_matches_the_portable_path() {
        if !interleaved() {
            eprintln!("no SHA extensions on this CPU: only the portable path runs");
            return;
        }
        for n in 1..=LANES {
            let msgs: Vec<Vec<u8>> = (0..n).map(|i| message(64 * 50, 40 + i as u64)).collect();
            let parts: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
            let mut fast = vec![IV; n];
            compress(&mut fast, &parts, 50);
            let mut slow = vec![IV; n];
            portable(&mut slow, &parts);
            assert_eq!(fast, slow, "{n} lanes");
        }
    }

    #[test]
    #[should_panic(expected = "whole blocks only")]
    fn a_partial_block_is_refused() {
        absorb(&mut [&mut Stream::default()], &[&[0u8; 65]]);
    }
}
