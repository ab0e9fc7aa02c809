//! pxelab's HTML report: one self-contained page (no network access, works from
//! `file://`) with the suite's summary, each scenario's failures and each drawn boot as
//! an SVG ladder. It draws what the results hold; it never runs anything.

#![forbid(unsafe_code)]

pub mod bench;
pub mod escape;
pub mod explain;
pub mod ladder_svg;
pub mod page;
pub mod summary;

pub use page::{explain_page, page, read_results, write, PageOptions};
