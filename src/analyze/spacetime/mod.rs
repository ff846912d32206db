//! The space-time diagram: [`model`] picks the events and messages of a time
//! window from the logs, [`svg`] draws them.

pub mod model;
pub mod svg;
