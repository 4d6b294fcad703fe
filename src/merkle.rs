//! The Merkle tree of RFC 6962 (section 2.1) and the proof checks of RFC 9162 (sections
//! 2.1.3.2 and 2.1.4.2).
//!
//! The tree is kept as its complete subtrees: node `(level, index)` is the hash of leaves
//! `[index·2^level, (index+1)·2^level)`. Appending a leaf writes that leaf and the complete
//! subtrees it closes (amortised two nodes); the root of any size and every proof are computed
//! from O(log n) stored nodes, so nothing is recomputed at start.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// Why a proof could not be produced or does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree sizes {from} and {to}: need 0 < from <= to")]
    BadSizes { from: u64, to: u64 },
    #[error("tree size {size} is beyond the log's size {have}")]
    BeyondLog { size: u64, have: u64 },
    #[error("node (level {level}, index {index}) is missing from the store")]
    MissingNode { level: u8, index: u64 },
    #[error("store: {0}")]
    Store(String),
    #[error("the proof does not match: {0}")]
    Mismatch(&'static str),
}

/// `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256()` of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The number of hashes stored for a tree (by a backend that keeps them in post-order) of `n` leaves: every leaf and every complete
/// subtree (`2n − popcount(n)`).
pub fn stored_hash_count(n: u64) -> u64 {
    2 * n - u64::from(n.count_ones())
}

/// Where node `(level, index)` is in the post-order layout: right after the last leaf under
/// it and the nodes that leaf completes below `level`.
pub fn stored_hash_index(level: u8, index: u64) -> u64 {
    let k = index + 1;
    (k << (u32::from(level) + 1)) - u64::from(k.count_ones()) - 1 - u64::from(k.trailing_zeros())
}

/// Where complete subtrees are read from.
pub trait Nodes {
    /// The hash of the complete subtree `(level, index)`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, MerkleError>;
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[start:end])` for a range that is a left-aligned piece of the RFC 6962 recursion.
pub fn range_hash<N: Nodes + ?Sized>(nodes: &N, start: u64, end: u64) -> Result<Hash, MerkleError> {
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return nodes.node(n.trailing_zeros() as u8, start / n);
    }
    let k = split(n);
    Ok(node_hash(
        &range_hash(nodes, start, start + k)?,
        &range_hash(nodes, start + k, end)?,
    ))
}

/// The root of the tree of the first `size` leaves.
pub fn root<N: Nodes + ?Sized>(nodes: &N, size: u64) -> Result<Hash, MerkleError> {
    range_hash(nodes, 0, size)
}

/// The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 `PATH`), leaf side
/// first.
pub fn inclusion_proof<N: Nodes + ?Sized>(
    nodes: &N,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(nodes, index, 0, size, &mut out)?;
    Ok(out)
}

fn path<N: Nodes + ?Sized>(
    nodes: &N,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), MerkleError> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(nodes, m, start, start + k, out)?;
        out.push(range_hash(nodes, start + k, end)?);
    } else {
        path(nodes, m - k, start + k, end, out)?;
        out.push(range_hash(nodes, start, start + k)?);
    }
    Ok(())
}

/// The proof that the tree of `to` leaves extends the tree of `from` leaves (RFC 6962
/// `PROOF`).
pub fn consistency_proof<N: Nodes + ?Sized>(
    nodes: &N,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, MerkleError> {
    if from == 0 || from > to {
        return Err(MerkleError::BadSizes { from, to });
    }
    let mut out = Vec::new();
    subproof(nodes, from, 0, to, true, &mut out)?;
    Ok(out)
}

fn subproof<N: Nodes + ?Sized>(
    nodes: &N,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), MerkleError> {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(range_hash(nodes, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(nodes, m, start, start + k, whole, out)?;
        out.push(range_hash(nodes, start + k, end)?);
    } else {
        subproof(nodes, m - k, start + k, end, false, out)?;
        out.push(range_hash(nodes, start, start + k)?);
    }
    Ok(())
}

/// Checks an inclusion proof (RFC 9162, 2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    if root_from_inclusion(index, size, leaf, proof)? == *root {
        Ok(())
    } else {
        Err(MerkleError::Mismatch(
            "the leaf and its proof lead to another root",
        ))
    }
}

/// The root an inclusion proof leads to (RFC 9162, 2.1.3.2 without the final comparison).
pub fn root_from_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(MerkleError::Mismatch("the proof is too long"));
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
    if snode != 0 {
        return Err(MerkleError::Mismatch("the proof is too short"));
    }
    Ok(r)
}

/// Checks a consistency proof between two tree heads (RFC 9162, 2.1.4.2).
pub fn verify_consistency(
    from: u64,
    to: u64,
    from_root: &Hash,
    to_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if from == 0 || from > to {
        return Err(MerkleError::BadSizes { from, to });
    }
    if from == to {
        return if proof.is_empty() && from_root == to_root {
            Ok(())
        } else {
            Err(MerkleError::Mismatch(
                "equal sizes need an empty proof and equal roots",
            ))
        };
    }
    if proof.is_empty() {
        return Err(MerkleError::Mismatch("the proof is empty"));
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if from.is_power_of_two() {
        path.push(*from_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (from - 1, to - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(MerkleError::Mismatch("the proof is too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(MerkleError::Mismatch("the proof is too short"));
    }
    if fr != *from_root {
        return Err(MerkleError::Mismatch(
            "the proof does not lead to the older root",
        ));
    }
    if sr != *to_root {
        return Err(MerkleError::Mismatch(
            "the proof does not lead to the newer root",
        ));
    }
    Ok(())
}

/// The right edge of a tree: its complete subtrees in the binary decomposition of its size,
/// largest first. Enough to append and to compute the root without reading anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// `(level, hash)`, levels strictly decreasing.
    edge: Vec<(u8, Hash)>,
}

impl Frontier {
    /// The frontier of the tree of `size` leaves, read from stored nodes.
    pub fn load<N: Nodes + ?Sized>(nodes: &N, size: u64) -> Result<Frontier, MerkleError> {
        let edge = Frontier::edge_of(size)
            .map(|(level, index)| Ok((level, nodes.node(level, index)?)))
            .collect::<Result<_, MerkleError>>()?;
        Ok(Frontier { size, edge })
    }

    /// The subtrees `(level, index)` on the right edge of the tree of `size` leaves, largest
    /// first: the nodes `load` reads.
    pub fn edge_of(size: u64) -> impl Iterator<Item = (u8, u64)> {
        (0..64u8)
            .rev()
            .filter(move |l| size & (1u64 << l) != 0)
            .map(move |level| {
                // The leaves before this subtree: the larger ones of the edge.
                let above = u32::from(level) + 1;
                let start = size.checked_shr(above).map_or(0, |h| h << above);
                (level, start >> level)
            })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; calls `stored` with every node that appending completes (the leaf
    /// itself first).
    pub fn push(&mut self, leaf: Hash, mut stored: impl FnMut(u8, u64, &Hash)) {
        let mut index = self.size;
        stored(0, index, &leaf);
        self.edge.push((0, leaf));
        while self.edge.len() >= 2 {
            let (lr, right) = self.edge[self.edge.len() - 1];
            let (ll, left) = self.edge[self.edge.len() - 2];
            if lr != ll {
                break;
            }
            self.edge.truncate(self.edge.len() - 2);
            let parent = node_hash(&left, &right);
            index >>= 1;
            stored(ll + 1, index, &parent);
            self.edge.push((ll + 1, parent));
        }
        self.size += 1;
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        let mut it = self.edge.iter().rev();
        let Some((_, last)) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |acc, (_, left)| node_hash(left, &acc))
    }
}

/// Nodes kept in memory (tests, and the offline verifier).
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    /// Appends a leaf's data.
    pub fn push(&mut self, data: &[u8]) {
        self.push_hash(leaf_hash(data));
    }

    /// Appends a leaf hash.
    pub fn push_hash(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.frontier.push(leaf, |level, index, h| {
            let l = level as usize;
            if levels.len() <= l {
                levels.resize(l + 1, Vec::new());
            }
            debug_assert_eq!(levels[l].len() as u64, index);
            levels[l].push(*h);
        });
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }
}

impl Nodes for MemoryTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(index as usize))
            .copied()
            .ok_or(MerkleError::MissingNode { level, index })
    }
}

#[cfg(test)]
mod tests;
