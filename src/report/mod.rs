//! The report's formats, one file each, every one returning the file's
//! bytes as a `String` (the caller writes them, so the tests need no files):
//!
//! - [`text`] the terminal tables (`analyze`'s, and the launcher's
//!   end-of-run table) and the figure formats the page shares;
//! - [`columns`] the summary's columns, defined once for CSV and JSON;
//! - [`csv`] `summary.csv`;
//! - [`json`] `summary.json` (serde_json), with the happens-before figures;
//! - [`html`] `report.html`, every plot inlined, its CSS in `report.css`;
//! - [`explorer`] `explorer.html`, the causal explorer (`explorer.js`,
//!   `explorer.css`), linked from `report.html`;
//! - [`markdown`] an experiment's `summary.md`;
//! - [`markup`] what HTML and the SVG charts share (`escape_xml`).
//!
//! It reads the figures of [`crate::analyze`] and never the other way round,
//! except [`markup`], which the charts use and which imports nothing.

pub mod columns;
pub mod csv;
pub mod explorer;
pub mod html;
pub mod json;
pub mod markdown;
pub mod markup;
pub mod text;

#[cfg(test)]
mod fixtures;
