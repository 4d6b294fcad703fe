//! Simulators of the systems around the hub, for the demo, for tests and for adapter authors:
//! the population register, a province's one-stop system and the national portal's receiving
//! end.

pub mod motcua;
pub mod population;
pub mod portal;
pub mod stories;

/// One step of SplitMix64: the simulators' small deterministic generator.
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
