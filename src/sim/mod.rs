//! Simulators of the systems around the hub, for the demo, for tests and for adapter authors:
//! the population register, a province's one-stop system and the national portal's receiving
//! end.

pub mod motcua;
pub mod population;
pub mod portal;
