//! The tree against the RFC 6962 definitions computed directly over the leaves, and against
//! the test vectors published with RFC 6962 implementations.

use super::*;
use proptest::prelude::*;

/// Leaf inputs and expected values from transparency-dev/merkle `testonly/constants.go` and
/// `testonly/reference_test.go` (the same data as google/certificate-transparency
/// `cpp/merkletree/merkle_tree_test.cc`); Apache-2.0.
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

const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// (index, size, proof), 0-based index.
const INCLUSION: &[(u64, u64, &[&str])] = &[
    (0, 1, &[]),
    (
        0,
        2,
        &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
    ),
    (
        1,
        2,
        &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// (from, to, proof); 6→7 from transparency-dev/merkle `proof/verify_test.go`.
const CONSISTENCY: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn vector_tree(n: usize) -> MemoryTree {
    let mut t = MemoryTree::default();
    for l in &LEAVES[..n] {
        t.push(&hex::decode(l).unwrap());
    }
    t
}

#[test]
fn roots_match_the_published_vectors() {
    assert_eq!(hex::encode(empty_root()), EMPTY);
    assert_eq!(MemoryTree::default().root(), h(EMPTY));
    for n in 1..=8 {
        let t = vector_tree(n);
        assert_eq!(hex::encode(t.root()), ROOTS[n - 1], "size {n}");
        assert_eq!(root(&t, n as u64).unwrap(), t.root(), "size {n} from nodes");
        // Every smaller size from the nodes of the full tree.
        let full = vector_tree(8);
        assert_eq!(hex::encode(root(&full, n as u64).unwrap()), ROOTS[n - 1]);
    }
}

#[test]
fn inclusion_proofs_match_the_published_vectors() {
    let t = vector_tree(8);
    for (index, size, proof) in INCLUSION {
        let want: Vec<Hash> = proof.iter().map(|p| h(p)).collect();
        assert_eq!(
            inclusion_proof(&t, *index, *size).unwrap(),
            want,
            "{index}/{size}"
        );
        let leaf = leaf_hash(&hex::decode(LEAVES[*index as usize]).unwrap());
        let r = h(ROOTS[*size as usize - 1]);
        verify_inclusion(*index, *size, &leaf, &want, &r).unwrap();
    }
}

#[test]
fn consistency_proofs_match_the_published_vectors() {
    let t = vector_tree(8);
    for (from, to, proof) in CONSISTENCY {
        let want: Vec<Hash> = proof.iter().map(|p| h(p)).collect();
        assert_eq!(
            consistency_proof(&t, *from, *to).unwrap(),
            want,
            "{from}->{to}"
        );
        let (a, b) = (h(ROOTS[*from as usize - 1]), h(ROOTS[*to as usize - 1]));
        verify_consistency(*from, *to, &a, &b, &want).unwrap();
    }
}

#[test]
fn bad_proofs_and_sizes_are_refused() {
    let r = h(ROOTS[0]);
    for (i, n) in [(0u64, 0u64), (1, 0), (2, 1)] {
        assert!(verify_inclusion(i, n, &r, &[], &r).is_err(), "{i}/{n}");
    }
    assert!(verify_consistency(2, 1, &r, &r, &[]).is_err());
    assert!(verify_consistency(1, 1, &r, &r, &[r]).is_err());
    assert!(verify_consistency(1, 2, &r, &r, &[]).is_err());
    assert_eq!(
        consistency_proof(&vector_tree(3), 0, 3),
        Err(MerkleError::BadSizes { from: 0, to: 3 })
    );
    assert_eq!(
        inclusion_proof(&vector_tree(3), 3, 3),
        Err(MerkleError::IndexOutOfRange { index: 3, size: 3 })
    );
}

/// RFC 6962 `MTH`, directly over leaf hashes.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// RFC 6962 `PATH`, directly.
fn path_ref(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let k = split(n as u64) as usize;
    if m < k {
        let mut p = path_ref(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path_ref(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// RFC 6962 `SUBPROOF`, directly.
fn subproof_ref(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if whole { vec![] } else { vec![mth(leaves)] };
    }
    let k = split(n as u64) as usize;
    if m <= k {
        let mut p = subproof_ref(m, &leaves[..k], whole);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof_ref(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn random_tree(n: usize) -> (MemoryTree, Vec<Hash>) {
    let mut t = MemoryTree::default();
    let mut leaves = Vec::new();
    for i in 0..n {
        let data = format!("entry {i}");
        leaves.push(leaf_hash(data.as_bytes()));
        t.push(data.as_bytes());
    }
    (t, leaves)
}

proptest! {
    #[test]
    fn proofs_agree_with_the_definitions(n in 1usize..300, a in 0usize..300, b in 0usize..300) {
        let (t, leaves) = random_tree(n);
        prop_assert_eq!(t.root(), mth(&leaves));
        let m = a % n;
        let size = m + 1 + b % (n - m);
        let p = inclusion_proof(&t, m as u64, size as u64).unwrap();
        prop_assert_eq!(&p, &path_ref(m, &leaves[..size]));
        let r = mth(&leaves[..size]);
        prop_assert!(verify_inclusion(m as u64, size as u64, &leaves[m], &p, &r).is_ok());
        // Any changed hash in the proof fails.
        if !p.is_empty() {
            let mut q = p.clone();
            q[b % p.len()][0] ^= 1;
            prop_assert!(verify_inclusion(m as u64, size as u64, &leaves[m], &q, &r).is_err());
        }
        let from = 1 + a % n;
        let to = from + b % (n - from + 1);
        let c = consistency_proof(&t, from as u64, to as u64).unwrap();
        prop_assert_eq!(&c, &subproof_ref(from, &leaves[..to], true));
        let (ra, rb) = (mth(&leaves[..from]), mth(&leaves[..to]));
        prop_assert!(verify_consistency(from as u64, to as u64, &ra, &rb, &c).is_ok());
        if from < to {
            let other = leaf_hash(b"not the same log");
            prop_assert!(verify_consistency(from as u64, to as u64, &other, &rb, &c).is_err());
        }
    }

    #[test]
    fn the_frontier_reloads_from_stored_nodes(n in 0usize..600) {
        let (t, _) = random_tree(n);
        let f = Frontier::load(&t, n as u64).unwrap();
        prop_assert_eq!(f.root(), t.root());
        prop_assert_eq!(f.size(), n as u64);
    }
}

#[test]
fn the_right_edge_of_any_size_is_named_without_overflow() {
    assert_eq!(Frontier::edge_of(0).count(), 0);
    assert_eq!(
        Frontier::edge_of(7).collect::<Vec<_>>(),
        [(2, 0), (1, 2), (0, 6)]
    );
    let edge: Vec<_> = Frontier::edge_of(u64::MAX).collect();
    assert_eq!(edge.len(), 64);
    assert_eq!(edge[0], (63, 0));
    assert_eq!(edge[63], (0, u64::MAX - 1));
}
