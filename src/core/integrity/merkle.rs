//! RFC 6962 Merkle tree hashing, with the proof verifiers of RFC 9162 §2.1.
//!
//! Leaf hash `SHA-256(0x00 || data)`, node hash `SHA-256(0x01 || left || right)`, the
//! empty tree hashes to `SHA-256("")`, and a tree of `n > 1` leaves splits at the largest
//! power of two below `n`. These are what make a log checkable by anyone else's code, so
//! the published vectors are tests.

use rayon::prelude::*;
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1usize << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Subtrees at or above this many leaves hash their halves in parallel.
const PARALLEL_LEAVES: usize = 1 << 14;

/// The Merkle tree hash of the given leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            let (l, r) = if n >= PARALLEL_LEAVES {
                rayon::join(|| root(&leaves[..k]), || root(&leaves[k..]))
            } else {
                (root(&leaves[..k]), root(&leaves[k..]))
            };
            node_hash(&l, &r)
        }
    }
}

/// A tree being grown one leaf at a time, kept as its right edge: the roots of its
/// perfect subtrees, largest (leftmost) first, one per set bit of the size. `root` is the
/// RFC 6962 tree hash of every leaf pushed so far, in O(log n) and without the leaves.
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    /// (subtree root, height: the subtree holds 2^height leaves)
    edge: Vec<(Hash, u32)>,
}

impl Frontier {
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut height = 0;
        while let Some(&(left, h)) = self.edge.last() {
            if h != height {
                break;
            }
            self.edge.pop();
            node = node_hash(&left, &node);
            height += 1;
        }
        self.edge.push((node, height));
    }

    /// The tree hash: a tree of n leaves splits at the largest power of two below n, so its
    /// root joins the largest perfect subtree with the tree of the rest (a right fold).
    pub fn root(&self) -> Hash {
        match self.edge.split_last() {
            None => root(&[]),
            Some((&(last, _), rest)) => rest
                .iter()
                .rev()
                .fold(last, |acc, (left, _)| node_hash(left, &acc)),
        }
    }
}

/// Leaf hashes of many entries, in parallel.
pub fn leaf_hashes<T: AsRef<[u8]> + Sync>(entries: &[T]) -> Vec<Hash> {
    entries.par_iter().map(|e| leaf_hash(e.as_ref())).collect()
}

/// The audit path of leaf `index` (RFC 6962 §2.1.1), from the leaf up.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    collect_path(leaves, index, &mut path);
    Some(path)
}

fn collect_path(leaves: &[Hash], index: usize, out: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    if index < k {
        collect_path(&leaves[..k], index, out);
        out.push(root(&leaves[k..]));
    } else {
        collect_path(&leaves[k..], index - k, out);
        out.push(root(&leaves[..k]));
    }
}

/// The consistency proof from the first `old_size` leaves to all of them (RFC 6962 §2.1.2).
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Option<Vec<Hash>> {
    if old_size == 0 || old_size > leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    subproof(old_size, leaves, true, &mut out);
    Some(out)
}

fn subproof(m: usize, leaves: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            out.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], complete, out);
        out.push(root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, out);
        out.push(root(&leaves[..k]));
    }
}

/// RFC 9162 §2.1.3.2: does `proof` show leaf `leaf` at `index` in the tree of `size` with
/// root `root`?
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: is the tree of `new_size` with root `new_root` an extension of the
/// tree of `old_size` with root `old_root`?
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && fr == *old_root && sr == *new_root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        let v = hex::decode(s).unwrap();
        v.try_into().unwrap()
    }

    // RFC 6962 reference leaves and tree heads (the Certificate Transparency test data).
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn reference() -> Vec<Hash> {
        LEAVES
            .iter()
            .map(|l| leaf_hash(&hex::decode(l).unwrap()))
            .collect()
    }

    #[test]
    fn frontier_root_equals_the_tree_hash_at_every_size() {
        let leaves: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut f = Frontier::default();
        assert_eq!(f.root(), root(&[]));
        for (n, leaf) in leaves.iter().enumerate() {
            f.push(*leaf);
            assert_eq!(f.root(), root(&leaves[..=n]), "size {}", n + 1);
        }
    }

    #[test]
    fn roots_match_rfc6962_vectors() {
        let leaves = reference();
        for n in 0..=8 {
            assert_eq!(hex::encode(root(&leaves[..n])), ROOTS[n], "size {n}");
        }
    }

    #[test]
    fn published_inclusion_proofs() {
        let leaves = reference();
        let root8 = h(ROOTS[8]);
        let cases: [(usize, [&str; 3]); 2] = [
            (
                0,
                [
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                [
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (index, expected) in cases {
            let proof = inclusion_proof(&leaves, index).unwrap();
            let expected: Vec<Hash> = expected.iter().map(|s| h(s)).collect();
            assert_eq!(proof, expected);
            assert!(verify_inclusion(
                &leaves[index],
                index as u64,
                8,
                &proof,
                &root8
            ));
        }
    }

    #[test]
    fn published_consistency_proofs() {
        let leaves = reference();
        let cases: Vec<(usize, usize, Vec<&str>)> = vec![
            (
                2,
                8,
                vec![
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                vec![
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                vec![
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (m, n, expected) in cases {
            let proof = consistency_proof(&leaves[..n], m).unwrap();
            let expected: Vec<Hash> = expected.iter().map(|s| h(s)).collect();
            assert_eq!(proof, expected, "{m} -> {n}");
            assert!(verify_consistency(
                m as u64,
                n as u64,
                &h(ROOTS[m]),
                &h(ROOTS[n]),
                &proof
            ));
        }
    }

    #[test]
    fn every_proof_verifies_and_tampering_fails() {
        let leaves: Vec<Hash> = (0..40u32).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        for n in 1..=leaves.len() {
            let tree = &leaves[..n];
            let r = root(tree);
            for i in 0..n {
                let p = inclusion_proof(tree, i).unwrap();
                assert!(verify_inclusion(&tree[i], i as u64, n as u64, &p, &r));
                let other = (i + 1) % n;
                if other != i {
                    assert!(!verify_inclusion(&tree[other], i as u64, n as u64, &p, &r));
                    assert!(!verify_inclusion(&tree[i], other as u64, n as u64, &p, &r));
                }
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert_ne!(bad[0], *first);
                    assert!(!verify_inclusion(&tree[i], i as u64, n as u64, &bad, &r));
                }
            }
            for m in 1..=n {
                let p = consistency_proof(tree, m).unwrap();
                let old = root(&tree[..m]);
                assert!(
                    verify_consistency(m as u64, n as u64, &old, &r, &p),
                    "{m}->{n}"
                );
                if m < n {
                    let mut wrong_old = old;
                    wrong_old[31] ^= 1;
                    assert!(!verify_consistency(m as u64, n as u64, &wrong_old, &r, &p));
                    assert!(!verify_consistency(m as u64, n as u64, &old, &old, &p));
                }
            }
        }
    }

    #[test]
    fn out_of_range_requests_are_refused() {
        let leaves = reference();
        assert!(inclusion_proof(&leaves, 8).is_none());
        assert!(consistency_proof(&leaves, 0).is_none());
        assert!(consistency_proof(&leaves, 9).is_none());
        assert!(!verify_inclusion(&leaves[0], 3, 3, &[], &leaves[0]));
    }
}
