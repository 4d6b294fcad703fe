//! Simulators of the systems around the hub, for the demo and for adapter authors: so far the
//! national portal's receiving end.

pub mod population;
pub mod portal;
